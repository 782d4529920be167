"""Chat through the real litellm client against the loopback fakes of all five providers."""

from __future__ import annotations

import pytest

from core.chat import Conversation, ReplyStream, start_reply
from core.config import load_settings
from core.errors import CredentialUnreadable, MissingCredential, ProviderErrorKind, UnknownModel
from core.services import Services
from core.users import UserPublic
from tests.fakes.providers import FakeProviders

ALICE_KEYS = {
    "openai": "sk-alice-openai-sentinel-0001",
    "anthropic": "sk-ant-alice-anthropic-sentinel-0002",
    "gemini": "AIza-alice-gemini-sentinel-0003",
    "xai": "xai-alice-xai-sentinel-0004",
    "azure": "alice-azure-sentinel-0005",
}
BOB_KEYS = {provider: key.replace("alice", "bob") for provider, key in ALICE_KEYS.items()}

# model ref the user picks -> (provider, model the provider must receive)
CASES = [
    ("openai/gpt-4o-mini", "openai", "gpt-4o-mini"),
    ("anthropic/claude-3-5-sonnet", "anthropic", "claude-3-5-sonnet-latest"),
    ("gemini/gemini-1.5-flash", "gemini", "gemini-1.5-flash"),
    ("xai/grok-2", "xai", "grok-2"),
    ("azure/my-gpt4o", "azure", "my-gpt4o"),
]


def save_key(services: Services, fake: FakeProviders, user: UserPublic, provider: str, key: str) -> None:
    values = {"api_key": key}
    if provider == "azure":
        values |= {"endpoint": fake.url, "api_version": ""}
    services.credentials.save(user.id, provider, values)


def ask(services: Services, user: UserPublic, model_ref: str, text: str = "Hello?") -> ReplyStream:
    conversation = Conversation()
    conversation.add_user(text)
    reply = start_reply(services.credentials, services.settings, user.id, model_ref, conversation.for_provider())
    list(reply)
    return reply


@pytest.fixture
def keyed(services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic) -> Services:
    """Alice and Bob each have their own valid key for every provider."""
    for provider in ALICE_KEYS:
        fake.keys[provider] = {ALICE_KEYS[provider], BOB_KEYS[provider]}
        save_key(services, fake, alice, provider, ALICE_KEYS[provider])
        save_key(services, fake, bob, provider, BOB_KEYS[provider])
    return services


@pytest.mark.parametrize(("model_ref", "provider", "wire_model"), CASES)
def test_reply_streams_with_the_users_own_key(
    keyed: Services, fake: FakeProviders, alice: UserPublic, model_ref: str, provider: str, wire_model: str
) -> None:
    reply = ask(keyed, alice, model_ref)
    assert reply.error is None
    assert reply.text == fake.reply_text(provider, wire_model)
    calls = [r for r in fake.requests if r.provider == provider]
    assert [(r.key, r.model) for r in calls] == [(ALICE_KEYS[provider], wire_model)]
    assert all(BOB_KEYS[p] != r.key for r in fake.requests for p in BOB_KEYS)


def test_every_request_bounds_the_reply_length(keyed: Services, fake: FakeProviders, alice: UserPublic) -> None:
    for model_ref, _, _ in CASES:
        ask(keyed, alice, model_ref)
    limits = {
        r.provider: (r.body.get("max_tokens") or r.body["generationConfig"]["max_output_tokens"]) for r in fake.requests
    }
    assert limits == dict.fromkeys(ALICE_KEYS, 4096)


