"""What a download would bring, asked of the Hub with the user's own token before anything is downloaded.

In order: `auth_check` (the one request that tests access), the repo's file listing, the choice of files
(core/local/files.py), then `snapshot_download(dry_run=True)` for exactly what will come and its sizes, compared
with the free disk here (the library only warns). Every refusal is worded and links the model's page.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.config import Settings
from core.errors import ProviderErrorKind
from core.local.errors import GATED_ANONYMOUS, LocalModelError
from core.local.files import RepoFile, choose_files
from core.providers.hub import HubError, clean_repo_id, dry_run, list_files

# Room kept free beside a download, so the server does not fill its disk to the last byte.
DISK_MARGIN_BYTES = 512 * 1024**2
GIB = 1024**3


def free_disk(path: Path) -> int:
    """Free bytes on the disk that holds `path` (or its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


@dataclass(frozen=True)
class DownloadPlan:
    """Exactly what a download of `repo_id` brings into `folder`, checked with the user's token."""

    repo_id: str
    runtime: str  # "llama.cpp" (GGUF) or "transformers" (safetensors)
    files: tuple[RepoFile, ...]  # (name, size) of every file the model needs
    total_bytes: int
    to_download_bytes: int  # what is not in the folder yet (finished files of an earlier try are kept)
    quantizations: tuple[str, ...]  # a GGUF repo's choices; empty for safetensors
    quantization: str | None
    folder: Path
    page_url: str
    gated: bool = False
    note: str = ""  # e.g. which quantization was chosen when the default is missing


def _size(count: int) -> str:
    return f"{count / GIB:.1f} GB" if count >= GIB / 10 else f"{count / 1024**2:.0f} MB"


def _check_disk(plan: DownloadPlan, free: int) -> None:
    needed = plan.to_download_bytes + DISK_MARGIN_BYTES
    if free < needed:
        raise LocalModelError(
            f"Not enough disk space for {plan.repo_id}: it needs {_size(plan.to_download_bytes)} (plus "
            f"{_size(DISK_MARGIN_BYTES)} kept free) and {_size(free)} is free in {plan.folder.parent.parent}. "
            "Remove a local model or free some space, then try again.",
            plan.page_url,
        )


def _listing(repo_id: str, token: str | None, settings: Settings):
    """`list_files`, with the message for a gated model asked about without a token."""
    try:
        return list_files(repo_id, token, settings)
    except HubError as error:
        if token is None and error.kind is ProviderErrorKind.GATED:
            raise HubError(error.kind, GATED_ANONYMOUS, error.page_url) from None
        raise


def plan_download(
    repo_id: str,
    token: str | None,
    settings: Settings,
    quantization: str | None = None,
    free_bytes: Callable[[Path], int] = free_disk,
) -> DownloadPlan:
    """The plan for downloading `repo_id`; HubError or LocalModelError (each worded, with the page) when it cannot."""
    repo_id = clean_repo_id(repo_id)
    access, listing = _listing(repo_id, token, settings)
    try:
        selection = choose_files(repo_id, listing, quantization)
    except LocalModelError as error:
        raise LocalModelError(str(error), access.page_url) from None
    owner, name = repo_id.split("/", 1)
    folder = settings.models_folder / owner / name
    planned = dry_run(repo_id, token, settings, tuple(path for path, _ in selection.files), folder)
    plan = DownloadPlan(
        repo_id=repo_id,
        runtime=selection.runtime,
        files=tuple((item.name, item.size) for item in planned),
        total_bytes=sum(item.size for item in planned),
        to_download_bytes=sum(item.size for item in planned if item.will_download),
        quantizations=selection.quantizations,
        quantization=selection.quantization,
        folder=folder,
        page_url=access.page_url,
        gated=access.gated,
        note=selection.note,
    )
    _check_disk(plan, free_bytes(folder))
    return plan
