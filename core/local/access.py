"""Whether a signed-in user may download a Hugging Face model, asked with their own saved read token."""

from __future__ import annotations

from core.config import Settings
from core.credentials.store import CredentialStore
from core.providers.hub import HUGGINGFACE, Access, check_access, clean_repo_id
from core.security.redaction import secrets_in_use


def check_user_access(credentials: CredentialStore, settings: Settings, user_id: int, repo_id: str) -> Access:
    """`check_access` with the signed-in user's saved Hugging Face token."""
    repo_id = clean_repo_id(repo_id)
    token = credentials.secrets(user_id, HUGGINGFACE)["token"]
    with secrets_in_use([token]):
        return check_access(repo_id, token, settings.hf_endpoint)