def test_bare_default_model_id_resolves_to_its_provider(
    keyed: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    reply = ask(keyed, alice, "claude-3-5-haiku")
    assert reply.error is None
    assert fake.requests[-1].model == "claude-3-5-haiku-latest"


def test_conversation_history_is_sent(keyed: Services, fake: FakeProviders, alice: UserPublic) -> None:
    conversation = Conversation()
    conversation.add_user("first question")
    first = start_reply(keyed.credentials, keyed.settings, alice.id, "openai/gpt-4o", conversation.for_provider())
    list(first)
    conversation.add_reply(first)
    conversation.add_user("second question")
    list(start_reply(keyed.credentials, keyed.settings, alice.id, "openai/gpt-4o", conversation.for_provider()))
    sent = fake.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == first.text and sent[2]["content"] == "second question"


def test_no_key_saved_fails_before_any_network_call(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    with pytest.raises(MissingCredential) as caught:
        start_reply(
            services.credentials, services.settings, alice.id, "openai/gpt-4o", [{"role": "user", "content": "hi"}]
        )
    assert "Profile → Provider Keys → OpenAI" in str(caught.value)
    assert fake.requests == []


def test_unreadable_key_fails_before_any_network_call(
    keyed: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.crypto import generate_master_key
    from core.services import open_services

    monkeypatch.setenv("APP_MASTER_KEY", generate_master_key())
    other = open_services(load_settings())
    with pytest.raises(CredentialUnreadable):
        start_reply(other.credentials, other.settings, alice.id, "xai/grok-2", [{"role": "user", "content": "hi"}])
    assert fake.requests == []


@pytest.mark.parametrize("model_ref", ["", "mystery/model", "gpt-5-unknown", "openai/bad model", "huggingface/x"])
def test_unknown_model_refs_are_refused(keyed: Services, alice: UserPublic, model_ref: str) -> None:
    with pytest.raises(UnknownModel):
        start_reply(keyed.credentials, keyed.settings, alice.id, model_ref, [{"role": "user", "content": "hi"}])


@pytest.mark.parametrize(("model_ref", "provider", "wire_model"), CASES)
def test_rejected_key_says_where_to_fix_it(
    services: Services, fake: FakeProviders, alice: UserPublic, model_ref: str, provider: str, wire_model: str
) -> None:
    revoked = "revoked-" + ALICE_KEYS[provider]
    save_key(services, fake, alice, provider, revoked)
    reply = ask(services, alice, model_ref)
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.REJECTED_KEY
    assert "Profile → Provider Keys" in str(reply.error)
    assert revoked not in str(reply.error) and revoked[-6:] not in str(reply.error)
    assert reply.text == ""


@pytest.mark.parametrize(
    ("model_ref", "provider"),
    [
        ("openai/gpt-9", "openai"),
        ("anthropic/claude-0", "anthropic"),
        ("gemini/gemini-0", "gemini"),
        ("xai/grok-0", "xai"),
        ("azure/no-such-deployment", "azure"),
    ],
)
def test_unknown_model_at_the_provider(keyed: Services, alice: UserPublic, model_ref: str, provider: str) -> None:
    reply = ask(keyed, alice, model_ref)
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.NOT_FOUND
    assert model_ref.split("/")[1] in str(reply.error)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("rate_limit", ProviderErrorKind.RATE_LIMITED),
        ("server_error", ProviderErrorKind.PROVIDER_DOWN),
        ("forbidden", ProviderErrorKind.NO_ACCESS),
    ],
)
@pytest.mark.parametrize(("model_ref", "provider", "wire_model"), CASES)
def test_provider_failures_are_explained(
    keyed: Services,
    fake: FakeProviders,
    alice: UserPublic,
    model_ref: str,
    provider: str,
    wire_model: str,
    kind: str,
    expected: ProviderErrorKind,
) -> None:
    fake.fail(provider, kind, times=None)
    reply = ask(keyed, alice, model_ref)
    assert reply.error is not None and reply.error.kind is expected, str(reply.error)
    if kind == "rate_limit":
        assert "wait 2 s" in str(reply.error)


@pytest.mark.parametrize(("model_ref", "provider", "wire_model"), CASES)
def test_a_cut_stream_keeps_the_partial_reply(
    keyed: Services, fake: FakeProviders, alice: UserPublic, model_ref: str, provider: str, wire_model: str
) -> None:
    fake.fail(provider, "cut_stream")
    conversation = Conversation()
    conversation.add_user("tell me")
    reply = start_reply(keyed.credentials, keyed.settings, alice.id, model_ref, conversation.for_provider())
    list(reply)
    message = conversation.add_reply(reply)
    full = fake.reply_text(provider, wire_model)
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.INTERRUPTED
    assert reply.text and full.startswith(reply.text) and reply.text != full
    assert message.interrupted and message.content == reply.text
    assert conversation.messages[0].content == "tell me"


def test_a_hanging_provider_times_out(
    keyed: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_REQUEST_TIMEOUT", "1")
    fake.fail("openai", "hang")
    settings = load_settings()
    reply = start_reply(keyed.credentials, settings, alice.id, "openai/gpt-4o", [{"role": "user", "content": "hi"}])
    list(reply)
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.TIMEOUT


def test_logs_of_a_failed_call_hold_no_key(
    services: Services, fake: FakeProviders, alice: UserPublic, caplog: pytest.LogCaptureFixture
) -> None:
    """OpenAI echoes part of a wrong key in its error body; nothing logged at DEBUG may carry the key."""
    import logging

    from core.redaction import RedactingFilter

    revoked = "sk-REVOKED-sentinel-key-4242424242"
    save_key(services, fake, alice, "openai", revoked)
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG):
        reply = ask(services, alice, "openai/gpt-4o")
        logging.getLogger("test").warning("provider said: %s", f"Incorrect API key provided: {revoked}")
    assert reply.error is not None
    assert revoked not in caplog.text and revoked[3:20] not in caplog.text
    assert "[redacted]" in caplog.text


@pytest.mark.parametrize(("model_ref", "provider", "wire_model"), CASES)
def test_an_unreachable_provider_is_named_as_such(
    keyed: Services, alice: UserPublic, monkeypatch: pytest.MonkeyPatch, model_ref: str, provider: str, wire_model: str
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for variable in ("OPENAI_API_BASE", "ANTHROPIC_API_BASE", "GEMINI_API_BASE", "XAI_API_BASE"):
        monkeypatch.setenv(variable, closed)
    monkeypatch.setenv("APP_ALLOW_ENDPOINTS", closed)
    from core.services import open_services

    services = open_services(load_settings())
    if provider == "azure":
        values = {"endpoint": closed, "api_key": ALICE_KEYS["azure"], "api_version": ""}
        services.credentials.save(alice.id, "azure", values)
    reply = start_reply(
        services.credentials, services.settings, alice.id, model_ref, [{"role": "user", "content": "hi"}]
    )
    list(reply)
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.UNREACHABLE, str(reply.error)
