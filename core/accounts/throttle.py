"""Sign-in rate limiting per user name: a few failures, then a lock that doubles with each further failure.

Kept in the database, so it holds across restarts and across app replicas sharing one database; it applies to
names without an account too, so the answer never reveals whether an account exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, delete, or_, update
from sqlmodel import col

from core.db.engine import insert_or_update, session
from core.db.tables import SignInFailure, utcnow

FREE_FAILURES = 5
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60
# A name whose last failure is this old starts again with its free attempts.
FORGET_AFTER = timedelta(hours=1)
EXPIRE_EVERY = timedelta(minutes=1)


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
        self._expired_at: datetime | None = None

    def wait_seconds(self, username: str) -> int:
        """Seconds before this name may try again; 0 when it may try now."""
        with session(self._engine) as db:
            row = db.get(SignInFailure, _key(username))
        if row is None or row.locked_until is None:
            return 0
        left = (row.locked_until - self._clock()).total_seconds()
        return max(0, math.ceil(left))

    def record_failure(self, username: str) -> int:
        """Count a failed attempt; the lock it starts, in seconds (0 while attempts are still free).

        The count is one atomic insert-or-increment, so failures made at the same moment (threads, app
        processes) are all counted; a lock only ever grows, whichever of two racing writes lands last.
        """
        key, now = _key(username), self._clock()
        forgotten = col(SignInFailure.last_failure_at) < now - FORGET_AFTER
        insert = insert_or_update(self._engine, SignInFailure).values(
            username=key, failures=1, last_failure_at=now, locked_until=None
        )
        count = insert.on_conflict_do_update(
            index_elements=["username"],
            set_={
                "failures": case((forgotten, 1), else_=col(SignInFailure.failures) + 1),
                "locked_until": case((forgotten, None), else_=col(SignInFailure.locked_until)),
                "last_failure_at": now,
            },
        ).returning(col(SignInFailure.failures))
        with self._engine.begin() as connection:
            failures = connection.execute(count).scalar_one()
            over = failures - self._free + 1  # the last free failure starts the first lock
            lock = min(MAX_LOCK_SECONDS, self._first_lock * 2 ** (over - 1)) if over > 0 else 0
            if lock:
                until = now + timedelta(seconds=lock)
                connection.execute(
                    update(SignInFailure)
                    .where(
                        col(SignInFailure.username) == key,
                        or_(col(SignInFailure.locked_until).is_(None), col(SignInFailure.locked_until) < until),
                    )
                    .values(locked_until=until)
                )
        self._expire_old(now)
        return lock

    def _expire_old(self, now: datetime) -> None:
        """Forget names whose last failure is old and whose lock is over, at most once a minute per process."""
        if self._expired_at is not None and now - self._expired_at < EXPIRE_EVERY:
            return
        self._expired_at = now
        with self._engine.begin() as connection:
            connection.execute(
                delete(SignInFailure).where(
                    col(SignInFailure.last_failure_at) < now - FORGET_AFTER,
                    or_(col(SignInFailure.locked_until).is_(None), col(SignInFailure.locked_until) < now),
                )
            )

    def clear(self, username: str) -> None:
        """A successful sign-in starts the name afresh."""
        with session(self._engine) as db:
            row = db.get(SignInFailure, _key(username))
            if row is not None:
                db.delete(row)
                db.commit()
