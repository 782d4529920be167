"""The real server, started as `make run` starts it, with every outbound connection refused and recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from core.security.crypto import generate_master_key
from tests.fakes.loopback import free_port
from tests.helpers import healthy, make_run, run_healthcheck

ROOT = Path(__file__).resolve().parent.parent
# The server process imports this before anything else (it is first on PYTHONPATH). An audit hook sees every
# name lookup and connection, whichever library makes it; anything not for this machine is refused and recorded.
# `make run` listens on 0.0.0.0, which is also what makes Streamlit look up the machine's addresses, so the server
# is started with that address; its listening socket alone is moved to loopback, so the test serves nobody else.
SITECUSTOMIZE = '''
import ipaddress, os, socket, sys, threading, time

RECORD = os.environ["OFFLINE_TEST_RECORD"]
EVENTS = {"socket.getaddrinfo", "socket.connect", "socket.sendto", "socket.sendmsg"}
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local(host):
    if host is None:
        return True
    host = (host.decode() if isinstance(host, bytes) else str(host)).strip("[]").lower()
    if host in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _destination(event, args):
    if event == "socket.getaddrinfo":
        return args[0]
    sock, address = args[0], args[1]
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return None
    return address[0]


def _refuse_outbound(event, args):
    if event not in EVENTS:
        return
    host = _destination(event, args)
    if _is_local(host):
        return
    with open(RECORD, "a") as record:
        record.write(f"{event} {host}\\n")
    raise socket.gaierror(socket.EAI_NONAME, f"offline test: {event} to {host} refused")


sys.addaudithook(_refuse_outbound)

_bind = socket.socket.bind
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def _bind_loopback(self, address):
    if isinstance(address, tuple) and address[0] in LOOPBACK:
        address = (LOOPBACK[address[0]], *address[1:])
    return _bind(self, address)


socket.socket.bind = _bind_loopback


def _report_litellm_loaded():
    """Once the app has loaded core.providers.client, wait for its litellm import (the app starts it), say how."""
    while not hasattr(sys.modules.get("core.providers.client"), "litellm"):
        time.sleep(0.1)
    try:
        sys.modules["core.providers.client"].litellm()
        outcome = "imported"
    except BaseException as error:
        outcome = f"failed: {error!r}"
    with open(os.environ["OFFLINE_TEST_LITELLM_LOADED"], "w") as done:
        done.write(outcome)


threading.Thread(target=_report_litellm_loaded, name="offline-test-probe", daemon=True).start()
'''


@dataclass(frozen=True)
class OfflineServer:
    url: str
    port: int
    process: subprocess.Popen
    record: Path
    litellm_outcome: Path
    log: Path

    def outbound(self) -> list[str]:
        """What the server tried to reach beyond this machine, in order."""
        return self.record.read_text().splitlines() if self.record.exists() else []


def wait_for(check: Callable[[], bool], process: subprocess.Popen, what: str, seconds: float = 120) -> None:
    """Poll until check() is true; fail at once if the server exits."""
    deadline = time.monotonic() + seconds
    while not check():
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode} before {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


def server_environment(tmp_path: Path, site: Path) -> dict[str, str]:
    """A bare environment: no opt-out variable or ~/.streamlit of the developer's can make the test pass."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "APP_DATA_DIR": str(tmp_path / "data"),
        "APP_SECRETS_FILE": str(tmp_path / "none.toml"),
        "APP_MASTER_KEY": generate_master_key(),
        "OFFLINE_TEST_RECORD": str(tmp_path / "outbound.txt"),
        "OFFLINE_TEST_LITELLM_LOADED": str(tmp_path / "litellm.txt"),
    }


@pytest.fixture
def offline_server(tmp_path: Path) -> Iterator[OfflineServer]:
    """The server as `make run` starts it (its script and address), outbound traffic refused, its own data."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    environ = server_environment(tmp_path, site)
    port = free_port()
    log_path = tmp_path / "streamlit.log"
    script, address = make_run()  # the wildcard address; sitecustomize binds its socket to loopback
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.address", address],
            cwd=ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = OfflineServer(
            url=f"http://127.0.0.1:{port}",
            port=port,
            process=process,
            record=Path(environ["OFFLINE_TEST_RECORD"]),
            litellm_outcome=Path(environ["OFFLINE_TEST_LITELLM_LOADED"]),
            log=log_path,
        )
        try:
            wait_for(lambda: healthy(server.url), process, "the server answered /_stcore/health")
            yield server
        finally:
            process.terminate()
            process.wait(timeout=20)


def run_first_page(url: str) -> bytes:
    """Open a session over the websocket as a browser does, ask for the first script run, return what it drew."""
    drawn = b""
    with connect(websocket_url(url), subprotocols=["streamlit"], open_timeout=30) as websocket:
        websocket.send(BackMsg(rerun_script=ClientState(query_string="", page_script_hash="")).SerializeToString())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            raw = websocket.recv(timeout=max(deadline - time.monotonic(), 0.1))
            drawn += raw
            message = ForwardMsg()
            message.ParseFromString(raw)
            if message.WhichOneof("type") == "script_finished":
                assert message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
                return drawn
    raise TimeoutError("the first script run did not finish")


def websocket_url(url: str) -> str:
    return url.replace("http://", "ws://", 1) + "/_stcore/stream"


def test_start_and_first_page_make_no_outbound_call(offline_server: OfflineServer) -> None:
    with urllib.request.urlopen(offline_server.url, timeout=10) as response:  # noqa: S310
        assert response.status == 200 and b"<html" in response.read().lower()
    assert b"Sign in" in run_first_page(offline_server.url)
    # What the container image's HEALTHCHECK runs (tests/test_containers.py checks it fails on a dead server).
    check = run_healthcheck(offline_server.port)
    assert check.returncode == 0, check.stderr
    # Streamlit's own check of a foreign origin would look up this machine's external address.
    with pytest.raises(InvalidStatus):
        connect(websocket_url(offline_server.url), subprotocols=["streamlit"], origin="http://evil.example")
    # The sign-in page starts litellm's import in the background: wait for it, it must stay offline too.
    wait_for(offline_server.litellm_outcome.exists, offline_server.process, "the app's litellm import")
    outbound = offline_server.outbound()
    assert not outbound, f"refused outbound calls: {outbound}\nserver log:\n{offline_server.log.read_text()}"
    assert offline_server.litellm_outcome.read_text() == "imported"
