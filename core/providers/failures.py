"""Every provider failure becomes an error kind and a message that says what to do, from one table: `MESSAGES`
(core/providers/wording.py).

A classifier reads what went wrong into a `Failure`: `classify_exception` a litellm exception (chat, the deployment
probe), `classify_response` / `classify_transport` an HTTP answer that was no success or a request that got none
(the key test, model listings; core/providers/hub.py reads a Hub error with them). `explain` words it for the
`Call` it broke. The provider's own text is never shown: it can quote the key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

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
from core.providers.registry import SERVER_NAMESPACE, ProviderSpec
from core.providers.wording import MESSAGES, Wording

log = logging.getLogger(__name__)
Kind = ProviderErrorKind


@dataclass(frozen=True)
class Call:
    """What the failed call was, by the variants of `MESSAGES` it takes (a deployment is told by the spec)."""

    name: str
    tested: bool = False
    listing: bool = False
    partial: bool = False
    chat: bool = False
    hub: bool = False


CHAT: Final = Call("chat", chat=True)
PARTIAL_REPLY: Final = Call("chat", partial=True, chat=True)
KEY_TEST: Final = Call("key test", tested=True, listing=True)
LISTING: Final = Call("model listing", listing=True)
PROBE: Final = Call("deployment probe")


@dataclass(frozen=True)
class Failure:
    """What went wrong, as a classifier read it: the kind, the HTTP status if any, the wait the provider asked."""

    kind: Kind
    status: int | None = None
    retry_after: str | None = None


def _template(wording: Wording, spec: ProviderSpec, call: Call) -> str:
    variants = (
        (call.tested, wording.tested),
        (call.hub, wording.hub),
        (spec.deployments and not call.listing, wording.deployment),
        (call.listing, wording.listing),
        (spec.team_server, wording.team),
        (call.partial, wording.partial),
        (call.chat, wording.chat),
    )
    return next((text for applies, text in variants if applies and text), wording.text)


def explain(failure: Failure, spec: ProviderSpec, call: Call, model: str = "") -> ProviderError:
    """The user-safe error for a classified failure of `call`, worded from `MESSAGES`."""
    label = spec.label
    # Who can fix the address a provider is reached at: the user (an endpoint they saved), or the admin.
    admin = f"If the server reaches {label} through a gateway, ask your admin to check its address."
    if spec.team_server:
        admin = "Ask your admin to check its address in the models registry."
    message = _template(MESSAGES[failure.kind], spec, call).format(
        label=label,
        noun=spec.mask_field.label.split()[-1].lower() if spec.needs_credential else "key",
        model=model,
        status=f" (HTTP {failure.status})" if failure.status else "",
        wait=f"wait {failure.retry_after} s" if failure.retry_after else "wait a moment",
        where=f"Profile → Provider Keys → {label}",
        address="Check the endpoint URL." if any(f.is_endpoint for f in spec.fields) else admin,
    )
    log.info("%s failed: provider=%s kind=%s status=%s", call.name, spec.id, failure.kind.value, failure.status)
    return ProviderError(failure.kind, message)


# --- Classifiers -------------------------------------------------------------------------------------------------

_BAD_KEY_MARKERS = ("api key", "api_key_invalid", "incorrect api key", "invalid x-api-key")
_BY_STATUS = {
    401: Kind.REJECTED_KEY,
    402: Kind.NO_ACCESS,
    403: Kind.NO_ACCESS,
    404: Kind.NOT_FOUND,
    429: Kind.RATE_LIMITED,
}
# By class name, anywhere in an error's class tree: httpx, httpx2 (the Hub's client) and httpcore name their
# transport errors alike, and the builtins are what a socket raises.
_TRANSPORT: Final[Mapping[str, Kind]] = {
    "TimeoutException": Kind.TIMEOUT,
    "TimeoutError": Kind.TIMEOUT,
    "ConnectError": Kind.UNREACHABLE,
    "ConnectionRefusedError": Kind.UNREACHABLE,
    "gaierror": Kind.UNREACHABLE,
    "RemoteProtocolError": Kind.INTERRUPTED,
}


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it (litellm wraps connection failures in 500-status errors)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "original_exception", None) or current.__cause__ or current.__context__


def _transport_kind(error: BaseException) -> Kind | None:
    """TIMEOUT, UNREACHABLE or INTERRUPTED when the request got no (whole) answer, whatever the library called it."""
    names = (cls.__name__ for cause in _causes(error) for cls in type(cause).__mro__)
    return next((_TRANSPORT[name] for name in names if name in _TRANSPORT), None)


def _status_kind(status: int, text: str = "") -> Kind:
    """The kind an HTTP status says, for every path alike; some providers refuse a bad key with a 400."""
    if 300 <= status < 400:
        return Kind.REDIRECTED
    if status == 400 and any(marker in text.lower() for marker in _BAD_KEY_MARKERS):
        return Kind.REJECTED_KEY
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return Kind.BAD_REQUEST if 400 <= status < 500 else Kind.PROVIDER_DOWN


def _retry_after(headers: Any) -> str | None:
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    return value if value and str(value).replace(".", "", 1).isdigit() else None


def classify_response(response: Any) -> Failure:
    """An HTTP answer (httpx or httpx2 `Response`, its body read) that was not a success."""
    status = int(response.status_code)
    return Failure(_status_kind(status, response.text[:2000]), status, _retry_after(response.headers))


def classify_transport(error: BaseException) -> Failure:
    """A request that got no (whole) answer: it timed out, could not connect, or was cut off."""
    return Failure(_transport_kind(error) or Kind.UNREACHABLE)


def unwrap(error: Exception) -> Exception:
    """The provider's own error when litellm reports it as a mid-stream fallback (Gemini's 429/500)."""
    errors = litellm().exceptions
    if isinstance(error, errors.MidStreamFallbackError) and error.original_exception is not None:
        return error.original_exception
    return error


def retry_after(error: Exception) -> str | None:
    """The seconds a litellm exception's Retry-After header asks for, if it has one."""
    return _retry_after(getattr(error, "litellm_response_headers", None) or {})


