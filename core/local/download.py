"""Downloads of local models: one job per repo, whoever started it, each running in a child process
(core/local/download_worker.py) so that cancel can end it at once on every download path.

Progress is read from the bytes on disk (finished files and the `*.incomplete` files huggingface_hub writes under
`<folder>/.cache/huggingface/download/`) against the plan's total, by a monitor thread, into a plain thread-safe
record that front ends poll. A finished download is recorded in the library; finished files of a failed or
cancelled try are kept and skipped by the next one.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Literal

from core.config import PROJECT_ROOT, Settings
from core.local.folder_lock import in_use
from core.local.library import LocalLibrary
from core.local.plan import DownloadPlan
from core.providers.registry import server_key_variables

log = logging.getLogger(__name__)
State = Literal["running", "done", "failed", "cancelled"]
POLL_SECONDS = 0.2
SMOOTHING = 0.3  # weight of the newest speed sample
CANCEL_WAIT_SECONDS = 1.0
PARTIAL_GLOB = ".cache/huggingface/download/**/*.incomplete"
UNEXPECTED = "The download could not be completed because of an error on this server. Start it again."
STOPPED = (
    "The download stopped before it finished (its process ended). Start it again: the files that finished are kept."
)


@dataclass(frozen=True)
class Progress:
    """A download as front ends draw it: bytes against the plan's total, speed (bytes/s, smoothed), time left."""

    done_bytes: int
    total_bytes: int
    speed: float = 0.0
    eta_seconds: float | None = None
    state: State = "running"
    message: str = ""


def partial_files(folder: Path) -> list[Path]:
    """The `*.incomplete` files of downloads into `folder` (a running, stopped or killed one's)."""
    return [path for path in folder.glob(PARTIAL_GLOB) if path.is_file()]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # moved into place (or deleted) between the listing and the look
        return 0


def bytes_on_disk(plan: DownloadPlan) -> int:
    """How much of the plan is on disk: its finished files, and the parts of those being written."""
    done = sum(min(size, _size(plan.folder / name)) for name, size in plan.files)
    return min(plan.total_bytes, done + sum(_size(path) for path in partial_files(plan.folder)))


def clean_orphans(models_folder: Path) -> int:
    """Delete `*.incomplete` files left by downloads that were killed (call at start); a download another process
    is running (a replica sharing the models folder) keeps its files."""
    orphans = [
        path
        for path in models_folder.glob(f"*/*/{PARTIAL_GLOB}")
        if path.is_file() and not in_use(models_folder.joinpath(*path.relative_to(models_folder).parts[:2]))
    ]
    for path in orphans:
        path.unlink(missing_ok=True)
    return len(orphans)


