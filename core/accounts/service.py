"""Signing in and out, and changing a password: the account rules every front end shares."""

from __future__ import annotations

from dataclasses import dataclass

from core.accounts.sessions import SessionStore, SignedIn
from core.accounts.throttle import SignInThrottle
from core.accounts.users import PasswordCheck, UserPublic, UserStore
from core.errors import AppError, InvalidInput

WRONG = "Wrong user name or password."
DISABLED = "This account is disabled. Ask your administrator to enable it again."


class SignInRefused(AppError):
    """A sign-in was refused; the message is safe to show and says whether (and when) to try again."""


@dataclass(frozen=True)
class SignInStarted:
    """A new session: the account, the session to check on every run, and the one-time code for the cookie."""

    user: UserPublic
    session: SignedIn
    handoff: str


@dataclass(frozen=True)
class Accounts:
    """Sign-in, sign-out and password changes over the user, throttle and session stores."""

    users: UserStore
    throttle: SignInThrottle
    sessions: SessionStore

    def sign_in(self, username: str | None, password: str | None, user_agent: str = "") -> SignInStarted:
        """Check the password (rate-limited per name), then start a session; SignInRefused otherwise."""
        name = (username or "").strip().lower()
        if not name or not password:
            raise SignInRefused("Type your user name and password.")
        user = self._check_password(name, password)
        session, code = self.sessions.start(user.id, user_agent)
        return SignInStarted(user, session, code)

    def _check_password(self, name: str, password: str) -> UserPublic:
        """Refuse a locked name before its password is checked; count a wrong password; clear on success."""
        if wait := self.throttle.wait_seconds(name):
            raise SignInRefused(f"Too many failed sign-ins for this user name. Try again in {wait} s.")
        verified = self.users.verify(name, password)
        if verified.result is PasswordCheck.WRONG:
            lock = self.throttle.record_failure(name)
            raise SignInRefused(WRONG + (f" Too many failed sign-ins: try again in {lock} s." if lock else ""))
        self.throttle.clear(name)
        if verified.result is PasswordCheck.DISABLED or verified.user is None:
            raise SignInRefused(DISABLED)
        return verified.user

    def current_user(self, session: SignedIn) -> UserPublic | None:
        """The account of a live session, or None once the session ended (checked on every run)."""
        return self.sessions.user(session)

    def sign_out(self, session: SignedIn) -> None:
        self.sessions.end(session.user_id, session.session_id)

    def change_password(self, session: SignedIn, current: str | None, new: str | None, repeat: str | None) -> int:
        """Change the signed-in user's password after checking the current one; every other session of theirs is
        ended (how many is returned). InvalidInput names the field that is wrong."""
        user = self.sessions.user(session)
        if user is None:
            raise SignInRefused("You were signed out. Sign in again to change your password.")
        try:
            self._check_password(user.username, current or "")
        except SignInRefused as refused:
            raise InvalidInput(str(refused).replace(WRONG, "The current password is wrong."), "current") from None
        if (new or "") != (repeat or ""):
            raise InvalidInput("The new passwords do not match.", "repeat")
        if new == current:
            raise InvalidInput("The new password is the same as the current one.", "new")
        try:
            self.users.set_password(user.username, new or "")
        except InvalidInput as error:
            raise InvalidInput(str(error), "new") from None
        return self.sessions.end_all(user.id, keep=session.session_id)

    def reset_password(self, username: str, password: str) -> tuple[UserPublic, int]:
        """The admin's reset: a new password, and every session of the account ended."""
        user = self.users.set_password(username, password)
        return user, self.sessions.end_all(user.id)

    def set_disabled(self, username: str, disabled: bool) -> tuple[UserPublic, int]:
        """Disable (ending every session) or enable an account; its keys and chats stay."""
        user = self.users.set_disabled(username, disabled)
        return user, self.sessions.end_all(user.id) if disabled else 0
