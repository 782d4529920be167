"""The data folder and the private files in it: created readable by this user only."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def ensure_private_dir(path: Path) -> None:
    """Create the data folder readable by this user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """Read a secret file, or create it once with mode 0600 (safe against two processes racing)."""
    ensure_private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(make() + "\n")
    return path.read_text().strip()
