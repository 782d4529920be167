"""Whether a signed-in user may download a Hugging Face model, asked with their own saved read token."""

from __future__ import annotations

from core.config import Settings
from core.credentials.store import CredentialStore
from core.providers.hub import HUGGINGFACE, Access, check_access, clean_repo_id


def check_user_access(credentials: CredentialStore, settings: Settings, user_id: int, repo_id: str) -> Access:
    """`check_access` with the signed-in user's saved Hugging Face token; HubError when the token may not."""
    repo_id = clean_repo_id(repo_id)  # before the token is read: a malformed ID costs no decryption
    return check_access(repo_id, credentials.secrets(user_id, HUGGINGFACE)["token"], settings)
