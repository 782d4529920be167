"""Sign-in sessions kept on the server: a random token in an HttpOnly cookie, only its SHA-256 in the database.

A session lives from sign-in until it expires or is ended; ending one (sign-out, a password change, the admin
disabling or deleting the account, "End" on Profile) deletes its row, so its cookie stops working at once on every
app process sharing the database. The browser gets the cookie by trading a one-time hand-off code at
`/auth/session`, so the token itself never passes through the page, its websocket or its scripts.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlmodel import col

from core.accounts.users import UserPublic
from core.db.engine import session
from core.db.tables import SignInSession, User, utcnow

TOKEN_BYTES = 32
HANDOFF_SECONDS = 60
# How stale `last_seen_at` may get before a visit writes it again (a write per script run would be wasteful).
SEEN_EVERY = timedelta(minutes=5)
MAX_USER_AGENT_CHARS = 300
SWEEP_EVERY = timedelta(hours=1)  # how often a sign-in also deletes expired sessions (per process)


def digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex (a 256-bit random token needs no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A verified session of a browser tab: which session row, whose. Checked against the database every run."""

    session_id: int
    user_id: int


@dataclass(frozen=True)
class SessionPublic:
    """A line of Profile's session list; nothing in it can be used to sign in."""

    id: int
    user_agent: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


_USER_COLUMNS = (col(User.id), col(User.username), col(User.name), col(User.email))


class SessionStore:
    """Every method that reads or ends sessions takes the user it acts for, except the cookie lookups."""

    def __init__(self, engine: Engine, lifetime: timedelta, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._lifetime = lifetime
        self._clock = clock
        self._swept_at: datetime | None = None

    def start(self, user_id: int, user_agent: str = "") -> tuple[SignedIn, str]:
        """A new session for a user who just proved their password, and the one-time code its browser trades
        for the cookie."""
        now = self._clock()
        code = secrets.token_urlsafe(TOKEN_BYTES)
        row = SignInSession(
            user_id=user_id,
            handoff_hash=digest(code),
            handoff_expires_at=now + timedelta(seconds=HANDOFF_SECONDS),
            user_agent=" ".join((user_agent or "").split())[:MAX_USER_AGENT_CHARS],
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._lifetime,
        )
        with session(self._engine) as db:
            db.add(row)
            db.commit()
        assert row.id is not None
        if self._swept_at is None or now - self._swept_at > SWEEP_EVERY:
            self._swept_at = now
            self.expire_old()
        return SignedIn(row.id, user_id), code

    def trade_handoff(self, code: str) -> tuple[str, datetime] | None:
        """The cookie token (and when it expires) for a fresh hand-off code, once; None for anything else."""
        if not isinstance(code, str) or not code or len(code) > 200:
            return None
        now = self._clock()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._engine.begin() as connection:
            # One UPDATE that only matches an unused, unexpired code: two requests racing with it cannot both win.
            row = connection.execute(
                update(SignInSession)
                .where(
                    col(SignInSession.handoff_hash) == digest(code),
                    col(SignInSession.handoff_expires_at) > now,
                    col(SignInSession.expires_at) > now,
                )
                .values(token_hash=digest(token), handoff_hash=None, handoff_expires_at=None)
                .returning(col(SignInSession.expires_at))
            ).first()
        return (token, row.expires_at) if row else None

    def resume(self, token: str | None) -> SignedIn | None:
        """The live session a cookie token belongs to (its account enabled), or None: a bad cookie signs nobody in."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        now = self._clock()
        query = (
            select(col(SignInSession.id), col(SignInSession.user_id), col(SignInSession.last_seen_at))
            .join(User, col(User.id) == col(SignInSession.user_id))
            .where(
                col(SignInSession.token_hash) == digest(token),
                col(SignInSession.expires_at) > now,
                col(User.disabled_at).is_(None),
            )
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        if now - row.last_seen_at > SEEN_EVERY:
            self._seen(row.id, now)
        return SignedIn(row.id, row.user_id)

    def user(self, signed_in: SignedIn) -> UserPublic | None:
        """The account of a live session, looked up afresh (one SELECT): None once it was ended, expired, or its
        account disabled or deleted. Called on every script run."""
        now = self._clock()
        query = (
            select(*_USER_COLUMNS, col(SignInSession.last_seen_at))
            .join(SignInSession, col(SignInSession.user_id) == col(User.id))
            .where(
                col(SignInSession.id) == signed_in.session_id,
                col(SignInSession.user_id) == signed_in.user_id,
                col(SignInSession.expires_at) > now,
                col(User.disabled_at).is_(None),
            )
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        if now - row.last_seen_at > SEEN_EVERY:
            self._seen(signed_in.session_id, now)
        return UserPublic(row.id, row.username, row.name, row.email)

    def _seen(self, session_id: int, now: datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(SignInSession).where(col(SignInSession.id) == session_id).values(last_seen_at=now)
            )

    def list(self, user_id: int) -> list[SessionPublic]:
        """The user's live sessions, the most recently seen first."""
        query = (
            select(
                col(SignInSession.id),
                col(SignInSession.user_agent),
                col(SignInSession.created_at),
                col(SignInSession.last_seen_at),
                col(SignInSession.expires_at),
            )
            .where(col(SignInSession.user_id) == user_id, col(SignInSession.expires_at) > self._clock())
            .order_by(col(SignInSession.last_seen_at).desc(), col(SignInSession.id).desc())
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            SessionPublic(
                id=row.id,
                user_agent=row.user_agent,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                expires_at=row.expires_at,
            )
            for row in rows
        ]

    def end(self, user_id: int, session_id: int) -> bool:
        """End one of the user's sessions; True when there was one."""
        statement = delete(SignInSession).where(
            col(SignInSession.id) == session_id, col(SignInSession.user_id) == user_id
        )
        with self._engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def end_all(self, user_id: int, keep: int | None = None) -> int:
        """End every session of the user (but `keep`); how many were ended."""
        statement = delete(SignInSession).where(col(SignInSession.user_id) == user_id)
        if keep is not None:
            statement = statement.where(col(SignInSession.id) != keep)
        with self._engine.begin() as connection:
            return connection.execute(statement).rowcount

    def end_by_token(self, token: str | None) -> bool:
        """End the session a cookie belongs to (sign-out from the browser); True when there was one."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return False
        with self._engine.begin() as connection:
            ended = connection.execute(delete(SignInSession).where(col(SignInSession.token_hash) == digest(token)))
        return bool(ended.rowcount)

    def expire_old(self) -> int:
        """Delete sessions past their expiry; how many."""
        with self._engine.begin() as connection:
            return connection.execute(
                delete(SignInSession).where(col(SignInSession.expires_at) <= self._clock())
            ).rowcount
