"""A sentinel key through every path that touches it must never show up anywhere but its own ciphertext.

Paths: save (with its key test), Test again, chat success, chat with a rejected key, a provider error whose message
quotes the key, the Hugging Face token check, and key rotation. Places: every log record at DEBUG (app, litellm,
SQLAlchemy, httpx, huggingface_hub), stdout/stderr, the AppTest element tree, session state, query parameters,
error messages and the raw database bytes (WAL included).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation
from core.config import load_settings
from core.credentials.rotation import rotate_keys
from core.security import redaction
from core.security.crypto import generate_master_key
from core.services import Services, open_services
from tests.fakes.hub import FakeHub
from tests.fakes.loopback import LoopbackFake, LoopbackHandler, LoopbackServer
from tests.fakes.providers import FakeProviders
from tests.helpers import card_input, open_page, signed_in, state_text, tree_text

# Shaped like real keys (so the pattern filter would catch them) and not (so only "secrets in use" can).
SENTINELS = {
    "openai": "sk-proj-LEAKCHECKopenai7f3a9c2e5b1d4f60a8e2SNT1",
    "azure": "0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c",
    "huggingface": "hf_LEAKCHECKhub7f3a9c2e5b1d4f60a8e2SNT3",
}
# What must never appear: each whole key, and its body without the last four characters a mask may show.
FORBIDDEN = [text for key in SENTINELS.values() for text in (key, key[:-4])]
LOGGERS = ("", "LiteLLM", "litellm", "sqlalchemy", "sqlalchemy.engine", "httpx", "httpcore", "huggingface_hub")


def leaks(text: str) -> list[str]:
    return [secret for secret in FORBIDDEN if secret in text]


def database_bytes(services: Services) -> bytes:
    path = Path(services.engine.url.database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger the app and its libraries use, at DEBUG, with the app's redaction installed as in production."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    redaction.install()
    yield caplog


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(message)s")
    return "\n".join(caplog.handler.format(record) or formatter.format(record) for record in caplog.records)


class _EchoHandler(LoopbackHandler):
    """An OpenAI-shaped 400 whose message quotes the caller's key, as some providers and proxies do."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        body = json.dumps({"error": {"message": f"Key {key} is not allowed to use this model.", "type": "invalid"}})
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


class EchoProvider(LoopbackFake):
    thread_name = "echo-provider"

    def _make_server(self) -> LoopbackServer:
        return LoopbackServer(_EchoHandler)


def test_a_sentinel_key_never_leaks(
    services: Services,
    fake: FakeProviders,
    hub: FakeHub,
    alice: UserPublic,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake.keys["openai"].add(SENTINELS["openai"])
    fake.keys["azure"].add(SENTINELS["azure"])
    hub.tokens[SENTINELS["huggingface"]] = "reader"
    seen: list[str] = []

    def look(at: AppTest, step: str) -> None:
        assert not at.exception, (step, at.exception)
        for where, text in (
            ("page", tree_text(at)),
            ("session state", state_text(at)),
            ("query", str(at.query_params)),
        ):
            assert not leaks(text), f"{step}: key in the {where}"
        seen.append(step)

    # Save three credentials through the Profile page; each is tested with its provider on save.
    at = open_page(signed_in(), "profile")
    card_input(at, "openai", "api_key").input(SENTINELS["openai"])
    at.button(key="save:openai").click().run()
    look(at, "save openai")
    card_input(at, "azure", "endpoint").input(fake.url)
    card_input(at, "azure", "api_key").input(SENTINELS["azure"])
    at.button(key="save:azure").click().run()
    look(at, "save azure")
    card_input(at, "huggingface", "token").input(SENTINELS["huggingface"])
    at.button(key="save:huggingface").click().run()
    look(at, "save hugging face")
    assert {provider for provider in SENTINELS} <= set(services.credentials.list(alice.id))
    at.button(key="retest:openai").click().run()
    look(at, "test again")

    # Chat that works, then with the key revoked (401).
    open_page(at, "chat")
    at.chat_input(key="chat_input").set_value("Hello").run()
    look(at, "chat success")
    assert fake.reply_text("openai", "gpt-4o-mini") in tree_text(at)
    fake.keys["openai"].discard(SENTINELS["openai"])
    at.chat_input(key="chat_input").set_value("Still there?").run()
    look(at, "chat rejected")
    assert "rejected the saved key" in tree_text(at)

    # Hugging Face access check with the saved token.
    open_page(at, "models")
    at.text_input(key="hub_repo_id").input("tiny/open-model")
    at.button(key="hub_check").click().run()
    look(at, "hub check")

    # A provider whose error message quotes the key back.
    with EchoProvider() as echo:
        monkeypatch.setenv("OPENAI_API_BASE", echo.url + "/v1")
        fake.keys["openai"].add(SENTINELS["openai"])
        turn = open_services(load_settings()).chat.send(alice.id, Conversation(), "Hi", "openai/gpt-4o-mini")
        assert list(turn.batches()) == []
        message = turn.finish()
        assert message.error is not None and not leaks(message.error)
        seen.append("error quoting the key")

    # Rotate to a new master key.
    monkeypatch.setenv("APP_MASTER_KEY", f"{generate_master_key()},{os.environ['APP_MASTER_KEY']}")
    rotated = open_services(load_settings())
    assert rotate_keys(rotated.engine, rotated.key_ring).rotated == 3
    seen.append("rotation")

    assert seen == [
        "save openai",
        "save azure",
        "save hugging face",
        "test again",
        "chat success",
        "chat rejected",
        "hub check",
        "error quoting the key",
        "rotation",
    ]
    assert debug_logs.records, "the loggers were listening"
    assert not leaks(log_text(debug_logs)), "a key reached a log record"
    out, err = capfd.readouterr()
    assert not leaks(out) and not leaks(err), "a key reached stdout or stderr"
    raw = database_bytes(services)
    assert raw and not any(secret.encode() in raw for secret in FORBIDDEN), "a key is in the database in clear"
    assert_no_key_left_in_shared_places()


def assert_no_key_left_in_shared_places() -> None:
    """After all of it: no key in the environment, litellm's or huggingface_hub's globals, or any app module's."""
    import huggingface_hub

    from core.providers.client import litellm

    assert not leaks("\n".join(os.environ.values()))
    client = litellm()
    assert client.api_key is None and not leaks(repr([client.openai_key, client.anthropic_key, client.azure_key]))
    assert huggingface_hub.get_token() is None
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in {"core", "ui", "pages", "app"}:
            assert not leaks(repr(vars(module))), f"a key in the globals of {name}"
