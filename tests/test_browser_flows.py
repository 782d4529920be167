"""The guide's flows as a new user walks them in a real browser, each on a fresh server: a key for every provider
(a mistyped one explained first), their models on Models without a reload, a reply from another provider than
OpenAI; a gated model refused with the guide's words until the account is granted access; a personal access token
used by the official openai client against `make api`'s server. Screenshots of each step go to test-artifacts/."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from core.local.curated import SUGGESTED
from tests.browser import (
    CHROMIUM_MISSING,
    CHROMIUM_PRESENT,
    ROOT,
    SIGNED_IN,
    Server,
    new_page,
    running_server,
    settle,
    shoot,
    sign_in,
    type_into,
    wait_for_cookie,
)
from tests.fakes.hub import FakeHub
from tests.fakes.loopback import free_port
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders
from tests.fakes.tiny_models import repo_files, tiny_model
from tests.helpers import wait_for

pytestmark = pytest.mark.skipif(not CHROMIUM_PRESENT, reason=CHROMIUM_MISSING)

GATED_MESSAGE = (
    "This model is gated on Hugging Face. Please request access and accept the license terms on the model page, "
    "then try again."
)
LLAMA_3 = next(model for model in SUGGESTED if model.repo_id == "meta-llama/Meta-Llama-3-8B-Instruct")
READER, GRANTED = "hf_test_reader_token", "hf_test_granted_token"  # the fake Hub's users "reader" and "granted"


def card(page, label: str):
    """The Profile card whose title starts with `label` (its title also says the key's state)."""
    return page.get_by_test_id("stExpander").filter(has=page.get_by_text(re.compile(rf"^{re.escape(label)} · ")))


def save_in_card(page, label: str, fields: dict[str, str]) -> None:
    """Open a provider's card (if closed), type its fields, press Save, wait for the run to end."""
    box = card(page, label)
    if box.get_by_role("button", name="Save", exact=True).count() == 0:
        page.get_by_text(f"{label} · not set", exact=True).click()
        settle(page)  # opening a card is a script run: a field typed into while it redraws can lose its value
    for field, value in fields.items():
        type_into(box.get_by_label(field, exact=True).first, value)
    box.get_by_role("button", name="Save", exact=True).click()
    settle(page)


def test_a_key_for_every_provider_their_models_and_a_reply(tmp_path: Path, fake: FakeProviders, browser) -> None:
    from playwright.sync_api import expect

    fake.reset()
    with running_server(tmp_path, fake, admin_cli=False) as server:
        page = new_page(browser)
        page.goto(server.url)
        sign_in(page)
        expect(page.get_by_text(SIGNED_IN)).to_be_visible()
        settle(page)

        save_in_card(page, "OpenAI", {"API key": "sk-typo-in-the-key-1234"})
        refused = card(page, "OpenAI").get_by_test_id("stAlertContentError")
        expect(refused).to_contain_text("OpenAI rejected this key")
        expect(refused).to_contain_text("Nothing was saved")
        expect(page.get_by_text("OpenAI · not set", exact=True)).to_be_visible()
        shoot(page, "flows-rejected-key")

        keys = {  # label: provider ID, the fields its card asks for
            "OpenAI": ("openai", {"API key": DEFAULT_KEYS["openai"]}),
            "Anthropic": ("anthropic", {"API key": DEFAULT_KEYS["anthropic"]}),
            "Google AI (Gemini)": ("gemini", {"API key": DEFAULT_KEYS["gemini"]}),
            "xAI": ("xai", {"API key": DEFAULT_KEYS["xai"]}),
            "Azure OpenAI": ("azure", {"Endpoint URL": fake.url, "API key": DEFAULT_KEYS["azure"]}),
        }
        for label, (_, fields) in keys.items():
            save_in_card(page, label, fields)
            expect(page.get_by_text(f"{label} · valid …{fields['API key'][-4:]}", exact=True)).to_be_visible()
        body = page.content()
        assert not [key for key in DEFAULT_KEYS.values() if key in body], "no saved key is on the page"
        shoot(page, "flows-five-keys")

        page.get_by_role("link", name="Models", exact=True).click()  # no reload: the listings are asked for now
        settle(page)
        for label, (provider, _) in keys.items():
            expect(page.get_by_role("heading", name=label, exact=True)).to_be_visible()
            expect(page.get_by_text(f"Listed by {label}", exact=False)).to_be_visible()
            # Streamlit writes a widget's key into its container's class, ":" as "-"
            table = page.locator(f".st-key-models_table-{provider} [data-testid='stDataFrame']")
            expect(table).to_be_visible()
        shoot(page, "flows-models")

        assert wait_for_cookie(page) is not None
        page.goto(f"{server.url}/?model=anthropic%2Fclaude-3-5-haiku-latest")  # Models' "Chat with" address
        expect(page.get_by_placeholder("Message", exact=True)).to_be_visible()
        settle(page)
        page.get_by_placeholder("Message", exact=True).fill("Hello, Claude")
        page.get_by_placeholder("Message", exact=True).press("Enter")
        reply = fake.reply_text("anthropic", "claude-3-5-haiku-latest")
        expect(page.get_by_test_id("stChatMessage").filter(has_text=reply)).to_have_count(1)
        settle(page)
        shoot(page, "flows-anthropic-reply")
        assert page.outbound == [], "nothing outside this machine was asked for"
        chats = [(r.provider, r.key, r.model) for r in fake.requests if r.method == "POST"]
        assert ("anthropic", DEFAULT_KEYS["anthropic"], "claude-3-5-haiku-latest") in chats


def test_a_gated_model_is_refused_in_the_guides_words_until_access_is_granted(
    tmp_path: Path, fake: FakeProviders, hub: FakeHub, browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect

    fake.reset()
    hub.reset()
    hub.add_repo(LLAMA_3.repo_id, repo_files(tiny_model("transformers")), gated=True, granted=frozenset({"granted"}))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    with running_server(tmp_path, fake, admin_cli=False) as server:
        page = new_page(browser)
        page.goto(f"{server.url}/profile")
        sign_in(page)
        expect(page.get_by_text(SIGNED_IN)).to_be_visible()
        settle(page)
        saved_then_checked(page, READER, LLAMA_3.repo_id)
        expect(page.get_by_text(GATED_MESSAGE, exact=True)).to_be_visible()
        expect(page.get_by_role("link", name=f"Open {LLAMA_3.repo_id} on Hugging Face")).to_be_visible()
        expect(page.locator(".st-key-local_download")).to_have_count(0)  # no Download button for a refused model
        shoot(page, "flows-gated", at=page.get_by_text(GATED_MESSAGE, exact=True))

        # The guide's steps: access granted on the Hub, the token of that account saved, back to Models.
        page.get_by_role("link", name="Profile", exact=True).click()
        settle(page)
        page.get_by_text(f"Hugging Face · valid …{READER[-4:]}", exact=True).click()  # a saved key's card is closed
        settle(page)
        card(page, "Hugging Face").get_by_role("button", name="Replace", exact=True).click()
        settle(page)
        saved_then_checked(page, GRANTED, LLAMA_3.repo_id)
        expect(page.get_by_text("You may download")).to_be_visible()
        expect(page.locator(".st-key-local_download").get_by_role("button")).to_be_visible()
        expect(page.get_by_text(GATED_MESSAGE, exact=True)).to_have_count(0)
        shoot(page, "flows-gated-granted", at=page.locator(".st-key-local_download"))


def saved_then_checked(page, token: str, repo_id: str) -> None:
    """Profile's Hugging Face card: save `token` (tested as valid), then Models → Local models: check `repo_id`."""
    from playwright.sync_api import expect

    save_in_card(page, "Hugging Face", {"Read token": token})
    expect(page.get_by_text(f"Hugging Face · valid …{token[-4:]}", exact=True)).to_be_visible()
    page.get_by_role("link", name="Models", exact=True).click()
    settle(page)
    check(page, repo_id)


def check(page, repo_id: str) -> None:
    """Models → Local models: pick `repo_id` in the Model box and press Check."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    expect(page.get_by_text("Local models", exact=True).first).to_be_visible()
    box = page.get_by_test_id("stSelectbox").filter(has_text="Model")
    option = page.get_by_role("option", name=repo_id, exact=True)
    for _ in range(3):  # a click that lands while the page is still redrawing leaves the list closed
        box.click()
        try:
            option.wait_for(timeout=3000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.click()
    page.get_by_role("button", name="Check", exact=True).click()
    settle(page)


def test_a_token_made_in_the_browser_works_with_the_openai_client(tmp_path: Path, fake: FakeProviders, browser) -> None:
    """Profile → API tokens in the browser, then the official openai client against the API server `make api`
    starts (uvicorn, the same database): the model list and a streamed reply with the user's own key."""
    from playwright.sync_api import expect

    fake.reset()
    with running_server(tmp_path, fake, admin_cli=False) as server:
        services = server.services()
        alice = services.users.get("alice")
        assert alice is not None
        services.credentials.save(alice.id, "openai", {"api_key": DEFAULT_KEYS["openai"]})
        page = new_page(browser)
        page.goto(f"{server.url}/profile")
        sign_in(page)
        expect(page.get_by_text(SIGNED_IN)).to_be_visible()
        settle(page)
        type_into(page.get_by_label("Name", exact=True), "my notebook")
        page.get_by_role("button", name="Create token").click()
        dialog = page.get_by_role("dialog")
        token = dialog.locator("pre code").inner_text().strip()
        shoot(page, "flows-token")
        dialog.get_by_role("button", name="I have copied it").click()
        expect(page.get_by_role("dialog")).to_have_count(0)

        with api_server(server) as base_url:
            client = openai.OpenAI(base_url=base_url, api_key=token, max_retries=0, timeout=30)
            assert "openai/gpt-4o-mini" in [model.id for model in client.models.list()]
            stream = client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
            )
            text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
            assert text == fake.reply_text("openai", "gpt-4o-mini")
            with pytest.raises(openai.AuthenticationError):
                openai.OpenAI(base_url=base_url, api_key=token[:-1] + "x", max_retries=0).models.list()


@contextmanager
def api_server(server: Server) -> Iterator[str]:
    """`uvicorn api.main:app` (as `make api` runs it, one worker) on the server's database and keys: its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=server.environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for(lambda: answers(base_url + "/models") or process.poll() is not None, timeout=90)
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def answers(url: str) -> bool:
    """The API is up: it refuses a request without a token."""
    try:
        return httpx.get(url, timeout=5).status_code == 401
    except httpx.TransportError:
        return False
