"""The models downloaded to this server (one copy per repo, in `<models folder>/<owner>/<name>`), and which users
have each on their list."""

from __future__ import annotations

import builtins
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, delete, func
from sqlmodel import col, select

from core.config import Settings
from core.db.engine import once_more_on_conflict, session
from core.db.tables import LocalModel, LocalModelUser
from core.db.types import utcnow
from core.local.errors import LocalModelError


@dataclass(frozen=True)
class LocalModelRecord:
    """A downloaded model, as pages see it."""

    repo_id: str
    folder: str
    runtime: str
    size_bytes: int
    gated: bool
    downloaded_by: int | None
    downloaded_at: datetime


def _public(row: LocalModel) -> LocalModelRecord:
    return LocalModelRecord(
        repo_id=row.repo_id,
        folder=row.folder,
        runtime=row.runtime,
        size_bytes=row.size_bytes,
        gated=row.gated,
        downloaded_by=row.downloaded_by,
        downloaded_at=row.downloaded_at,
    )


def folder_size(folder: Path) -> int:
    """Bytes of the files under `folder` (0 when it does not exist)."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else 0


class LocalLibrary:
    """The downloaded models and the users' lists of them; `delete` also frees the disk."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._root = settings.models_folder

    def folder_for(self, repo_id: str) -> Path:
        """Where a repo's files live: `<models folder>/<owner>/<name>` (the ID was checked: no `..`)."""
        owner, name = repo_id.split("/", 1)
        return self._root / owner / name

    def list(self) -> list[LocalModelRecord]:
        """Every downloaded model, newest first."""
        with session(self._engine) as db:
            rows = db.exec(select(LocalModel).order_by(col(LocalModel.downloaded_at).desc())).all()
        return [_public(row) for row in rows]

    def get(self, repo_id: str) -> LocalModelRecord | None:
        with session(self._engine) as db:
            row = db.exec(select(LocalModel).where(LocalModel.repo_id == repo_id)).first()
        return _public(row) if row else None

    def record(
        self, repo_id: str, runtime: str, size_bytes: int, downloaded_by: int | None, gated: bool = False
    ) -> LocalModelRecord:
        """Note a finished download (again: a re-download updates the record)."""

        def write() -> LocalModelRecord:
            with session(self._engine) as db:
                row = db.exec(select(LocalModel).where(LocalModel.repo_id == repo_id)).first() or LocalModel(
                    repo_id=repo_id, folder="", runtime=runtime
                )
                row.folder, row.runtime, row.size_bytes = str(self.folder_for(repo_id)), runtime, size_bytes
                row.gated, row.downloaded_by, row.downloaded_at = gated, downloaded_by, utcnow()
                db.add(row)
                db.commit()
                return _public(row)

        return once_more_on_conflict(write)

    def delete(self, repo_id: str) -> None:
        """Forget the model and delete its folder (the caller unloads it first)."""
        folder = self.folder_for(repo_id)
        if self._root.resolve() not in folder.resolve().parents:
            raise LocalModelError(f"{repo_id} is not in the models folder, so it was not deleted.")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self._root / ".cache" / f"models--{repo_id.replace('/', '--')}", ignore_errors=True)
        if folder.parent.is_dir() and not any(folder.parent.iterdir()):
            folder.parent.rmdir()  # the owner's folder, once its last model is gone
        with session(self._engine) as db:
            db.exec(delete(LocalModel).where(col(LocalModel.repo_id) == repo_id))
            db.exec(delete(LocalModelUser).where(col(LocalModelUser.repo_id) == repo_id))
            db.commit()

    def disk_used(self) -> int:
        """Bytes on disk in the models folder: every model, and any download in progress."""
        return folder_size(self._root)

    def add_user(self, user_id: int, repo_id: str) -> None:
        """Put the model on the user's list (they started or joined its download)."""

        def write() -> None:
            with session(self._engine) as db:
                found = db.exec(
                    select(LocalModelUser).where(LocalModelUser.user_id == user_id, LocalModelUser.repo_id == repo_id)
                ).first()
                if found is None:
                    db.add(LocalModelUser(user_id=user_id, repo_id=repo_id))
                    db.commit()

        once_more_on_conflict(write)

    def remove_user(self, user_id: int, repo_id: str) -> int:
        """Take the model off the user's list; how many users still have it."""
        with session(self._engine) as db:
            db.exec(
                delete(LocalModelUser).where(
                    col(LocalModelUser.user_id) == user_id, col(LocalModelUser.repo_id) == repo_id
                )
            )
            db.commit()
            left = db.exec(select(func.count()).where(col(LocalModelUser.repo_id) == repo_id)).one()
        return int(left)

    def user_repos(self, user_id: int) -> tuple[str, ...]:
        """The repos on the user's list, downloaded or not yet."""
        with session(self._engine) as db:
            rows = db.exec(select(LocalModelUser.repo_id).where(LocalModelUser.user_id == user_id)).all()
        return tuple(rows)

    def for_user(self, user_id: int) -> builtins.list[LocalModelRecord]:
        """The user's downloaded models, newest first."""
        mine = set(self.user_repos(user_id))
        return [record for record in self.list() if record.repo_id in mine]
