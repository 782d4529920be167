"""The app's small exception vocabulary; every message says what to do next and never holds a secret."""

from __future__ import annotations

from enum import StrEnum


class AppError(Exception):
    """Base class: `str(error)` is safe to show to the user."""


class StartupError(AppError):
    """The deployment is misconfigured; the app refuses to start until it is fixed."""


class InvalidInput(AppError):
    """A value typed by the user was refused; `field` names the input it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ReplyInProgress(InvalidInput):
    """A message (or a regeneration) for a chat whose reply is still being written: one reply at a time per chat."""

    def __init__(self) -> None:
        super().__init__(
            "The reply in this chat is still being written. Wait for it to finish, or stop it, then send again.",
            "chat_input",
        )


class InvalidEndpoint(InvalidInput):
    """An endpoint URL is malformed or not allowed."""


class MissingCredential(AppError):
    """The user has no saved credential for the provider a request needs."""

    def __init__(self, provider_label: str) -> None:
        super().__init__(f"No {provider_label} key is saved. Add one in Profile → Provider Keys → {provider_label}.")
        self.provider_label = provider_label


class CredentialUnreadable(AppError):
    """A stored credential cannot be decrypted (wrong master key or tampered data)."""

    def __init__(self, provider_label: str = "this provider") -> None:
        super().__init__(
            f"The saved {provider_label} credential can no longer be read. "
            f"Enter it again in Profile → Provider Keys → {provider_label}."
        )


class AccountInactive(AppError):
    """The account was disabled or deleted: its keys may not be used, and a reply in progress is stopped."""

    def __init__(
        self, message: str = "This account was signed out or disabled, so its keys are not used. Sign in again."
    ) -> None:
        super().__init__(message)


class InvalidToken(AppError):
    """An API token is missing, malformed, unknown, revoked or expired: the request is refused as unauthenticated."""


class TokenRateLimited(AppError):
    """An API token made more requests this minute than the server allows; `retry_after` is in seconds."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"This API token made more than {limit} requests this minute. Wait {retry_after} s and try again."
        )
        self.retry_after = retry_after


class UnknownModel(AppError):
    """A model ID the app cannot route to any provider."""


class ProviderErrorKind(StrEnum):
    """How a provider call failed; core/providers/failures.py words each kind."""

    REJECTED_KEY = "rejected_key"
    NO_ACCESS = "no_access"
    GATED = "gated"  # a Hugging Face model the token's account was not granted (its license is not accepted)
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    PROVIDER_DOWN = "provider_down"
    TIMEOUT = "timeout"
    BAD_REQUEST = "bad_request"
    INTERRUPTED = "interrupted"
    UNREACHABLE = "unreachable"
    REDIRECTED = "redirected"  # the provider answered with a redirect, which is never followed (it would carry the key)


class ProviderError(AppError):
    """A provider call failed; `kind` says how, the message says what to do."""

    def __init__(self, kind: ProviderErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def own_error(error: BaseException | None) -> AppError | None:
    """The app's own error behind a library's wrapper (litellm wraps what a custom provider raises), if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, AppError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None
