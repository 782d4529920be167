"""A download in progress holds its model folder: an exclusive `flock` on a file in the folder's Hub metadata
directory, taken by the download process and released by the kernel however that process ends (SIGKILL too).

Replicas may share one models folder (one volume): a replica that starts must not delete the partial files of a
download another replica is running, and a second download of the same model waits for the first instead of
writing the same files at the same time.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = ".cache/huggingface/app-download.lock"


def _open(folder: Path) -> int:
    path = folder / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def hold(folder: Path) -> int:
    """Wait for, then hold, the folder's download lock for the rest of this process's life; its descriptor."""
    descriptor = _open(folder)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    return descriptor


def in_use(folder: Path) -> bool:
    """Whether a live process (on this machine, or any sharing the volume's locks) is downloading into `folder`."""
    if not (folder / LOCK_NAME).exists():
        return False
    descriptor = _open(folder)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # closing also releases the lock this probe may have taken
    return False
