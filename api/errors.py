"""Every refusal in OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`, with the status the
official client maps to its exception classes; the message is the app's own (core words it), never a provider's.

`REFUSALS` is the one table from an error's kind (core.providers.failures.error_kind, or the API's own) to its
status. A provider failure the client should not repeat carries `x-should-retry: false`, which the openai client
obeys, so a rejected key is not tried three times.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import AppError, InvalidToken, TokenRateLimited
from core.local.errors import LocalModelError
from core.providers.failures import error_kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """How one kind of error is answered: status, OpenAI's `type`, our `code`, the request field it is about."""

    status: int
    type: str
    code: str
    param: str | None = None
    retry: bool = False  # worth the client's own retry (a transient provider failure, a rate limit)


INVALID = "invalid_request_error"
PERMISSION = "permission_error"
PROVIDER = "provider_error"

REFUSALS: Final[Mapping[str, Refusal]] = {
    # The API's own refusals.
    "invalid_token": Refusal(401, INVALID, "invalid_api_key"),
    "token_rate_limited": Refusal(429, "rate_limit_error", "rate_limit_exceeded", retry=True),
    "invalid_input": Refusal(400, INVALID, "invalid_value"),
    "local_model": Refusal(403, PERMISSION, "model_not_available", "model"),
    "unknown_url": Refusal(404, INVALID, "unknown_url"),
    "method_not_allowed": Refusal(405, INVALID, "method_not_allowed"),
    # Before any provider was called (core.providers.failures names these).
    "unknown_model": Refusal(404, INVALID, "model_not_found", "model"),
    "missing_credential": Refusal(403, PERMISSION, "missing_credential", "model"),
    "unreadable_credential": Refusal(403, PERMISSION, "unreadable_credential", "model"),
    "invalid_endpoint": Refusal(403, PERMISSION, "invalid_endpoint", "model"),
    "account_inactive": Refusal(403, PERMISSION, "account_disabled"),
    # What the provider answered, by core's ProviderErrorKind.
    "not_found": Refusal(404, INVALID, "model_not_found", "model"),
    "no_access": Refusal(403, PERMISSION, "no_access", "model"),
    "gated": Refusal(403, PERMISSION, "gated", "model"),
    "rate_limited": Refusal(429, "rate_limit_error", "provider_rate_limited", retry=True),
    "bad_request": Refusal(400, INVALID, "provider_refused_request"),
    "rejected_key": Refusal(502, PROVIDER, "rejected_key"),
    "redirected": Refusal(502, PROVIDER, "redirected"),
    "provider_down": Refusal(502, PROVIDER, "provider_down", retry=True),
    "timeout": Refusal(502, PROVIDER, "timeout", retry=True),
    "unreachable": Refusal(502, PROVIDER, "unreachable", retry=True),
    "interrupted": Refusal(502, PROVIDER, "interrupted", retry=True),
}
INTERNAL = Refusal(500, "server_error", "internal_error", retry=True)
INTERNAL_MESSAGE = "The server had an error while processing your request. Try again; if it persists, tell your admin."


class ApiError(Exception):
    """A refusal the API makes itself (a body it cannot read); `str()` is the message shown."""

    def __init__(self, kind: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.param = param


def kind_of(error: Exception) -> str:
    """The key of `REFUSALS` for an error; "internal" for one the app did not expect."""
    if isinstance(error, ApiError):
        return error.kind
    if isinstance(error, InvalidToken):
        return "invalid_token"
    if isinstance(error, TokenRateLimited):
        return "token_rate_limited"
    if isinstance(error, AppError):
        kind = error_kind(error)
        if kind in REFUSALS:
            return kind
        # The rest of the app's own refusals say what to change in the request (InvalidInput names its field).
        return "local_model" if isinstance(error, LocalModelError) else "invalid_input"
    return "internal"


def error_body(error: Exception) -> dict[str, Any]:
    """`{"error": {...}}` for any error, as a response or a stream's last event carries it."""
    refusal = REFUSALS.get(kind_of(error), INTERNAL)
    param = getattr(error, "param", None) or getattr(error, "field", None) or refusal.param
    message = str(error) if refusal is not INTERNAL else INTERNAL_MESSAGE
    return {"error": {"message": message, "type": refusal.type, "param": param, "code": refusal.code}}


def error_response(error: Exception) -> JSONResponse:
    refusal = REFUSALS.get(kind_of(error), INTERNAL)
    headers = {} if refusal.retry else {"x-should-retry": "false"}
    if isinstance(error, TokenRateLimited):
        headers["retry-after"] = str(error.retry_after)
    return JSONResponse(error_body(error), status_code=refusal.status, headers=headers)


def _validation_message(error: Mapping[str, Any]) -> tuple[str, str | None]:
    """OpenAI's wording for one of pydantic's complaints, and the field it is about (`messages[0].content`)."""
    location = [part for part in error.get("loc", ()) if part != "body"]
    param = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".") or None
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return f"Unrecognized request argument supplied: {param}", param
    if kind == "missing":
        return f"Missing required parameter: '{param}'.", param
    if kind == "json_invalid":
        return "The request body is not valid JSON.", None
    return f"Invalid value for '{param}': {error.get('msg', 'not accepted')}.", param


def validation_error(errors: list[Any]) -> ApiError:
    """The first of pydantic's complaints about a request, as the API's refusal."""
    message, param = _validation_message(errors[0] if errors else {})
    return ApiError("invalid_input", message, param)


async def _on_app_error(_request: Request, error: Exception) -> JSONResponse:
    return error_response(error)


async def _on_http_error(request: Request, error: Exception) -> JSONResponse:
    """Starlette's own refusals (no such route, wrong method) in OpenAI's shape."""
    status = getattr(error, "status_code", 404)
    if status == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
        return error_response(ApiError("method_not_allowed", message))
    return error_response(ApiError("unknown_url", f"Unknown request URL: {request.method} {request.url.path}."))


async def _on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    errors = error.errors() if isinstance(error, RequestValidationError) else []
    return error_response(validation_error(list(errors)))


async def _on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.error("the API failed on an unexpected error: %s", type(error).__name__, exc_info=error)
    return error_response(error)


def install(app: FastAPI) -> None:
    """Answer every error in OpenAI's shape, FastAPI's own `{"detail": ...}` and 422 included."""
    app.add_exception_handler(ApiError, _on_app_error)
    app.add_exception_handler(AppError, _on_app_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)
