"""Streamlit servers for the browser rows: the real app (`streamlit run asgi.py`, as tests/browser.py starts it)
and the floors (a one-line app, a bare multipage app), each started by the same command, its start time taken
just before, its health asked for every 20 ms."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.config import load_settings
from core.services import open_services
from tests.browser import server_environ, stop, wait_healthy
from tests.fakes.loopback import free_port
from tests.fakes.providers import FakeProviders
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
APP = "asgi.py"
HELLO = "bench/hello.py"
BARE_PAGES = "bench/bare_pages/app.py"


@dataclass(frozen=True)
class Started:
    url: str
    process: subprocess.Popen
    started: float  # time.time() just before the process was started


def app_environ(folder: Path, fake: FakeProviders) -> dict[str, str]:
    """The app's settings as tests/browser.py's `running_server` gives them, and Alice made in its database."""
    environ = server_environ(folder, fake)
    services = open_services(load_settings(environ))
    services.users.add("alice", "Alice Example", "a@x.io", PASSWORD)
    services.engine.dispose()
    return environ


@contextmanager
def streamlit(app: str, folder: Path, environ: dict[str, str] | None = None) -> Iterator[Started]:
    """`streamlit run app` in `folder` (its log there), with `environ` (default: this process's)."""
    folder.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), folder / "server.log"
    command = [sys.executable, "-m", "streamlit", "run", app, "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1"]
    environ = environ or (os.environ | {"PYTHONPATH": str(ROOT)})
    with log.open("w") as output:
        started = time.time()
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process, poll=0.02)  # its 0.1 s default would be part of a cold start
            yield Started(url, process, started)
        finally:
            stop(process, log)
