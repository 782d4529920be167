"""Accounts: stored in the database, bridged to streamlit-authenticator's credentials dictionary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import bcrypt
from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from core.db import session
from core.errors import InvalidInput
from core.schema import User

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_CHARS = 8


@dataclass(frozen=True)
class UserPublic:
    """A signed-in or listed user, without the password hash."""

    id: int
    username: str
    name: str
    email: str


_PUBLIC_COLUMNS = sa_select(User.id, User.username, User.name, User.email)  # UserPublic's fields, in order


def _public(user: User) -> UserPublic:
    return UserPublic(user.id, user.username, user.name, user.email)


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def clean_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise InvalidInput("User names are 2–64 characters: lower-case letters, digits, '.', '_' or '-'.", "username")
    return name


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, username: str, name: str, email: str, password: str) -> UserPublic:
        """Create an account; InvalidInput when a value is refused or the name is taken."""
        username = clean_username(username)
        name, email = (name or "").strip(), (email or "").strip()
        if not name:
            raise InvalidInput("The full name is empty.", "name")
        if not EMAIL_PATTERN.match(email):
            raise InvalidInput("The email address does not look valid.", "email")
        if len(password or "") < MIN_PASSWORD_CHARS:
            raise InvalidInput(f"The password must be at least {MIN_PASSWORD_CHARS} characters.", "password")
        return self._insert(User(username=username, name=name, email=email, password_hash=hash_password(password)))

    def _insert(self, user: User) -> UserPublic:
        with session(self._engine) as db:
            db.add(user)
            try:
                db.commit()
            except IntegrityError:
                raise InvalidInput(f"The user name {user.username!r} is already taken.", "username") from None
            return _public(user)

    def get(self, username: str | None) -> UserPublic | None:
        """The account, looked up on every script run: one plain SELECT of its public columns (no ORM objects)."""
        if not username:
            return None
        with self._engine.connect() as connection:
            row = connection.execute(_PUBLIC_COLUMNS.where(User.username == username.lower())).first()
        return UserPublic(*row) if row else None

    def list(self) -> list[UserPublic]:
        with session(self._engine) as db:
            return [_public(user) for user in db.exec(select(User).order_by(User.username)).all()]

    def count(self) -> int:
        with session(self._engine) as db:
            return db.exec(select(func.count()).select_from(User)).one()

    def delete(self, username: str) -> bool:
        """Delete an account; its credentials go with it (ON DELETE CASCADE)."""
        with session(self._engine) as db:
            user = db.exec(select(User).where(User.username == username.lower())).first()
            if user is None:
                return False
            db.delete(user)
            db.commit()
            return True

    def authenticator_credentials(self) -> dict[str, Any]:
        """The `credentials` dictionary streamlit-authenticator works on."""
        with session(self._engine) as db:
            users = db.exec(select(User)).all()
        return {
            "usernames": {
                user.username: {
                    "name": user.name,
                    "email": user.email,
                    "password": user.password_hash,
                    "failed_login_attempts": user.failed_login_attempts,
                }
                for user in users
            }
        }

    def sync_from_authenticator(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Persist what the authenticator changed in its dictionary: new sign-ups, failed-attempt counts."""
        old, new = before.get("usernames", {}), after.get("usernames", {})
        for username, entry in new.items():
            if username not in old:
                self._insert_registered(username, entry)
            elif entry.get("failed_login_attempts") != old[username].get("failed_login_attempts"):
                self._set_failed_attempts(username, int(entry.get("failed_login_attempts") or 0))

    def _insert_registered(self, username: str, entry: dict[str, Any]) -> None:
        name = f"{entry.get('first_name', '')} {entry.get('last_name', '')}".strip() or entry.get("name") or username
        self._insert(
            User(
                username=clean_username(username),
                name=name,
                email=entry.get("email", ""),
                password_hash=entry["password"],
            )
        )

    def _set_failed_attempts(self, username: str, count: int) -> None:
        with session(self._engine) as db:
            user = db.exec(select(User).where(User.username == username)).first()
            if user is not None:
                user.failed_login_attempts = count
                db.add(user)
                db.commit()
