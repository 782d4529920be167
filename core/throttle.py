"""Sign-in rate limiting per user name: a few failures, then a lock that doubles with each further failure.

Kept in the database, so it holds across restarts and across app replicas sharing one database; it applies to
names without an account too, so the answer never reveals whether an account exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from core.db import once_more_on_conflict, session
from core.schema import SignInFailure, utcnow

FREE_FAILURES = 5
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60
# A name whose last failure is this old starts again with its free attempts.
FORGET_AFTER = timedelta(hours=1)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _key(username: str) -> str:
    return (username or "").strip().lower()[:200]


class SignInThrottle:
    def __init__(
        self,
        engine: Engine,
        free_failures: int = FREE_FAILURES,
        first_lock_seconds: int = FIRST_LOCK_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._free = free_failures
        self._first_lock = first_lock_seconds
        self._clock = clock

    def wait_seconds(self, username: str) -> int:
        """Seconds before this name may try again; 0 when it may try now."""
        with session(self._engine) as db:
            row = db.get(SignInFailure, _key(username))
        if row is None or row.locked_until is None:
            return 0
        left = (_aware(row.locked_until) - self._clock()).total_seconds()
        return max(0, math.ceil(left))

    def record_failure(self, username: str) -> int:
        """Count a failed attempt; the lock it starts, in seconds (0 while attempts are still free)."""
        return once_more_on_conflict(lambda: self._record_failure(_key(username)))

    def _record_failure(self, key: str) -> int:
        now = self._clock()
        with session(self._engine) as db:
            row = db.get(SignInFailure, key)
            if row is None or now - _aware(row.last_failure_at) > FORGET_AFTER:
                row = row or SignInFailure(username=key)
                row.failures = 0
                row.locked_until = None
            row.failures += 1
            row.last_failure_at = now
            over = row.failures - self._free + 1  # the last free failure starts the first lock
            lock = min(MAX_LOCK_SECONDS, self._first_lock * 2 ** (over - 1)) if over > 0 else 0
            row.locked_until = now + timedelta(seconds=lock) if lock else None
            db.add(row)
            db.commit()
            return lock

    def clear(self, username: str) -> None:
        """A successful sign-in starts the name afresh."""
        with session(self._engine) as db:
            row = db.get(SignInFailure, _key(username))
            if row is not None:
                db.delete(row)
                db.commit()
