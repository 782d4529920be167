"""What the browser tests share: the real server (`streamlit run asgi.py`, as `make run` starts it) with its own
data folder, Debian's headless Chromium driven by Playwright, and the steps a person takes (sign in, type, wait for
a script run to settle). The fixtures are registered for every test file by tests/conftest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import load_settings
from core.providers.registry import base_url_variables, server_key_variables
from core.security.crypto import generate_master_key
from core.services import Services, open_services
from tests.fakes.loopback import free_port
from tests.fakes.providers import FakeProviders
from tests.helpers import PASSWORD
from ui.web import COOKIE_NAME

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OPENAI_KEY = "sk-test-openai-valid"
SIGNED_IN = "Signed in as"
STREAMLIT_RUN = (sys.executable, "-m", "streamlit", "run", "asgi.py")

# Each browser test file is skipped without the browser, except in CI, where a missing one must fail the run.
CHROMIUM_PRESENT = Path(CHROMIUM).exists() or bool(os.environ.get("CI"))
CHROMIUM_MISSING = "Debian's chromium is not installed (make test installs it)"


@dataclass
class Server:
    url: str
    environ: dict[str, str]
    log: Path
    process: subprocess.Popen

    def services(self) -> Services:
        """The server's own database and keys, opened from this process (as a second app process would)."""
        return open_services(load_settings(self.environ))


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60, poll: float = 0.1) -> None:
    """Until the server answers its health check, asking every `poll` seconds (the benchmark's cold start: 0.02)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(poll)
    raise TimeoutError("the server did not become healthy")


def server_environ(folder: Path, fake: FakeProviders) -> dict[str, str]:
    """A server's settings: its own data folder and master key, no provider keys, providers routed to `fake`."""
    environ = {key: value for key, value in os.environ.items() if key not in server_key_variables()}
    return environ | {
        "APP_DATA_DIR": str(folder / "data"),
        "APP_SECRETS_FILE": str(folder / "none.toml"),
        "APP_MASTER_KEY": generate_master_key(),
        "APP_ALLOW_ENDPOINTS": fake.url,
        "APP_MAX_RETRIES": "0",
        **{variable: fake.base(provider) for provider, variable in base_url_variables().items()},
    }


@contextmanager
def running_server(folder: Path, fake: FakeProviders, admin_cli: bool = True) -> Iterator[Server]:
    """`streamlit run asgi.py` with its own data folder and one user (made with the admin command as the README
    says, or with `admin_cli=False` straight in the database, which is quicker), providers routed to the fake."""
    folder.mkdir(parents=True, exist_ok=True)
    environ = server_environ(folder, fake)
    if admin_cli:
        command = [sys.executable, "-m", "core.cli", "add-user", "alice", "--name", "Alice Example"]
        command += ["--email", "a@x.io"]
        subprocess.run(command, input=PASSWORD, text=True, env=environ, cwd=ROOT, check=True, capture_output=True)
    else:
        open_services(load_settings(environ)).users.add("alice", "Alice Example", "a@x.io", PASSWORD)
    port = free_port()
    log = folder / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*STREAMLIT_RUN, "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process)
            yield Server(url, environ, log, process)
        finally:
            stop(process, log)


def stop(process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """SIGTERM, as a container stop sends; a server that does not exit in time is killed and the test fails with
    its log (it stops in well under a second here; once, on a loaded CI machine, it took over 20 s)."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        tail = log.read_text()[-3000:]
        raise AssertionError(f"the server did not stop within {seconds} s of SIGTERM:\n{tail}") from None


@pytest.fixture
def server(tmp_path: Path, fake: FakeProviders) -> Iterator[Server]:
    """A fresh server and data folder; its user is made straight in the database (the admin command costs about 2 s
    of CPU, and the main flow's test makes its user with it, as the README says)."""
    fake.reset()
    with running_server(tmp_path, fake, admin_cli=False) as started:
        yield started


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory, fake: FakeProviders) -> Iterator[Server]:
    """One server for the tests that only sign in and look (each in its own browser context)."""
    fake.reset()
    with running_server(tmp_path_factory.mktemp("shared"), fake, admin_cli=False) as started:
        yield started


@contextmanager
def chromium():
    """Debian's Chromium, headless, through Playwright (for the fixture below and the benchmark)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (a launch costs about a second); each test opens its own contexts."""
    with chromium() as launched:
        yield launched


def new_page(browser, cookies: list[dict] | None = None):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    page.set_default_timeout(30_000)
    outbound: list[str] = []
    page.on("request", lambda request: None if "//127.0.0.1:" in request.url else outbound.append(request.url))
    page.outbound = outbound
    return page


def settle(page) -> None:
    """Wait until the script run an action started has finished drawing.

    The browser's own record of the run is the test: its status widget shows only once a run has taken a while, so
    a slow machine could otherwise see a run still going as settled (and a click then sends its widgets' values
    before the browser has dropped those the run replaced)."""
    from playwright.sync_api import expect

    page.wait_for_timeout(300)
    expect(page.locator("[data-testid='stApp'][data-test-script-state='notRunning']")).to_have_count(1)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()


def type_into(field, text: str) -> None:
    """Fill a text input and leave it, as a person does: Streamlit commits a typed value on blur."""
    field.fill(text)
    field.press("Tab")


def sign_in(page, password: str = PASSWORD) -> None:
    """Fill the form the moment it appears and submit, as a password manager does: one try, no waiting."""
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def session_cookie(page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == COOKIE_NAME), None)


def wait_for_cookie(page, present: bool = True) -> dict | None:
    """The session cookie once the page's request for it (or for clearing it) has been answered."""
    deadline = time.monotonic() + 15
    while (session_cookie(page) is not None) != present and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return session_cookie(page)


def shoot(page, name: str, at=None) -> None:
    """A screenshot into test-artifacts/; `at`, a locator, is scrolled into view first (Streamlit scrolls its own
    main block, so a full-page shot shows only the window)."""
    ARTIFACTS.mkdir(exist_ok=True)
    if at is not None:
        at.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_chat(server: Server, browser):
    """Alice, an OpenAI key saved for her, signed in on Chat with its message box ready: (page, services, alice)."""
    from playwright.sync_api import expect

    services = server.services()
    alice = services.users.get("alice")
    assert alice is not None
    services.credentials.save(alice.id, "openai", {"api_key": OPENAI_KEY})
    page = new_page(browser)
    page.goto(f"{server.url}/chat")
    sign_in(page)
    expect(page.get_by_placeholder("Message", exact=True)).to_be_visible()
    settle(page)
    return page, services, alice
