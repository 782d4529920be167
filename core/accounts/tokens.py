"""Personal access tokens for the HTTP API: made here, shown once, kept only as an HMAC-SHA256 of themselves.

A token reads `cdp_` + 30 random base62 characters + a 6-character base62 CRC32 of those 30, GitHub-style: a secret
scanner can recognise a leaked one by its shape (`TOKEN_SHAPE`, also masked in every log line), and a mistyped or
tampered one is refused by its checksum before the database is asked. The database holds the HMAC under the
server's token key (kept apart from it, like the master key), so a copy of the database cannot be turned back
into tokens; a 178-bit random token needs no slow hash (bcrypt would cost 58-233 ms per request).

Each request is one UPDATE: it finds a live token of an enabled account, counts the request in the token's
current one-minute window (atomically, so API workers sharing the database count exactly) and, at most once a
minute, records its last use.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, delete, literal, or_, select, update
from sqlmodel import col
from sqlmodel import select as select_rows

from core.db.engine import session
from core.db.tables import ApiToken, User
from core.db.types import UTCDateTime, utcnow
from core.errors import AccountInactive, InvalidInput, InvalidToken, TokenRateLimited

PREFIX = "cdp_"
BODY_CHARS = 30  # 30 base62 characters: 178 random bits
CHECK_CHARS = 6  # 62**6 > 2**32: any CRC32 fits
TOKEN_CHARS = len(PREFIX) + BODY_CHARS + CHECK_CHARS
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
TOKEN_SHAPE = rf"{PREFIX}[0-9A-Za-z]{{{BODY_CHARS + CHECK_CHARS}}}"
MAX_NAME_CHARS = 64
MAX_EXPIRY_DAYS = 3650
USED_EVERY = timedelta(minutes=1)  # how stale `last_used_at` may get before a request writes it again

HOW_TO_SEND = "Send a token of yours as `Authorization: Bearer <token>` (create one in Profile → API tokens)."
MISSING = f"No API token was sent. {HOW_TO_SEND}"
MALFORMED = f"This is not an API token of this server (its format or checksum is wrong). {HOW_TO_SEND}"
UNKNOWN = "This API token is not valid: it was revoked, or never existed. Create a new one in Profile → API tokens."
EXPIRED = "This API token has expired. Create a new one in Profile → API tokens."
OWNER_DISABLED = "This account is disabled, so its API tokens do not work. Ask your admin to enable it again."


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    """The CRC32 of a token's random part, as 6 base62 characters."""
    return _base62(zlib.crc32(body.encode()), CHECK_CHARS)


def new_token() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_CHARS))
    return PREFIX + body + checksum(body)


def well_formed(token: object) -> bool:
    """Whether `token` has the shape of one of ours and its checksum matches (no database involved)."""
    if not isinstance(token, str) or len(token) != TOKEN_CHARS or not token.startswith(PREFIX):
        return False
    rest = token[len(PREFIX) :]
    if any(char not in ALPHABET for char in rest):
        return False
    body, check = rest[:BODY_CHARS], rest[BODY_CHARS:]
    return hmac.compare_digest(checksum(body), check)


def clean_name(name: str | None) -> str:
    raw = (name or "").strip()
    if not raw.isprintable():
        raise InvalidInput("The name must be one line, without control characters.", "name")
    text = " ".join(raw.split())
    if not text:
        raise InvalidInput("Give the token a name, e.g. the script or tool that will use it.", "name")
    if len(text) > MAX_NAME_CHARS:
        raise InvalidInput(f"The name must be at most {MAX_NAME_CHARS} characters.", "name")
    return text


def clean_expiry_days(days: int | None) -> int | None:
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(f"A token lasts from 1 to {MAX_EXPIRY_DAYS} days (or until it is revoked).", "expires_days")
    return days


@dataclass(frozen=True)
class ApiTokenPublic:
    """A line of a token list: nothing in it can be used to call the API."""

    id: int
    name: str
    last4: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None

    @property
    def masked(self) -> str:
        return f"…{self.last4}"

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class TokenUser:
    """Who a request's token belongs to, as verified (with the database) for this request."""

    token_id: int
    user_id: int


