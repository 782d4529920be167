"""Hugging Face Hub: checks made with the user's own read token (whose it is; access to a model, gated or not), and
what a download would bring (`list_files`, `dry_run`; the download itself runs in core/local/download_worker.py).

Every Hub failure is classified and worded by core.providers.failures, as any provider's is: `whoami` as a key
test, `check_access` as a Hub check. During a check the Hub client follows no redirect (it would carry the token)
and waits no longer than the server's request timeout allows.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import Settings
from core.errors import InvalidInput, ProviderError, ProviderErrorKind
from core.providers.failures import KEY_TEST, Call, Failure, classify_response, classify_transport, explain
from core.providers.registry import get_provider
from core.security.redaction import secrets_in_use

HUGGINGFACE = "huggingface"
DEFAULT_ENDPOINT = "https://huggingface.co"
HUB_TIMEOUT_SECONDS = 15.0
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
# Kinds whose fix is on the model's page (request access, or see whether it exists for the signed-in browser).
PAGE_HELPS = frozenset({ProviderErrorKind.GATED, ProviderErrorKind.NOT_FOUND})
HUB_CHECK = Call("hub check")
HUB_DOWNLOAD = Call("hub download", hub=True)  # a download, and the check and listing before it
# The Hub says which refusal it is in a header (huggingface_hub picks its exception classes from it).
HUB_ERROR_CODES = {"GatedRepo": ProviderErrorKind.GATED, "RepoNotFound": ProviderErrorKind.NOT_FOUND}


class HubError(ProviderError):
    """A Hub request failed; the message says what to do, `page_url` is the model's page where opening it helps."""

    def __init__(self, kind: ProviderErrorKind, message: str, page_url: str | None = None) -> None:
        super().__init__(kind, message)
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


def classify_hub_error(error: BaseException) -> Failure:
    """A Hub error: an HTTP error with its response (and the Hub's error code), or a transport failure."""
    response = getattr(error, "response", None)
    if response is None:
        return classify_transport(error)
    failure = classify_response(response)
    code = HUB_ERROR_CODES.get(str(response.headers.get("X-Error-Code") or ""))
    return Failure(code, failure.status, failure.retry_after) if code else failure


# The timeout of the check running in this context; None outside a check (a download follows Hub redirects).
_check_timeout: ContextVar[float | None] = ContextVar("hub_check_timeout", default=None)


def _bound_request(request: Any) -> None:
    if (timeout := _check_timeout.get()) is not None:
        request.extensions["timeout"] = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}


def _refuse_redirect(response: Any) -> None:
    """A check's redirect is an error (huggingface_hub would read the empty redirect as the answer)."""
    import httpx2

    if _check_timeout.get() is not None and response.is_redirect:
        response.read()
        raise httpx2.HTTPStatusError("redirect", request=response.request, response=response)


def _bounded_client():
    """huggingface_hub's shared client, with a timeout and without following redirects (its default has neither)."""
    import httpx2
    from huggingface_hub.utils._http import hf_request_event_hook

    return httpx2.Client(
        event_hooks={"request": [hf_request_event_hook, _bound_request], "response": [_refuse_redirect]},
        follow_redirects=False,
        timeout=httpx2.Timeout(HUB_TIMEOUT_SECONDS),
    )


_client_lock = threading.Lock()
_client_configured = threading.Event()


def _api(token: str | None, endpoint: str | None):
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from huggingface_hub import HfApi, set_client_factory

    with _client_lock:  # once per process: setting a factory closes the shared client
        if not _client_configured.is_set():
            set_client_factory(_bounded_client)
            _client_configured.set()
    # False, not None: without a token of the user's, the client must not fall back to one on the server's disk.
    return HfApi(endpoint=endpoint or DEFAULT_ENDPOINT, token=token or False)


def page_url(settings: Settings, repo_id: str) -> str:
    return f"{settings.hf_endpoint or DEFAULT_ENDPOINT}/{repo_id}"


