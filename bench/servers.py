"""Streamlit servers for the browser rows: the real app (`streamlit run asgi.py`, as tests/browser.py starts it)
and the floors (a one-line app, a bare multipage app), each started by the same command, its start time taken
just before, its health asked for every 20 ms."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.config import load_settings
from core.providers.registry import base_url_variables, server_key_variables
from core.security.crypto import generate_master_key
from core.services import open_services
from tests.browser import stop
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
    environ = {key: value for key, value in os.environ.items() if key not in server_key_variables()}
    environ |= {
        "APP_DATA_DIR": str(folder / "data"),
        "APP_SECRETS_FILE": str(folder / "none.toml"),
        "APP_MASTER_KEY": generate_master_key(),
        "APP_ALLOW_ENDPOINTS": fake.url,
        "APP_MAX_RETRIES": "0",
        **{variable: fake.base(provider) for provider, variable in base_url_variables().items()},
    }
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
            fast_healthy(url, process)
            yield Started(url, process, started)
        finally:
            stop(process, log)


def fast_healthy(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    """tests/browser.py's `wait_healthy`, asking every 20 ms (its 100 ms would be part of a cold start)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError("the server did not become healthy")


def rss_mib(pid: int) -> float:
    """The resident memory of process `pid`, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
