"""Accounts: stored in the database with bcrypt password hashes; checked, changed, disabled and deleted here."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from enum import StrEnum

import bcrypt
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from core.db.engine import session
from core.db.tables import User, utcnow
from core.errors import InvalidInput

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further (and bcrypt 5 refuses longer input)
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 320


@dataclass(frozen=True)
class UserPublic:
    """A signed-in or listed user, without the password hash."""

    id: int
    username: str
    name: str
    email: str
    disabled: bool = False


class PasswordCheck(StrEnum):
    """How a password check ended; the sign-in page words WRONG the same for unknown and known names."""

    OK = "ok"
    WRONG = "wrong"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Verified:
    result: PasswordCheck
    user: UserPublic | None = None


_PUBLIC_COLUMNS = (col(User.id), col(User.username), col(User.name), col(User.email), col(User.disabled_at))


def _public(row) -> UserPublic:
    return UserPublic(row.id, row.username, row.name, row.email, disabled=row.disabled_at is not None)


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


_dummy_lock = threading.Lock()
_dummy_hashes: dict[int, bytes] = {}


def _dummy(rounds: int) -> bytes:
    """A hash of a random password at the cost of new ones, checked for names without an account so that both
    answers take the same time (made once per process and cost)."""
    with _dummy_lock:
        if rounds not in _dummy_hashes:
            _dummy_hashes[rounds] = bcrypt.hashpw(bcrypt.gensalt(), bcrypt.gensalt(rounds))
        return _dummy_hashes[rounds]


def _matches(password: str, stored: bytes) -> bool:
    raw = (password or "").encode()
    if len(raw) > MAX_PASSWORD_BYTES:  # never a saved password (they are refused): still pay for one check
        bcrypt.checkpw(raw[:MAX_PASSWORD_BYTES], stored)
        return False
    try:
        return bcrypt.checkpw(raw, stored)
    except ValueError:  # a stored value that is not a bcrypt hash
        return False


def clean_username(username: str | None) -> str:
    name = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise InvalidInput("User names are 2–64 characters: lower-case letters, digits, '.', '_' or '-'.", "username")
    return name


def clean_password(password: str | None, field: str = "password") -> str:
    password = password or ""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"The password must be at least {MIN_PASSWORD_CHARS} characters.", field)
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise InvalidInput(f"The password must be at most {MAX_PASSWORD_BYTES} bytes (about as many letters).", field)
    if any(not char.isprintable() for char in password):
        raise InvalidInput("The password contains a line break or control character.", field)
    return password


class UserStore:
    def __init__(self, engine: Engine, rounds: int) -> None:
        self._engine = engine
        self._rounds = rounds  # bcrypt's cost factor for new hashes (APP_PASSWORD_ROUNDS)

    def add(self, username: str, name: str, email: str, password: str) -> UserPublic:
        """Create an account; InvalidInput when a value is refused or the name is taken."""
        username = clean_username(username)
        name, email = " ".join((name or "").split()), (email or "").strip()
        if not name:
            raise InvalidInput("The full name is empty.", "name")
        if len(name) > MAX_NAME_CHARS or not name.isprintable():
            raise InvalidInput(f"The full name must be one line of at most {MAX_NAME_CHARS} characters.", "name")
        if len(email) > MAX_EMAIL_CHARS or not EMAIL_PATTERN.match(email):
            raise InvalidInput("The email address does not look valid.", "email")
        row = User(username=username, name=name, email=email, password_hash=self._hash(password))
        with session(self._engine) as db:
            db.add(row)
            try:
                db.commit()
            except IntegrityError:
                raise InvalidInput(f"The user name {username!r} is already taken.", "username") from None
            return _public(row)

    def _hash(self, password: str) -> str:
        return hash_password(clean_password(password), self._rounds)

    def get(self, username: str | None) -> UserPublic | None:
        """The account by user name (disabled ones too, marked); one plain SELECT of its public columns."""
        if not username:
            return None
        with self._engine.connect() as connection:
            row = connection.execute(
                select(*_PUBLIC_COLUMNS).where(col(User.username) == username.strip().lower())
            ).first()
        return _public(row) if row else None

    def list(self) -> list[UserPublic]:
        with self._engine.connect() as connection:
            return [_public(row) for row in connection.execute(select(*_PUBLIC_COLUMNS).order_by(col(User.username)))]

    def count(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(User)).scalar_one()

    def verify(self, username: str | None, password: str | None) -> Verified:
        """Check a password; a name without an account costs the same bcrypt check as one with (no timing hint)."""
        name = (username or "").strip().lower()
        with self._engine.connect() as connection:
            row = connection.execute(
                select(*_PUBLIC_COLUMNS, col(User.password_hash)).where(col(User.username) == name)
            ).first()
        if row is None:
            _matches(password or "", _dummy(self._rounds))
            return Verified(PasswordCheck.WRONG)
        if not _matches(password or "", row.password_hash.encode()):
            return Verified(PasswordCheck.WRONG)
        user = _public(row)
        return Verified(PasswordCheck.DISABLED if user.disabled else PasswordCheck.OK, user)

    def set_password(self, username: str, password: str) -> UserPublic:
        """Replace a password (the admin's reset, or a change the user proved with the old one)."""
        hashed = self._hash(password)
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(User)
                .where(col(User.username) == username.strip().lower())
                .values(password_hash=hashed, password_changed_at=utcnow())
            )
        user = self.get(username) if changed.rowcount else None
        if user is None:
            raise InvalidInput(f"There is no user named {username!r}.", "username")
        return user

    def set_disabled(self, username: str, disabled: bool) -> UserPublic:
        """Disable an account (it cannot sign in; its keys and chats stay) or enable it again."""
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(User)
                .where(col(User.username) == username.strip().lower())
                .values(disabled_at=utcnow() if disabled else None)
            )
        user = self.get(username) if changed.rowcount else None
        if user is None:
            raise InvalidInput(f"There is no user named {username!r}.", "username")
        return user

    def delete(self, username: str) -> bool:
        """Delete an account; its credentials, chats and sessions go with it (ON DELETE CASCADE)."""
        with self._engine.begin() as connection:
            deleted = connection.execute(delete(User).where(col(User.username) == username.strip().lower()))
        return bool(deleted.rowcount)