@contextlib.contextmanager
def _checking(token: str | None, settings: Settings, call: Call, repo_id: str = "") -> Iterator[None]:
    """Bound the Hub calls inside, keep the token out of logs, and turn any failure into a worded HubError."""
    import httpx2

    bound = _check_timeout.set(min(settings.request_timeout, HUB_TIMEOUT_SECONDS))
    try:
        with secrets_in_use([token] if token else []):
            yield
    except (httpx2.HTTPError, OSError, ValueError) as error:  # HfHubHTTPError is both of the first two
        # A ValueError is an answer that is not the JSON the client expects.
        failure = (
            Failure(ProviderErrorKind.PROVIDER_DOWN) if isinstance(error, ValueError) else classify_hub_error(error)
        )
        explained = explain(failure, get_provider(HUGGINGFACE), call, repo_id)
        # Before a download every outcome links the model's page; a plain check only where the page helps.
        helps = repo_id and (call.hub or explained.kind in PAGE_HELPS)
        raise HubError(explained.kind, str(explained), page_url(settings, repo_id) if helps else None) from None
    finally:
        _check_timeout.reset(bound)


@dataclass(frozen=True)
class Account:
    """Who a token belongs to, and whether it may read (download) models."""

    name: str
    can_read: bool
    role: str


def whoami(token: str, settings: Settings) -> Account:
    """The token's account; HubError, worded as a key test's, when the Hub refuses or cannot be reached."""
    with _checking(token, settings, KEY_TEST):
        info = _api(token, settings.hf_endpoint).whoami(token=token)
    access = (info.get("auth") or {}).get("accessToken") or {}
    role = str(access.get("role") or "unknown")
    scopes = (access.get("fineGrained") or {}).get("global") or []
    can_read = role in {"read", "write"} or (role == "fineGrained" and "read-repos" in scopes)
    return Account(name=str(info.get("name") or "?"), can_read=can_read, role=role)


def check_access(repo_id: str, token: str, settings: Settings) -> Access:
    """Whether the token's account may download the model; HubError (the guide's wording when gated) when not."""
    repo_id = clean_repo_id(repo_id)
    with _checking(token, settings, HUB_CHECK, repo_id):
        api = _api(token, settings.hf_endpoint)
        api.auth_check(repo_id, token=token)
        info = api.model_info(repo_id, token=token)
    return Access(repo_id, gated=bool(info.gated), page_url=page_url(settings, repo_id))


RepoFile = tuple[str, int]  # (path in the repo, size in bytes)


@dataclass(frozen=True)
class PlannedFile:
    """One file a download would bring (the dry run's answer)."""

    name: str
    size: int
    will_download: bool  # False when the same file is already in the folder


def list_files(repo_id: str, token: str | None, settings: Settings) -> tuple[Access, tuple[RepoFile, ...]]:
    """Whether the user may download the model (`auth_check` first: the one request that tests access) and the
    repo's files with their sizes; HubError, worded for a download (no token saved, gated, 401, not found)."""
    repo_id = clean_repo_id(repo_id)
    with _checking(token, settings, HUB_DOWNLOAD, repo_id):
        api = _api(token, settings.hf_endpoint)
        api.auth_check(repo_id, token=token or False)
        info = api.model_info(repo_id, files_metadata=True, token=token or False)
    files = tuple((sibling.rfilename, int(sibling.size or 0)) for sibling in info.siblings or ())
    return Access(repo_id, gated=bool(info.gated), page_url=page_url(settings, repo_id)), files


def dry_run(
    repo_id: str, token: str | None, settings: Settings, names: tuple[str, ...], folder: Path
) -> tuple[PlannedFile, ...]:
    """Exactly what `snapshot_download` would bring into `folder` for these file names, with sizes."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import DryRunError
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # a server's log is no terminal

    with _checking(token, settings, HUB_DOWNLOAD, clean_repo_id(repo_id)):
        _api(token, settings.hf_endpoint)  # the bounded client, set once per process
        try:
            answers = snapshot_download(
                repo_id,
                dry_run=True,
                allow_patterns=list(names),
                local_dir=folder,
                cache_dir=folder.parent.parent / ".cache",  # the Hub's refs stay in the models folder too
                token=token or False,
                endpoint=settings.hf_endpoint or DEFAULT_ENDPOINT,
            )
        except DryRunError as error:  # the repo could not be read: classify what the Hub said
            raise (error.__cause__ or error) from None
    return tuple(PlannedFile(a.filename, int(a.file_size or 0), a.will_download) for a in answers)
