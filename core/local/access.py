"""Whether a signed-in user may download, and chat with, a Hugging Face model, asked with their own saved token.

Each answer is remembered per user and model for `FRESH` (a new token is asked again at once). When the Hub cannot
be reached, a grant verified for that user within `GRACE` still holds, and a model known to be public still runs;
a gated model is never used on the strength of another user's grant or download.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from core.config import Settings
from core.credentials.store import CredentialStore
from core.db.engine import once_more_on_conflict, session
from core.db.tables import HubAccess, LocalModel
from core.db.types import utcnow
from core.errors import AppError, ProviderErrorKind
from core.local.errors import GATED_ANONYMOUS, LocalModelError
from core.providers.hub import HUGGINGFACE, Access, HubError, check_access, clean_repo_id, list_files, page_url

Kind = ProviderErrorKind
FRESH = timedelta(minutes=10)
GRACE = timedelta(hours=24)
# After the Hub failed to answer, calls wait this long before asking it again (each would wait for its timeout).
RETRY_OFFLINE = timedelta(seconds=30)
OFFLINE = frozenset({Kind.UNREACHABLE, Kind.TIMEOUT, Kind.PROVIDER_DOWN})
# Refusals that stay true for a while; any other failure is asked again next time.
LASTING = frozenset({Kind.GATED, Kind.NOT_FOUND, Kind.REJECTED_KEY, Kind.NO_ACCESS})


def check_user_access(credentials: CredentialStore, settings: Settings, user_id: int, repo_id: str) -> Access:
    """`check_access` with the signed-in user's saved Hugging Face token; HubError when the token may not."""
    repo_id = clean_repo_id(repo_id)  # before the token is read: a malformed ID costs no decryption
    return check_access(repo_id, credentials.secrets(user_id, HUGGINGFACE)["token"], settings)


class AccessChecks:
    """Per-account access to models, remembered briefly: `check` before a download, `may_chat` before a reply."""

    def __init__(
        self,
        credentials: CredentialStore,
        settings: Settings,
        engine: Engine,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._credentials, self._settings, self._engine, self._now = credentials, settings, engine, now
        self._offline: tuple[datetime, HubError] | None = None

    def _token(self, user_id: int) -> tuple[str | None, datetime | None]:
        """The user's token and when it was saved, or (None, None) when none is saved."""
        saved = self._credentials.list(user_id).get(HUGGINGFACE)
        if saved is None:
            return None, None
        return self._credentials.secrets(user_id, HUGGINGFACE)["token"], saved.updated_at

    def _row(self, user_id: int, repo_id: str) -> HubAccess | None:
        with session(self._engine) as db:
            return db.exec(select(HubAccess).where(HubAccess.user_id == user_id, HubAccess.repo_id == repo_id)).first()

    def _remember(self, user_id: int, repo_id: str, token_at: datetime | None, answer: Access | HubError) -> None:
        def write() -> None:
            with session(self._engine) as db:
                row = db.exec(
                    select(HubAccess).where(HubAccess.user_id == user_id, HubAccess.repo_id == repo_id)
                ).first() or HubAccess(user_id=user_id, repo_id=repo_id)
                row.granted = isinstance(answer, Access)
                row.gated = answer.gated if isinstance(answer, Access) else answer.kind is Kind.GATED
                row.error = None if isinstance(answer, Access) else str(answer)[:500]
                row.error_kind = None if isinstance(answer, Access) else answer.kind.value
                row.token_saved_at, row.checked_at = token_at, self._now()
                db.add(row)
                db.commit()

        once_more_on_conflict(write)

    def _recalled(self, row: HubAccess) -> Access:
        """The remembered answer: the access, or the refusal raised again."""
        page = page_url(self._settings, row.repo_id)
        if not row.granted:
            raise HubError(Kind(row.error_kind or Kind.NO_ACCESS.value), row.error or "", page)
        return Access(row.repo_id, gated=row.gated, page_url=page)

    def _ask(self, repo_id: str, token: str | None) -> Access:
        """The Hub's answer now (unless it just failed to answer: then that failure again, without waiting)."""
        if self._offline is not None and self._now() < self._offline[0]:
            failure = self._offline[1]
            raise HubError(failure.kind, str(failure), page_url(self._settings, repo_id))
        try:
            access, _ = list_files(repo_id, token, self._settings)
        except HubError as error:
            if error.kind in OFFLINE:
                self._offline = (self._now() + RETRY_OFFLINE, error)
            if token is None and error.kind is Kind.GATED:
                raise HubError(error.kind, GATED_ANONYMOUS, error.page_url) from None
            raise
        self._offline = None
        return access

    def check(self, user_id: int, repo_id: str) -> Access:
        """Whether this user may download the model, with their own token (none: public models only)."""
        repo_id = clean_repo_id(repo_id)
        token, token_at = self._token(user_id)
        row = self._row(user_id, repo_id)
        same_token = row is not None and row.token_saved_at == token_at
        if row is not None and same_token and self._now() - row.checked_at < FRESH:
            return self._recalled(row)
        try:
            access = self._ask(repo_id, token)
        except HubError as error:
            verified = row is not None and same_token and row.granted and self._now() - row.checked_at < GRACE
            if error.kind in OFFLINE and verified and row is not None:
                return self._recalled(row)
            if error.kind in LASTING:
                self._remember(user_id, repo_id, token_at, error)
            raise
        self._remember(user_id, repo_id, token_at, access)
        return access

    def _known_public(self, user_id: int, repo_id: str) -> bool:
        """The Hub said the model is not gated (to this user, or when it was downloaded)."""
        with session(self._engine) as db:
            model = db.exec(select(LocalModel).where(LocalModel.repo_id == repo_id)).first()
        row = self._row(user_id, repo_id)
        return (model is not None and not model.gated) or (row is not None and row.granted and not row.gated)

    def may_chat(self, user_id: int, repo_id: str) -> None:
        """Before a local model answers this user: a gated one needs a grant for THIS user, whoever downloaded it."""
        try:
            self.check(user_id, repo_id)
        except HubError as error:
            if error.kind not in OFFLINE:
                raise
            if not self._known_public(user_id, repo_id):
                raise LocalModelError(
                    f"{error} Your access to the gated model {repo_id} was not verified in the last 24 hours, so it "
                    "cannot be used until Hugging Face answers.",
                    error.page_url,
                ) from None

    def may_use(self, user_id: int, repo_id: str) -> bool:
        """`may_chat`, as a yes or no (for lists of models)."""
        try:
            self.may_chat(user_id, repo_id)
        except AppError:
            return False
        return True
