"""The retry policy: a provider call that failed before any text arrived is asked again when the failure is
transient (rate limited, or a server error the provider answered), a bounded number of times, with backoff."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings
from core.providers.failures import is_transient, retry_after, unwrap

RETRY_BASE_SECONDS = 0.5


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more tries after the first, each after at most `max_wait` seconds."""

    retries: int = 0
    max_wait: float = 0.0

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        """The policy the deployment configured (`APP_MAX_RETRIES`, `APP_RETRY_MAX_WAIT`)."""
        return cls(retries=settings.max_retries, max_wait=settings.retry_max_wait)

    def delay(self, error: Exception, attempts: int, partial: bool = False) -> float | None:
        """Seconds to wait before trying again after `attempts` tries, the last failing with `error`; None: give up.

        A reply that had text (`partial`) is never asked again: what arrived is kept.
        """
        if partial or attempts > self.retries or not is_transient(error):
            return None
        return self.backoff(error, attempts)

    def backoff(self, error: Exception, attempts: int) -> float:
        """Exponential, at least what the provider's Retry-After asks, never more than `max_wait`."""
        asked = retry_after(unwrap(error))
        wait = max(float(asked) if asked else 0.0, RETRY_BASE_SECONDS * 2 ** (attempts - 1))
        return min(wait, self.max_wait)
