"""Hugging Face Hub: checks made with the user's own read token (access to a model, gated or not)."""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass

from core.errors import AppError, InvalidInput
from core.security.redaction import secrets_in_use

log = logging.getLogger(__name__)

HUGGINGFACE = "huggingface"
DEFAULT_ENDPOINT = "https://huggingface.co"
HUB_TIMEOUT_SECONDS = 15
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
GATED_MESSAGE = (
    "This model is gated on Hugging Face. Please request access and accept the license terms on the model page, "
    "then try again."
)
PROFILE_HINT = "Profile → Provider Keys → Hugging Face"


class HubError(AppError):
    """A Hub request failed; the message says what to do, `page_url` is the model's page where opening it helps."""

    def __init__(self, message: str, page_url: str | None = None) -> None:
        super().__init__(message)
        self.page_url = page_url


@dataclass(frozen=True)
class Access:
    """The token's account may download this model."""

    repo_id: str
    gated: bool
    page_url: str


def clean_repo_id(text: str | None) -> str:
    """`owner/name` only: no URL, no `..`, nothing that could address another path on the Hub."""
    repo_id = (text or "").strip()
    if not repo_id:
        raise InvalidInput("Type a model ID like meta-llama/Meta-Llama-3-8B-Instruct.", "repo_id")
    if ".." in repo_id or not REPO_ID.match(repo_id):
        raise InvalidInput(
            "A Hugging Face model ID looks like owner/name (e.g. meta-llama/Meta-Llama-3-8B-Instruct), not a URL.",
            "repo_id",
        )
    return repo_id


def _bounded_client():
    """huggingface_hub's shared client, with a timeout and without following redirects (its default has neither)."""
    import httpx2
    from huggingface_hub.utils._http import hf_request_event_hook

    return httpx2.Client(
        event_hooks={"request": [hf_request_event_hook]},
        follow_redirects=False,
        timeout=httpx2.Timeout(HUB_TIMEOUT_SECONDS),
    )


_client_lock = threading.Lock()
_client_configured = threading.Event()


def _api(token: str, endpoint: str | None):
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from huggingface_hub import HfApi, set_client_factory

    with _client_lock:  # once per process: setting a factory closes the shared client
        if not _client_configured.is_set():
            set_client_factory(_bounded_client)
            _client_configured.set()
    return HfApi(endpoint=endpoint or DEFAULT_ENDPOINT, token=token)


@dataclass(frozen=True)
class Account:
    """Who a token belongs to, and whether it may read (download) models."""

    name: str
    can_read: bool
    role: str


def whoami(token: str, endpoint: str | None = None) -> Account:
    """The token's account; HfHubHTTPError or OSError when the Hub refuses or cannot be reached."""
    with secrets_in_use([token]):
        info = _api(token, endpoint).whoami(token=token)
    access = (info.get("auth") or {}).get("accessToken") or {}
    role = str(access.get("role") or "unknown")
    scopes = (access.get("fineGrained") or {}).get("global") or []
    can_read = role in {"read", "write"} or (role == "fineGrained" and "read-repos" in scopes)
    return Account(name=str(info.get("name") or "?"), can_read=can_read, role=role)


def check_access(repo_id: str, token: str, endpoint: str | None = None) -> Access:
    """Whether the token's account may download the model; HubError with the guide's wording when not."""
    repo_id = clean_repo_id(repo_id)
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    api = _api(token, endpoint)
    page_url = f"{endpoint or DEFAULT_ENDPOINT}/{repo_id}"
    try:
        api.auth_check(repo_id, token=token)
        info = api.model_info(repo_id, token=token, timeout=HUB_TIMEOUT_SECONDS)
    except GatedRepoError:
        raise HubError(GATED_MESSAGE, page_url) from None  # access is requested on the model page
    except RepositoryNotFoundError:  # the page shows whether it exists for the signed-in browser (a private model)
        message = f"There is no model {repo_id} on Hugging Face that your token can see. Check the ID."
        raise HubError(message, page_url) from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        log.info("hub request failed: repo=%s status=%s", repo_id, status)
        if status == 401:
            raise HubError(f"Hugging Face rejected the saved token. Update it in {PROFILE_HINT}.") from None
        raise HubError("Hugging Face did not answer properly. Try again in a moment.") from None
    except OSError:
        raise HubError("Could not reach Hugging Face. Check the network and try again.") from None
    return Access(repo_id, gated=bool(info.gated), page_url=page_url)
