"""Every provider failure (an exception from litellm, an HTTP status, a Hub error) becomes an error kind and a
message that says what to do; the provider's own text is never shown (it can quote the key)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

from core.errors import (
    AccountInactive,
    AppError,
    CredentialUnreadable,
    InvalidEndpoint,
    MissingCredential,
    ProviderError,
    ProviderErrorKind,
    UnknownModel,
)
from core.providers.client import litellm
from core.providers.registry import ProviderSpec

log = logging.getLogger(__name__)

# Failures that happen before a provider was called, by the kind name a saved message records.
_LOCAL_ERROR_KINDS: tuple[tuple[type[AppError], str], ...] = (
    (MissingCredential, "missing_credential"),
    (CredentialUnreadable, "unreadable_credential"),
    (InvalidEndpoint, "invalid_endpoint"),
    (UnknownModel, "unknown_model"),
    (AccountInactive, "account_inactive"),
)
# Kinds whose fix is on the Profile page.
PROFILE_FIXES = frozenset({"missing_credential", "unreadable_credential", "invalid_endpoint", "rejected_key"})


def error_kind(error: AppError) -> str:
    if isinstance(error, ProviderError):
        return error.kind.value
    return next((kind for cls, kind in _LOCAL_ERROR_KINDS if isinstance(error, cls)), "error")


def unwrap(error: Exception) -> Exception:
    """The provider's own error when litellm reports it as a mid-stream fallback (Gemini's 429/500)."""
    errors = litellm().exceptions
    if isinstance(error, errors.MidStreamFallbackError) and error.original_exception is not None:
        return error.original_exception
    return error


def retry_after(error: Exception) -> str | None:
    headers = getattr(error, "litellm_response_headers", None) or {}
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    return value if value and str(value).replace(".", "", 1).isdigit() else None


def _mentions_bad_key(error: Exception) -> bool:
    text = str(getattr(error, "message", "") or "").lower()
    return any(marker in text for marker in ("api key", "api_key_invalid", "incorrect api key", "invalid x-api-key"))


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it (litellm wraps connection failures in 500-status errors)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "original_exception", None) or current.__cause__ or current.__context__


def _network_failure(error: BaseException) -> ProviderErrorKind | None:
    """TIMEOUT or UNREACHABLE when the request never got an answer, whatever litellm called it."""
    import httpx

    for cause in _causes(error):
        if isinstance(cause, httpx.TimeoutException | TimeoutError):
            return ProviderErrorKind.TIMEOUT
        if isinstance(cause, httpx.ConnectError | ConnectionRefusedError | socket.gaierror):
            return ProviderErrorKind.UNREACHABLE
    return None


def is_transient(error: Exception) -> bool:
    """Rate limited (429) or a server error (5xx) the provider itself answered: worth another try."""
    error = unwrap(error)
    if _network_failure(error) is not None:
        return False
    errors = litellm().exceptions
    status = getattr(error, "status_code", None)
    if isinstance(error, errors.RateLimitError) or status == 429:
        return True
    return isinstance(status, int) and status >= 500 and not isinstance(error, errors.APIConnectionError)


def _redirect_status(error: BaseException) -> int | None:
    """The 3xx status when the provider answered with a redirect (never followed), whatever litellm made of it."""
    for cause in _causes(error):
        response = getattr(cause, "response", None)
        for status in (getattr(cause, "status_code", None), getattr(response, "status_code", None)):
            if isinstance(status, int) and 300 <= status < 400:
                return status
    return None


def explain_error(
    error: Exception, spec: ProviderSpec, model: str, partial: bool = False, attempts: int = 1
) -> ProviderError:
    """Map any provider exception to a user-safe category and advice; the raw text is never shown."""
    errors = litellm().exceptions
    label = spec.label
    if partial:
        log.info("provider stream broke off: provider=%s model=%s", spec.id, model)
        return ProviderError(
            ProviderErrorKind.INTERRUPTED,
            f"The reply from {label} was cut off. What arrived is kept; regenerate or send your message again.",
        )
    error = unwrap(error)
    where = f"Profile → Provider Keys → {label}"
    status = getattr(error, "status_code", None)
    kind, message = ProviderErrorKind.PROVIDER_DOWN, f"{label} had a problem answering. Try again in a moment."
    network = _network_failure(error)
    if redirect := _redirect_status(error):
        message = (
            f"{label} answered with a redirect (HTTP {redirect}), which the app does not follow. "
            "If the server reaches the provider through a gateway, ask your admin to check its address."
        )
    elif isinstance(error, errors.Timeout) or network is ProviderErrorKind.TIMEOUT:
        kind, message = ProviderErrorKind.TIMEOUT, f"{label} did not answer in time. Try again, or pick another model."
    elif isinstance(error, errors.AuthenticationError) or status == 401 or (status == 400 and _mentions_bad_key(error)):
        kind, message = ProviderErrorKind.REJECTED_KEY, f"{label} rejected the saved key. Update it in {where}."
    elif isinstance(error, errors.PermissionDeniedError) or status in {402, 403}:
        kind = ProviderErrorKind.NO_ACCESS
        message = f"Your {label} key has no access to {model} (or no credit). Check the key's permissions and billing."
    elif isinstance(error, errors.NotFoundError) or status == 404:
        kind = ProviderErrorKind.NOT_FOUND
        message = (
            f"There is no deployment named {model} at your Azure endpoint. "
            "Check the deployment name in the Azure portal."
            if spec.deployments
            else f"{label} does not offer the model {model} to your key. Pick another model."
        )
    elif isinstance(error, errors.RateLimitError) or status == 429:
        kind = ProviderErrorKind.RATE_LIMITED
        wait = retry_after(error)
        message = f"{label} is rate limiting your key" + (f"; wait {wait} s" if wait else "; wait a moment")
        message += " and try again. If it persists, check your plan's quota."
    elif network is ProviderErrorKind.UNREACHABLE or isinstance(error, errors.APIConnectionError):
        kind = ProviderErrorKind.UNREACHABLE
        message = f"Could not reach {label}. Check the server's network connection, then try again."
    elif isinstance(error, errors.BadRequestError) or status == 400:
        kind = ProviderErrorKind.BAD_REQUEST
        message = (
            f"{label} refused the request for {model}. Check the model ID and this chat's max output tokens, "
            "or shorten the conversation."
        )
    if attempts > 1:
        message += f" (Tried {attempts} times.)"
    log.info("provider call failed: provider=%s model=%s kind=%s", spec.id, model, kind.value)
    return ProviderError(kind, message)
