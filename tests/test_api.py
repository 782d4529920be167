"""The HTTP API under uvicorn on a loopback port, driven by the official `openai` client (and httpx where a client
would never send such a request), with provider calls going to the loopback fakes through the real litellm."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from api.main import create_app
from api.schemas import MAX_BODY_BYTES
from core.accounts.users import UserPublic
from core.models.catalog import available_models
from core.services import Services
from tests.fakes.loopback import free_port
from tests.fakes.providers import DEFAULT_KEYS, SERVER_KEY, FakeProviders
from tests.helpers import ROOT, SERVER_KEY_ENV, chat_posts, register, save_key, team_server, wait_for

pytestmark = pytest.mark.both_backends

HELLO = [{"role": "user", "content": "Hello?"}]
ALICE_OPENAI = "sk-alice-openai-sentinel-0001"
BOB_OPENAI = "sk-bob-openai-sentinel-0002"
TIMEOUT = 30  # the first request of a process waits for litellm's import (seconds on a busy machine)


class ApiServer:
    """The real app (`api.main.create_app`) served by uvicorn on a thread, on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(), host="127.0.0.1", port=self.port, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ApiServer:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive())
        assert self.server.started, "the API did not start"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def serve(services: Services) -> Iterator[Callable[[], ApiServer]]:
    """Start the API (once the test has set its environment); stopped after the test."""
    started: list[ApiServer] = []

    def start() -> ApiServer:
        started.append(ApiServer().start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def api(serve: Callable[[], ApiServer]) -> ApiServer:
    return serve()


def token_of(services: Services, user: UserPublic, **options: Any) -> str:
    return services.tokens.create(user.id, "tests", **options)[1]


def client(api: ApiServer, token: str, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.base_url, api_key=token, max_retries=max_retries, timeout=TIMEOUT)


def post(api: ApiServer, token: str | None, **options: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    options.setdefault("timeout", TIMEOUT)
    return httpx.post(f"{api.base_url}/chat/completions", headers=headers | options.pop("headers", {}), **options)


def get(url: str, **options: Any) -> httpx.Response:
    return httpx.get(url, timeout=TIMEOUT, **options)


def assert_openai_error(response: httpx.Response, status: int, code: str, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    assert (body["error"]["code"], body["error"]["param"]) == (code, param), body
    return body["error"]


@pytest.fixture
def alice_token(services: Services, fake: FakeProviders, alice: UserPublic) -> str:
    """Alice has an OpenAI key (her own) and a token."""
    fake.keys["openai"] = {ALICE_OPENAI, BOB_OPENAI}
    save_key(services, fake, alice, "openai", ALICE_OPENAI)
    return token_of(services, alice)


# --- Models --------------------------------------------------------------------------------------------------------


def test_models_are_the_callers_catalog_in_openais_shape(
    services: Services, fake: FakeProviders, api: ApiServer, alice: UserPublic, alice_token: str
) -> None:
    save_key(services, fake, alice, "azure", DEFAULT_KEYS["azure"])
    services.deployment_store.add(alice.id, "azure", "my-gpt4o")
    response = get(f"{api.base_url}/models", headers={"authorization": f"Bearer {alice_token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    expected = {model.ref for model in available_models(services.catalog.load(alice.id))}
    listed = [entry["id"] for entry in body["data"]]
    assert set(listed) == expected and len(listed) == len(expected)
    assert {"openai/gpt-4o-mini", "azure/my-gpt4o"} <= set(listed)
    for entry in body["data"]:
        assert set(entry) == {"id", "object", "created", "owned_by"}
        assert entry["object"] == "model" and entry["owned_by"] == entry["id"].split("/")[0]
        assert entry["created"] > 0, "when the key that unlocks it was saved"
    models = client(api, alice_token).models.list()
    assert [model.id for model in models] == listed


def test_the_teams_servers_are_listed_and_answer_a_user_without_keys(
    services: Services, fake: FakeProviders, api: ApiServer, bob: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server in the admin's registry is an ordinary model of the API: no key of the caller's is needed."""
    monkeypatch.setenv(SERVER_KEY_ENV, SERVER_KEY)
    register(services, team_server("gpu-box", fake.base("server")))
    bob_client = client(api, token_of(services, bob))
    model = "server/gpu-box/meta-llama/Llama-3.1-8B-Instruct"
    assert model in [entry.id for entry in bob_client.models.list()]
    stream = bob_client.chat.completions.create(
        model=model, messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    [sent] = [r for r in fake.requests if r.provider == "server" and r.method == "POST"]
    assert sent.headers.get("authorization") == f"Bearer {SERVER_KEY}"
    assert sent.body["model"] == "meta-llama/Llama-3.1-8B-Instruct"


def test_a_user_without_keys_lists_no_provider_models(
    services: Services, api: ApiServer, alice_token: str, bob: UserPublic
) -> None:
    models = client(api, token_of(services, bob)).models.list()
    assert [model.id for model in models] == []


# --- Completions ---------------------------------------------------------------------------------------------------


def test_a_reply_in_one_piece_with_the_callers_own_key(
    services: Services, fake: FakeProviders, api: ApiServer, alice: UserPublic, alice_token: str
) -> None:
    reply = client(api, alice_token).chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "developer", "content": "Be brief."}, *HELLO],
        temperature=0.2,
        max_completion_tokens=50,
    )
    text = fake.reply_text("openai", "gpt-4o-mini")
    assert reply.choices[0].message.content == text and reply.choices[0].finish_reason == "stop"
    assert reply.model == "openai/gpt-4o-mini" and reply.object == "chat.completion"
    assert (
        reply.usage is not None
        and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    )
    [call] = chat_posts(fake)
    assert (call.key, call.model) == (ALICE_OPENAI, "gpt-4o-mini")
    assert (call.body["temperature"], call.body["max_tokens"]) == (0.2, 50)
    assert call.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert services.conversations.list(alice.id) == [], "an API completion is not saved as a chat"


def test_a_stream_with_usage(fake: FakeProviders, api: ApiServer, alice_token: str) -> None:
    stream = client(api, alice_token).chat.completions.create(
        model="openai/gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == fake.reply_text("openai", "gpt-4o")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    *_, last = chunks
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens > 0
    assert len({c.id for c in chunks}) == 1 and all(c.model == "openai/gpt-4o" for c in chunks)
    assert sum(c.usage is not None for c in chunks) == 1


def test_a_stream_ends_with_done_and_no_usage_unless_asked(api: ApiServer, alice_token: str) -> None:
    body = {"model": "openai/gpt-4o", "messages": HELLO, "stream": True}
    url = f"{api.base_url}/chat/completions"
    with httpx.stream("POST", url, json=body, headers=_bearer(alice_token), timeout=TIMEOUT) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in answer.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert all("usage" not in json.loads(line[6:]) for line in lines[:-1])


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_azure_by_deployment_name(
    services: Services, fake: FakeProviders, api: ApiServer, alice: UserPublic, alice_token: str
) -> None:
    save_key(services, fake, alice, "azure", DEFAULT_KEYS["azure"])
    reply = client(api, alice_token).chat.completions.create(model="azure/my-gpt4o", messages=HELLO)
    assert reply.choices[0].message.content == fake.reply_text("azure", "my-gpt4o")
    [call] = chat_posts(fake, "azure")
    assert call.path == "/openai/deployments/my-gpt4o/chat/completions" and call.key == DEFAULT_KEYS["azure"]
    with pytest.raises(openai.NotFoundError) as caught:
        client(api, alice_token).chat.completions.create(model="azure/no-such-deployment", messages=HELLO)
    assert caught.value.code == "model_not_found" and "no deployment named no-such-deployment" in caught.value.message


# --- Every error class the client knows ----------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["sk-not-ours-0000", "cdp_short", "cdp_" + "A" * 36])
def test_a_missing_or_bad_token_is_refused(api: ApiServer, alice_token: str, token: str) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        client(api, token).models.list()
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
    assert caught.value.body["param"] is None and "Authorization: Bearer" in caught.value.message


def test_a_tampered_token_is_refused(api: ApiServer, alice_token: str) -> None:
    tampered = alice_token[:-7] + ("a" if alice_token[-7] != "a" else "b") + alice_token[-6:]
    with pytest.raises(openai.AuthenticationError) as caught:
        client(api, tampered).models.list()
    assert "checksum" in caught.value.message


def test_no_token_is_refused(api: ApiServer) -> None:
    error = assert_openai_error(get(f"{api.base_url}/models"), 401, "invalid_api_key")
    assert error["message"].startswith("No API token was sent.")


@pytest.mark.parametrize(
    "where",
    [
        {"params": {"api_key": "{token}"}},
        {"headers": {"api-key": "{token}"}},
        {"headers": {"x-api-key": "{token}"}},
        {"headers": {"authorization": "Token {token}"}},
        {"headers": {"authorization": "Basic {token}"}},
    ],
    ids=["query", "api-key", "x-api-key", "token-scheme", "basic-scheme"],
)
def test_a_token_is_taken_from_the_bearer_header_only(
    api: ApiServer, alice_token: str, where: dict[str, dict[str, str]]
) -> None:
    options = {place: {k: v.format(token=alice_token) for k, v in values.items()} for place, values in where.items()}
    response = get(f"{api.base_url}/models", **options)
    assert_openai_error(response, 401, "invalid_api_key")


def test_revocation_and_expiry_take_effect_on_the_next_request(
    services: Services, api: ApiServer, alice: UserPublic, alice_token: str
) -> None:
    openai_client = client(api, alice_token)
    openai_client.models.list()
    [listed] = services.tokens.list(alice.id)
    assert services.tokens.revoke(alice.id, listed.id)
    with pytest.raises(openai.AuthenticationError) as caught:
        openai_client.models.list()
    assert "revoked" in caught.value.message


def test_a_disabled_users_token_stops_at_once(services: Services, api: ApiServer, alice_token: str) -> None:
    openai_client = client(api, alice_token)
    openai_client.models.list()
    services.users.set_disabled("alice", True)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        openai_client.chat.completions.create(model="openai/gpt-4o", messages=HELLO)
    assert caught.value.status_code == 403 and "disabled" in caught.value.message
    services.users.set_disabled("alice", False)
    assert openai_client.models.list()


def test_a_deleted_users_token_stops(services: Services, api: ApiServer, alice_token: str) -> None:
    services.users.delete("alice")
    with pytest.raises(openai.AuthenticationError):
        client(api, alice_token).models.list()


@pytest.mark.parametrize(
    ("model", "error", "code"),
    [
        ("anthropic/claude-3-5-haiku", openai.PermissionDeniedError, "missing_credential"),
        ("mystery/model", openai.NotFoundError, "model_not_found"),
        ("openai/not-a-model-we-know", openai.NotFoundError, "model_not_found"),
        ("local/acme/not-mine", openai.PermissionDeniedError, "model_not_available"),
    ],
)
def test_a_model_the_caller_cannot_use_is_refused(
    fake: FakeProviders, api: ApiServer, alice_token: str, model: str, error: type[openai.APIStatusError], code: str
) -> None:
    with pytest.raises(error) as caught:
        client(api, alice_token).chat.completions.create(model=model, messages=HELLO)
    assert caught.value.code == code and caught.value.body["param"] == "model"
    assert len(chat_posts(fake)) == (1 if model.startswith("openai/") else 0)


def test_a_provider_refusing_access_is_a_permission_error(
    fake: FakeProviders, api: ApiServer, alice_token: str
) -> None:
    fake.fail("openai", "forbidden")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client(api, alice_token).chat.completions.create(model="openai/gpt-4o", messages=HELLO)
    assert caught.value.code == "no_access" and "OpenAI accepted the key but refused access" in caught.value.message


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"temperature": 5}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, None),
    ],
)
def test_a_request_core_refuses_is_a_bad_request(
    fake: FakeProviders, api: ApiServer, alice_token: str, changes: dict, param: str | None
) -> None:
    arguments = {"model": "openai/gpt-4o", "messages": HELLO, **changes}
    with pytest.raises(openai.BadRequestError) as caught:
        client(api, alice_token).chat.completions.create(**arguments)
    assert caught.value.status_code == 400
    if param:
        assert caught.value.body["param"] == param
    assert chat_posts(fake) == []


def test_the_rate_limit_is_per_token_with_retry_after(
    services: Services,
    serve: Callable[[], ApiServer],
    monkeypatch: pytest.MonkeyPatch,
    alice_token: str,
    bob: UserPublic,
) -> None:
    monkeypatch.setenv("APP_API_RATE_LIMIT", "2")
    api = serve()
    openai_client = client(api, alice_token)
    openai_client.models.list()
    openai_client.models.list()
    with pytest.raises(openai.RateLimitError) as caught:
        openai_client.models.list()
    assert caught.value.code == "rate_limit_exceeded"
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
    assert client(api, token_of(services, bob)).models.list() is not None, "another token has its own count"


@pytest.mark.parametrize(("failure", "code"), [("server_error", "provider_down"), ("redirect", "redirected")])
def test_a_provider_failure_is_a_502_with_our_message(
    fake: FakeProviders, api: ApiServer, alice_token: str, failure: str, code: str
) -> None:
    fake.fail("openai", failure)  # type: ignore[arg-type]
    with pytest.raises(openai.APIStatusError) as caught:
        client(api, alice_token).chat.completions.create(model="openai/gpt-4o", messages=HELLO)
    assert caught.value.status_code == 502 and caught.value.code == code
    message = caught.value.body["message"]
    assert message.startswith("OpenAI ") and "fake" not in message.lower()


def test_a_rejected_key_is_explained_and_not_retried_by_the_client(
    services: Services, fake: FakeProviders, api: ApiServer, alice: UserPublic, alice_token: str
) -> None:
    revoked = "sk-revoked-sentinel-key-0009"
    save_key(services, fake, alice, "openai", revoked)
    with pytest.raises(openai.APIStatusError) as caught:
        client(api, alice_token, max_retries=2).chat.completions.create(model="openai/gpt-4o", messages=HELLO)
    assert caught.value.status_code == 502 and caught.value.code == "rejected_key"
    assert "Update it in Profile → Provider Keys → OpenAI" in caught.value.message
    assert revoked not in caught.value.response.text
    assert len(chat_posts(fake)) == 1, "x-should-retry: false keeps the client from asking again"


def test_a_provider_failing_mid_stream_sends_an_error_event_after_the_partial_text(
    fake: FakeProviders, api: ApiServer, alice_token: str
) -> None:
    fake.fail("openai", "cut_stream")
    stream = client(api, alice_token).chat.completions.create(model="openai/gpt-4o", messages=HELLO, stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    partial = "".join(received)
    assert (
        partial
        and fake.reply_text("openai", "gpt-4o").startswith(partial)
        and partial != fake.reply_text("openai", "gpt-4o")
    )
    assert "cut off" in caught.value.message
    assert caught.value.body["code"] == "interrupted"


def test_a_stream_that_fails_before_any_text_is_a_plain_error(
    fake: FakeProviders, api: ApiServer, alice_token: str
) -> None:
    fake.fail("openai", "server_error")
    with pytest.raises(openai.APIStatusError) as caught:
        client(api, alice_token).chat.completions.create(model="openai/gpt-4o", messages=HELLO, stream=True)
    assert caught.value.status_code == 502 and caught.value.code == "provider_down"


# --- Bodies no client library would send ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (b"{not json", None),
        (b"", None),
        (b"[1, 2]", None),
        (b"\xff\xfe", None),
        (json.dumps({"model": "openai/gpt-4o", "messages": "hello"}).encode(), "messages"),
        (json.dumps({"model": "openai/gpt-4o", "messages": HELLO, "temperature": "hot"}).encode(), "temperature"),
        (json.dumps({"model": "openai/gpt-4o", "messages": HELLO, "stream": "yes"}).encode(), "stream"),
        (json.dumps({"model": "openai/gpt-4o", "messages": HELLO, "max_tokens": 1.5}).encode(), "max_tokens"),
        (json.dumps({"model": 4, "messages": HELLO}).encode(), "model"),
        (json.dumps({"messages": HELLO}).encode(), "model"),
        (json.dumps({"model": "openai/gpt-4o", "messages": [{"role": "user"}]}).encode(), "messages"),
        (json.dumps({"model": "openai/gpt-4o", "messages": [{"content": "x"}]}).encode(), "messages[0].role"),
        (json.dumps({"model": "openai/gpt-4o", "messages": HELLO, "colour": "red"}).encode(), "colour"),
        (json.dumps({"model": "openai/gpt-4o", "messages": HELLO, "tools": [{"type": "function"}]}).encode(), "tools"),
        (json.dumps({"model": "openai/gpt-4o", "messages": HELLO, "n": 2}).encode(), "n"),
    ],
)
def test_a_malformed_body_is_a_400_in_openais_shape(
    fake: FakeProviders, api: ApiServer, alice_token: str, content: bytes, param: str | None
) -> None:
    response = post(api, alice_token, content=content, headers={"content-type": "application/json"})
    error = assert_openai_error(response, 400, "invalid_value", param)
    assert "detail" not in response.text and "Traceback" not in response.text
    assert error["type"] == "invalid_request_error"
    assert chat_posts(fake) == []


def test_unknown_fields_say_so_in_openais_words(api: ApiServer, alice_token: str) -> None:
    response = post(api, alice_token, json={"model": "openai/gpt-4o", "messages": HELLO, "colour": "red"})
    assert assert_openai_error(response, 400, "invalid_value", "colour")["message"] == (
        "Unrecognized request argument supplied: colour"
    )


def test_openais_defaults_of_unsupported_fields_are_accepted(
    fake: FakeProviders, api: ApiServer, alice_token: str
) -> None:
    body = {"model": "openai/gpt-4o", "messages": HELLO, "n": 1, "top_p": 1, "presence_penalty": 0, "user": "x"}
    assert post(api, alice_token, json=body).status_code == 200


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_refused(
    fake: FakeProviders, api: ApiServer, alice_token: str, declared: bool
) -> None:
    filler = "x" * (MAX_BODY_BYTES + 1024)
    raw = json.dumps({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": filler}]}).encode()
    content: Any = raw if declared else iter([raw[i : i + 65536] for i in range(0, len(raw), 65536)])
    response = post(api, alice_token, content=content, timeout=30)
    assert "over 4 MiB" in assert_openai_error(response, 400, "invalid_value")["message"]
    assert chat_posts(fake) == []


def test_unknown_routes_and_methods_answer_in_openais_shape(api: ApiServer, alice_token: str) -> None:
    assert_openai_error(get(f"{api.base_url}/nothing-here"), 404, "unknown_url")
    assert_openai_error(get(f"http://127.0.0.1:{api.port}/"), 404, "unknown_url")
    assert_openai_error(
        get(f"{api.base_url}/chat/completions", headers=_bearer(alice_token)), 405, "method_not_allowed"
    )
    assert_openai_error(get(f"http://127.0.0.1:{api.port}/docs"), 404, "unknown_url")


# --- Isolation -----------------------------------------------------------------------------------------------------


def test_a_token_reaches_only_its_owners_keys_chats_and_models(
    services: Services, fake: FakeProviders, api: ApiServer, alice: UserPublic, bob: UserPublic, alice_token: str
) -> None:
    save_key(services, fake, alice, "azure", DEFAULT_KEYS["azure"])
    services.deployment_store.add(alice.id, "azure", "my-gpt4o")
    bob_token = token_of(services, bob)
    alice_chat, bob_chat = client(api, alice_token).chat.completions, client(api, bob_token).chat.completions
    # Bob has no OpenAI key, though Alice has one: his calls never use hers.
    with pytest.raises(openai.PermissionDeniedError) as caught:
        bob_chat.create(model="openai/gpt-4o", messages=HELLO)
    assert caught.value.code == "missing_credential" and chat_posts(fake) == []
    with pytest.raises(openai.PermissionDeniedError):
        bob_chat.create(model="azure/my-gpt4o", messages=HELLO)
    assert [m.id for m in client(api, bob_token).models.list()] == []
    # Once he saves his own, his calls use his and hers use hers.
    save_key(services, fake, bob, "openai", BOB_OPENAI)
    bob_chat.create(model="openai/gpt-4o", messages=HELLO)
    alice_chat.create(model="openai/gpt-4o", messages=HELLO, stream=True).close()
    list(bob_chat.create(model="openai/gpt-4o", messages=HELLO, stream=True))
    assert [call.key for call in chat_posts(fake)] == [BOB_OPENAI, ALICE_OPENAI, BOB_OPENAI]
    assert "azure/my-gpt4o" not in {m.id for m in client(api, bob_token).models.list()}
    assert services.conversations.list(alice.id) == [] and services.conversations.list(bob.id) == []
    # Neither can revoke the other's token through the store either.
    [alices] = services.tokens.list(alice.id)
    assert not services.tokens.revoke(bob.id, alices.id)
    assert client(api, alice_token).models.list() is not None


# --- No exposure ---------------------------------------------------------------------------------------------------


def test_a_token_or_key_never_reaches_the_logs(
    services: Services,
    fake: FakeProviders,
    api: ApiServer,
    alice: UserPublic,
    alice_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    revoked = "sk-revoked-sentinel-key-0007"
    get(f"{api.base_url}/models", params={"api_key": alice_token})  # a token where it does not belong
    client(api, alice_token).chat.completions.create(model="openai/gpt-4o", messages=HELLO)
    save_key(services, fake, alice, "openai", revoked)
    with pytest.raises(openai.APIStatusError):
        client(api, alice_token).chat.completions.create(model="openai/gpt-4o", messages=HELLO)
    logged = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records)
    assert "/v1/models" in logged, "the access log is captured"
    for secret in (alice_token, alice_token[4:], revoked, ALICE_OPENAI):
        assert secret not in logged


# --- As `make api` runs it -----------------------------------------------------------------------------------------


def test_make_api_serves_several_workers_that_share_the_rate_limit(
    services: Services, alice_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes, as `make api` starts them: a token's requests are counted in the database, so the
    limit holds whichever worker answers (each request on a new connection, spread over both)."""
    makefile = (ROOT / "Makefile").read_text()
    assert (
        "$(BIN)/uvicorn api.main:app --host $${HOST:-0.0.0.0} --port $(API_PORT) --workers $(API_WORKERS)" in makefile
    )
    monkeypatch.setenv("APP_API_RATE_LIMIT", "6")
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/v1/models"
        wait_for(lambda: _answers(url) or server.poll() is not None, timeout=90)
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
        if (into := time.time() % 60) > 40:  # the limit counts per clock minute: send all 12 within one
            time.sleep(60 - into + 0.1)
        statuses = [get(url, headers=_bearer(alice_token)).status_code for _ in range(12)]
        assert statuses == [200] * 6 + [429] * 6, "the probe sent no token: it was not counted"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return get(url).status_code == 401
    except httpx.TransportError:
        return False