def _public(row: ApiToken) -> ApiTokenPublic:
    assert row.id is not None
    return ApiTokenPublic(
        id=row.id,
        name=row.name,
        last4=row.last4,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


class ApiTokens:
    """Every method takes the user it acts for, except `authenticate`, which finds them from the token."""

    def __init__(self, engine: Engine, key: bytes, rate_limit: int, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._key = key
        self._rate_limit = rate_limit
        self._clock = clock

    def digest(self, token: str) -> str:
        """What the database keeps of a token: its HMAC-SHA256 under the server's token key, hex."""
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def create(self, user_id: int, name: str | None, expires_days: int | None = None) -> tuple[ApiTokenPublic, str]:
        """A new token for the user: its public view, and the token itself (shown once, never stored)."""
        name, days = clean_name(name), clean_expiry_days(expires_days)
        now = self._clock()
        token = new_token()
        row = ApiToken(
            user_id=user_id,
            name=name,
            token_hash=self.digest(token),
            last4=token[-4:],
            created_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
        with session(self._engine) as db:
            db.add(row)
            db.commit()
            db.refresh(row)
            return _public(row), token

    def list(self, user_id: int) -> list[ApiTokenPublic]:
        """The user's tokens (expired ones too, until revoked), the newest first."""
        query = (
            select_rows(ApiToken)
            .where(col(ApiToken.user_id) == user_id)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        )
        with session(self._engine) as db:
            return [_public(row) for row in db.exec(query)]

    def revoke(self, user_id: int, token_id: int) -> bool:
        """Delete one of the user's tokens (it stops working on the next request); True when there was one."""
        statement = delete(ApiToken).where(col(ApiToken.id) == token_id, col(ApiToken.user_id) == user_id)
        with self._engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def authenticate(self, token: str | None) -> TokenUser:
        """The owner of a live token, with this request counted; InvalidToken (401), AccountInactive (a disabled
        owner) or TokenRateLimited otherwise. A malformed token is refused before any database read."""
        if not token:
            raise InvalidToken(MISSING)
        if not well_formed(token):
            raise InvalidToken(MALFORMED)
        now, digest = self._clock(), self.digest(token)
        minute = int(now.timestamp() // 60)
        owner_enabled = (
            select(col(User.id)).where(col(User.id) == col(ApiToken.user_id), col(User.disabled_at).is_(None)).exists()
        )
        stale = or_(col(ApiToken.last_used_at).is_(None), col(ApiToken.last_used_at) < now - USED_EVERY)
        count = (
            update(ApiToken)
            .where(
                col(ApiToken.token_hash) == digest,
                or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
                owner_enabled,
            )
            .values(
                # One statement reads and writes the count: requests racing on any worker are each counted.
                rate_count=case((col(ApiToken.rate_window) == minute, col(ApiToken.rate_count) + 1), else_=1),
                rate_window=minute,
                last_used_at=case((stale, literal(now, UTCDateTime)), else_=col(ApiToken.last_used_at)),
            )
            .returning(col(ApiToken.id), col(ApiToken.user_id), col(ApiToken.rate_count))
        )
        with self._engine.begin() as connection:
            row = connection.execute(count).first()
        if row is None:
            raise self._refusal(digest, now)
        if row.rate_count > self._rate_limit:
            raise TokenRateLimited(self._rate_limit, retry_after=60 - int(now.timestamp()) % 60)
        return TokenUser(row.id, row.user_id)

    def _refusal(self, digest: str, now: datetime) -> Exception:
        """Why a well-formed token was not accepted (read only on this failing path)."""
        query = (
            select(col(ApiToken.expires_at), col(User.disabled_at))
            .join(User, col(User.id) == col(ApiToken.user_id))
            .where(col(ApiToken.token_hash) == digest)
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return InvalidToken(UNKNOWN)
        if row.disabled_at is not None:
            return AccountInactive(OWNER_DISABLED)
        return InvalidToken(EXPIRED)