def _child_environment() -> dict[str, str]:
    """The server's environment without any provider key; the token goes over stdin."""
    hidden = set(server_key_variables())
    environment = {name: value for name, value in os.environ.items() if name not in hidden}
    return environment | {"HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


def spawn_worker() -> subprocess.Popen[bytes]:
    """A download process, importing huggingface_hub while it waits on stdin for its request."""
    return subprocess.Popen(
        [sys.executable, "-m", "core.local.download_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT,
        env=_child_environment(),
    )


class DownloadJob:
    """One repo's download: its plan, who asked for it, and its progress (read with `progress()`)."""

    def __init__(self, plan: DownloadPlan, user_id: int) -> None:
        self.plan = plan
        self.repo_id = plan.repo_id
        self.user_ids = [user_id]
        self._lock = threading.Lock()
        self._progress = Progress(bytes_on_disk(plan), plan.total_bytes)
        self._process: subprocess.Popen[bytes] | None = None
        self._stdin: IO[bytes] | None = None
        self.finished = threading.Event()

    def progress(self) -> Progress:
        with self._lock:
            return self._progress

    @property
    def pid(self) -> int | None:
        """The child process's id while it is started."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def _set(self, **changes: object) -> bool:
        """Change the progress while the job runs; False once it has ended (cancel won the race)."""
        with self._lock:
            if self._progress.state != "running":
                return False
            self._progress = replace(self._progress, **changes)  # type: ignore[arg-type]
            return True

    def launch(self, token: str | None, settings: Settings, process: subprocess.Popen[bytes] | None = None) -> None:
        """Hand the request (the token included) over stdin to `process`, a child from `spawn_worker`, or a new one."""
        request = {
            "repo_id": self.repo_id,
            "folder": str(self.plan.folder),
            "names": [name for name, _ in self.plan.files],
            "endpoint": settings.hf_endpoint,
            "token": token,
        }
        self.plan.folder.mkdir(parents=True, exist_ok=True)
        self._process = process or spawn_worker()
        assert self._process.stdin is not None
        self._stdin = self._process.stdin
        self._stdin.write(json.dumps(request).encode() + b"\n")
        self._stdin.flush()  # kept open: the child stops when it closes

    def kill(self) -> None:
        """End the child process (at once) and delete what it was writing."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            try:
                self._process.wait(CANCEL_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("the download process of %s did not end at once", self.repo_id)
        for path in partial_files(self.plan.folder):
            path.unlink(missing_ok=True)

    def cancel(self) -> None:
        if self._set(state="cancelled", message="Download cancelled. The files that finished are kept.", speed=0.0):
            self.kill()
        self.finished.set()

    def _sample(self, last: tuple[float, int]) -> tuple[float, int]:
        """Measure the bytes on disk and update bytes, speed and time left; the new (time, bytes)."""
        # Never backwards: a file moved into place between two looks at the folder can be missed once.
        now, done = time.monotonic(), max(last[1], bytes_on_disk(self.plan))
        elapsed = now - last[0]
        instant = (done - last[1]) / elapsed if elapsed > 0 else 0.0
        current = self.progress().speed
        speed = instant if current == 0.0 else SMOOTHING * instant + (1 - SMOOTHING) * current
        eta = (self.plan.total_bytes - done) / speed if speed > 0 else None
        self._set(done_bytes=done, speed=max(0.0, speed), eta_seconds=eta)
        return now, done

    def _failure(self, process: subprocess.Popen[bytes]) -> str:
        """The worded message the child wrote, or what to do when it was ended without one."""
        assert process.stdout is not None
        for line in process.stdout.read().decode(errors="replace").splitlines():
            try:
                return str(json.loads(line)["message"])
            except (ValueError, KeyError, TypeError):
                continue
        return STOPPED

    def monitor(self, library: LocalLibrary) -> None:
        """Poll the child and the disk until the download ends; record a finished one in the library."""
        try:
            self._finish(library, self._watch())
        except Exception:  # the job must end, whatever broke: a page would otherwise wait on it forever
            log.exception("the download of %s could not be completed", self.repo_id)
            self._set(state="failed", message=UNEXPECTED, speed=0.0, eta_seconds=None)
        finally:
            if self._stdin is not None:
                self._stdin.close()
            self.finished.set()

    def _watch(self) -> int:
        """Sample the disk until the child ends (or the job is cancelled); the child's exit code."""
        assert self._process is not None
        last = (time.monotonic(), self.progress().done_bytes)
        while not self.finished.is_set():
            try:
                return self._process.wait(POLL_SECONDS)  # returns the moment the child ends, not a poll later
            except subprocess.TimeoutExpired:
                last = self._sample(last)
        return self._process.wait()

    def _finish(self, library: LocalLibrary, code: int) -> None:
        assert self._process is not None
        if self.finished.is_set():  # cancelled
            return
        if code == 0:
            library.record(self.repo_id, self.plan.runtime, self.plan.total_bytes, self.user_ids[0], self.plan.gated)
            self._set(state="done", done_bytes=self.plan.total_bytes, speed=0.0, eta_seconds=0.0)
        else:
            self._set(state="failed", message=self._failure(self._process), speed=0.0, eta_seconds=None)


def _end(process: subprocess.Popen[bytes]) -> None:
    """Close an unused download process's stdin (it exits on that), and reap it."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(CANCEL_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Downloads:
    """Every download on this server, one per repo whoever started it; shared by all sessions of the process."""

    def __init__(self, settings: Settings, library: LocalLibrary) -> None:
        self._settings, self._library = settings, library
        self._jobs: dict[str, DownloadJob] = {}
        self._spare: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Start a download process ahead of its plan: its start-up (about 0.4 s of imports) overlaps the checks
        with the Hub, and `start` hands it the request."""
        with self._lock:
            if self._spare is None or self._spare.poll() is not None:
                self._spare = spawn_worker()

    def discard_prepared(self) -> None:
        """End the process `prepare` started, when no download follows (the plan was refused)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            _end(spare)

    def start(self, user_id: int, plan: DownloadPlan, token: str | None) -> DownloadJob:
        """Start the plan's download, or join the one already running for the repo (whoever started it)."""
        with self._lock:
            job = self._jobs.get(plan.repo_id)
            spare, self._spare = self._spare, None
            if job is not None and job.running:
                if user_id not in job.user_ids:
                    job.user_ids.append(user_id)
            else:
                for path in partial_files(plan.folder):  # a killed try's parts: they restart from byte 0 anyway
                    path.unlink(missing_ok=True)
                job = DownloadJob(plan, user_id)
                job.launch(token, self._settings, spare if spare is not None and spare.poll() is None else None)
                self._jobs[plan.repo_id] = job
                spare = None
                threading.Thread(target=job.monitor, args=(self._library,), name="download", daemon=True).start()
        if spare is not None:  # joined a running download: the prepared process is not needed
            _end(spare)
        return job

    def job(self, repo_id: str) -> DownloadJob | None:
        with self._lock:
            return self._jobs.get(repo_id)

    def jobs(self) -> list[DownloadJob]:
        """Running downloads, and ended ones until dismissed (`cancel`) or started again."""
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, repo_id: str) -> None:
        """Stop the repo's download within a second (its partial files deleted); an ended one is dismissed."""
        with self._lock:
            job = self._jobs.get(repo_id)
            if job is not None and not job.running:
                del self._jobs[repo_id]
        if job is not None and job.running:
            job.cancel()
