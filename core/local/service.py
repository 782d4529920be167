"""The LocalModels service the front ends call, the user first: suggest, plan (access checked with the user's own
token), download, cancel, list, remove, and the gate chat passes before a local model answers."""

from __future__ import annotations

import threading
from pathlib import Path

from core.config import Settings
from core.credentials.store import CredentialStore
from core.errors import MissingCredential
from core.local.access import AccessChecks
from core.local.curated import SUGGESTED, SuggestedModel
from core.local.download import DownloadJob, Downloads
from core.local.errors import LocalModelError
from core.local.library import LocalLibrary, LocalModelRecord
from core.local.plan import DownloadPlan, plan_download
from core.local.pool import ModelPool
from core.providers.hub import HUGGINGFACE, clean_repo_id


class LocalModels:
    """Local models for signed-in users: each sees and uses only the models they added themselves, and a gated one
    only while their own token has access; the files on disk are shared (one copy, one download per repo)."""

    def __init__(
        self,
        credentials: CredentialStore,
        settings: Settings,
        parts: tuple[LocalLibrary, Downloads, AccessChecks, ModelPool],
    ) -> None:
        self._credentials, self._settings = credentials, settings
        self.library, self.downloads, self.access, self.pool = parts
        self._registered = threading.Event()
        self._register_lock = threading.Lock()

    @staticmethod
    def suggestions() -> tuple[SuggestedModel, ...]:
        return SUGGESTED

    def _token(self, user_id: int) -> str | None:
        """The user's own Hugging Face read token, or None (public models need none)."""
        try:
            return self._credentials.secrets(user_id, HUGGINGFACE)["token"]
        except MissingCredential:
            return None

    def plan(self, user_id: int, repo_id: str, quantization: str | None = None) -> DownloadPlan:
        """What a download would bring, checked with the user's token; HubError or LocalModelError when it cannot."""
        repo_id = clean_repo_id(repo_id)
        return plan_download(repo_id, self._token(user_id), self._settings, quantization)

    def download(self, user_id: int, repo_id: str, quantization: str | None = None) -> DownloadJob:
        """Plan again (access may have changed) and start the download, or join the one already running."""
        self.downloads.prepare()  # the download's process starts while the plan is checked
        try:
            plan = self.plan(user_id, repo_id, quantization)
        except BaseException:
            self.downloads.discard_prepared()
            raise
        self.library.add_user(user_id, plan.repo_id)
        return self.downloads.start(user_id, plan, self._token(user_id))

    def jobs(self, user_id: int) -> list[DownloadJob]:
        """The downloads of models this user asked for (another user's download of the same repo included)."""
        mine = set(self.library.user_repos(user_id))
        return [job for job in self.downloads.jobs() if job.repo_id in mine]

    def cancel(self, user_id: int, repo_id: str) -> None:
        if repo_id in self.library.user_repos(user_id):
            self.downloads.cancel(repo_id)

    def mine(self, user_id: int) -> list[LocalModelRecord]:
        """The user's downloaded models, newest first."""
        return self.library.for_user(user_id)

    def usable(self, user_id: int) -> tuple[str, ...]:
        """The user's models that can chat now: downloaded, and (when gated) granted to this user."""
        return tuple(record.repo_id for record in self.mine(user_id) if self.access.may_use(user_id, record.repo_id))

    def remove(self, user_id: int, repo_id: str) -> None:
        """Take the model off the user's list; the last user's removal unloads it and frees its disk."""
        if self.library.remove_user(user_id, repo_id) == 0:
            self.downloads.cancel(repo_id)
            self.pool.unload(repo_id)
            self.library.delete(repo_id)

    def disk_used(self) -> int:
        return self.library.disk_used()

    def allow_chat(self, user_id: int, repo_id: str) -> None:
        """Before a local model answers: it is on this user's list, on disk, and (when gated) granted to them."""
        if repo_id not in self.usable(user_id):
            raise LocalModelError(
                f"{repo_id} is not one of your local models. Download it on Models → Local models first."
            )
        self._ensure_registered()

    def folder_of(self, repo_id: str) -> Path:
        record = self.library.get(repo_id)
        if record is None:
            raise LocalModelError(f"{repo_id} is not downloaded on this server.")
        return Path(record.folder)

    def _ensure_registered(self) -> None:
        """Put the custom provider into litellm once, on the first local chat (importing litellm is slow)."""
        if self._registered.is_set():
            return
        with self._register_lock:
            if not self._registered.is_set():
                from core.local.provider import register

                register(self.pool, self.folder_of)
                self._registered.set()

    def waiting(self, repo_id: str) -> int:
        """How many generations are queued for the model (one runs at a time on this server)."""
        return self.pool.waiting(repo_id)