def _redirect_status(error: BaseException) -> int | None:
    """The 3xx status when the provider answered with a redirect (never followed), whatever litellm made of it."""
    for cause in _causes(error):
        response = getattr(cause, "response", None)
        for status in (getattr(cause, "status_code", None), getattr(response, "status_code", None)):
            if isinstance(status, int) and 300 <= status < 400:
                return status
    return None


def classify_exception(error: Exception) -> Failure:
    """A litellm exception (each carries the provider's status), or what the transport said when there was none."""
    error = unwrap(error)
    errors = litellm().exceptions
    if redirect := _redirect_status(error):
        return Failure(Kind.REDIRECTED, redirect)
    transport = _transport_kind(error)
    if isinstance(error, errors.Timeout) or transport is Kind.TIMEOUT:
        return Failure(Kind.TIMEOUT)
    status = getattr(error, "status_code", None)
    status = status if isinstance(status, int) else None
    if status is not None and 400 <= status < 500:
        return Failure(_status_kind(status, str(getattr(error, "message", "") or "")), status, retry_after(error))
    if transport is not None or isinstance(error, errors.APIConnectionError):  # a 500 to litellm
        return Failure(transport or Kind.UNREACHABLE)
    return Failure(Kind.PROVIDER_DOWN, status if status and status >= 500 else None)


def is_transient(error: Exception) -> bool:
    """Rate limited (429) or a server error (5xx) the provider itself answered: worth another try."""
    failure = classify_exception(error)
    return failure.kind is Kind.RATE_LIMITED or (failure.kind is Kind.PROVIDER_DOWN and failure.status is not None)


def explain_error(
    error: Exception, spec: ProviderSpec, model: str, partial: bool = False, attempts: int = 1
) -> ProviderError:
    """A chat's failure (a litellm exception), worded for the user; `partial` when some of the reply arrived."""
    failure = Failure(Kind.INTERRUPTED) if partial else classify_exception(error)
    explained = explain(failure, spec, PARTIAL_REPLY if partial else CHAT, model)
    if attempts > 1:
        return ProviderError(explained.kind, f"{explained} (Tried {attempts} times.)")
    return explained


def no_first_token(spec: ProviderSpec, seconds: float) -> ProviderError:
    """A reply given up because the provider sent no text within the first-token timeout (APP_FIRST_TOKEN_TIMEOUT)."""
    log.info("chat failed: provider=%s kind=timeout (no first token in %.0f s)", spec.id, seconds)
    return ProviderError(
        Kind.TIMEOUT,
        f"{spec.label} sent nothing for {seconds:.0f} s, so the app stopped waiting. No text arrived, so this reply "
        "counts no tokens or cost. Send your message again, or pick another model.",
    )


# --- Failures before any provider was called, by the kind name a saved message records -----------------------
_LOCAL_ERROR_KINDS: tuple[tuple[type[AppError], str], ...] = (
    (MissingCredential, "missing_credential"),
    (CredentialUnreadable, "unreadable_credential"),
    (InvalidEndpoint, "invalid_endpoint"),
    (UnknownModel, "unknown_model"),
    (AccountInactive, "account_inactive"),
)
# Kinds whose fix is on the Profile page.
PROFILE_FIXES = frozenset({"missing_credential", "unreadable_credential", "invalid_endpoint", "rejected_key"})


def fixed_on_profile(kind: str | None, model_ref: str | None) -> bool:
    """Whether a saved reply's failure is the user's to fix in Profile: never for a team server's (its key and
    address are the admin's)."""
    return kind in PROFILE_FIXES and not (model_ref or "").lower().startswith(SERVER_NAMESPACE + "/")


def error_kind(error: AppError) -> str:
    """The kind name a saved message records for any error a chat can end with."""
    if isinstance(error, ProviderError):
        return error.kind.value
    return next((kind for cls, kind in _LOCAL_ERROR_KINDS if isinstance(error, cls)), "error")
