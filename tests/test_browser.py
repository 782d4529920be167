"""The main flow in a real browser: Debian's headless Chromium, driven by Playwright, against `streamlit run`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import BASE_URL_VARIABLES, SERVER_KEY_VARIABLES
from core.crypto import generate_master_key
from tests.conftest import PASSWORD
from tests.fakes.providers import FakeProviders

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

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make test installs it)",
)


def settle(page) -> None:
    """Wait until the script run an action started has finished drawing (on the sign-in page, also the
    rerun that streamlit-authenticator's cookie component causes after loading)."""
    from playwright.sync_api import expect

    page.wait_for_timeout(2500)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()


def type_into(field, text: str) -> None:
    """Fill a text input and leave it, as a person does: Streamlit commits a typed value on blur."""
    field.fill(text)
    field.press("Tab")


def sign_in(page) -> None:
    """Fill and submit the form, up to three times: on a loaded machine a submit made while the
    sign-in page reruns itself (streamlit-authenticator's cookie component does once after loading)
    can be dropped, leaving the form empty. The closing note of issue 2 records this."""
    from playwright.sync_api import expect

    for _ in range(3):
        settle(page)
        type_into(page.get_by_label("User name"), "alice")
        type_into(page.get_by_label("Password", exact=True), PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        try:
            expect(page.get_by_text("Signed in as")).to_be_visible(timeout=15_000)
            return
        except AssertionError:
            continue
    expect(page.get_by_text("Signed in as")).to_be_visible()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture
def app_url(tmp_path: Path, fake: FakeProviders) -> Iterator[str]:
    """A real `streamlit run app.py` with its own data folder, one user, providers routed to the fake."""
    fake.reset()
    environ = {key: value for key, value in os.environ.items() if key not in SERVER_KEY_VARIABLES}
    environ |= {
        "APP_DATA_DIR": str(tmp_path / "data"),
        "APP_SECRETS_FILE": str(tmp_path / "none.toml"),
        "APP_MASTER_KEY": generate_master_key(),
        "APP_ALLOW_ENDPOINTS": fake.url,
        "APP_MAX_RETRIES": "0",
        **{variable: fake.base(provider) for provider, variable in BASE_URL_VARIABLES.items()},
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "core.admin",
            "add-user",
            "alice",
            "--name",
            "Alice Example",
            "--email",
            "a@example.com",
        ],
        input=PASSWORD,
        text=True,
        env=environ,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_sign_in_save_key_see_models_and_chat(app_url: str, fake: FakeProviders) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        page.goto(app_url)
        settle(page)

        sign_in(page)
        settle(page)

        page.get_by_role("link", name="Profile").click()
        settle(page)
        page.get_by_text("OpenAI · not set", exact=True).click()
        type_into(page.get_by_label("API key").first, OPENAI_KEY)
        page.get_by_role("button", name="Save").first.click()
        expect(page.get_by_text("…alid").first).to_be_visible()
        settle(page)
        expect(page.get_by_text("OpenAI · valid …alid")).to_be_visible()  # tested with the provider on save
        assert OPENAI_KEY not in page.content()
        page.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)

        page.get_by_role("link", name="Models").click()
        settle(page)
        expect(page.get_by_role("button", name="Refresh")).to_be_visible()
        models_table = page.locator("[data-testid='stDataFrame']").first
        expect(models_table).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "models.png"), full_page=True)

        page.get_by_role("link", name="Chat").click()
        settle(page)
        page.get_by_placeholder("Message").fill("Hello from the browser")
        page.get_by_placeholder("Message").press("Enter")
        reply = fake.reply_text("openai", "gpt-4o-mini")
        messages = page.get_by_test_id("stChatMessage")
        expect(messages.filter(has_text=reply)).to_have_count(1)
        expect(messages.filter(has_text="Hello from the browser")).to_have_count(1)
        settle(page)
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

        page.reload()
        expect(page.get_by_text("Signed in as")).to_be_visible()
        settle(page)
        # A new browser session: the saved chat is in the sidebar and reopens with both messages.
        page.get_by_test_id("stSidebar").get_by_role("button", name="Hello from the browser").click()
        settle(page)
        expect(page.get_by_test_id("stChatMessage").filter(has_text=reply)).to_have_count(1)

        page.get_by_role("button", name="Sign out").click()
        settle(page)  # while the script runs, the previous run's elements are still on the page
        expect(page.get_by_label("User name")).to_have_count(1)
        page.reload()
        settle(page)
        expect(page.get_by_label("User name")).to_have_count(1)
        expect(page.get_by_text("Signed in as")).to_have_count(0)
        browser.close()

    assert [(r.key, r.model) for r in fake.requests if r.method == "POST"] == [(OPENAI_KEY, "gpt-4o-mini")]
