"""Chat through the app's ChatService and the real litellm client against the loopback fakes of all five
providers: streamed turns, their pacing, the retry policy, Compare, a chat's settings and plain completions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from core.accounts.users import UserPublic
from core.chat.completion import CompletionParams
from core.chat.conversations import Conversation, GenerationSettings
from core.chat.pacing import ReplyPumps
from core.chat.stream import ReplyStream, price
from core.chat.turn import Turn
from core.config import load_settings
from core.errors import (
    CredentialUnreadable,
    InvalidInput,
    MissingCredential,
    ProviderError,
    ProviderErrorKind,
    UnknownModel,
)
from core.models.target import resolve_model
from core.services import Services, open_services
from tests.fakes.pausing import STORY, PausingOpenAI
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders, count_tokens
from tests.helpers import (
    STREAM_PATHS,
    chat_posts,
    on_both_paths,
    reachable_strings,
    save_key,
    system_prompts_and_limits,
    wait_for,
)

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
# The same cases, each on litellm's stream and, where the provider streams OpenAI's SSE, on the lean one.
BOTH = on_both_paths(CASES)


def send(
    services: Services,
    user: UserPublic,
    text: str,
    model_ref: str = "openai/gpt-4o",
    conversation: Conversation | None = None,
    on_saved: Callable[[int], object] | None = None,
) -> Turn:
    """`services.chat.send` as the Chat page calls it (a new chat unless `conversation` is given)."""
    return services.chat.send(
        user.id, Conversation() if conversation is None else conversation, text, model_ref, on_saved
    )


def ask(
    services: Services, user: UserPublic, model_ref: str, text: str = "Hello?", conversation: Conversation | None = None
) -> ReplyStream:
    """Send `text` as the Chat page does, read the whole reply and let the turn save it; the settled reply."""
    turn = send(services, user, text, model_ref, conversation)
    list(turn.batches())
    turn.finish()
    return turn.reply


@pytest.fixture
def keyed(services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic) -> Services:
    """Alice and Bob each have their own valid key for every provider."""
    for provider in ALICE_KEYS:
        fake.keys[provider] = {ALICE_KEYS[provider], BOB_KEYS[provider]}
        save_key(services, fake, alice, provider, ALICE_KEYS[provider])
        save_key(services, fake, bob, provider, BOB_KEYS[provider])
    return services


@pytest.mark.parametrize(("model_ref", "provider", "wire_model", "stream_path"), BOTH, indirect=["stream_path"])
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
    """With no max set: the model's own limit in litellm's map (gpt-4o-mini writes up to 16,384 tokens), 4,096 for a
    model the map does not know (these Anthropic, Gemini, xAI and Azure IDs)."""
    for model_ref, _, _ in CASES:
        ask(keyed, alice, model_ref)
    limits = {
        r.provider: (r.body.get("max_tokens") or r.body["generationConfig"]["max_output_tokens"]) for r in fake.requests
    }
    assert limits == {**dict.fromkeys(ALICE_KEYS, 4096), "openai": 16_384}


def test_bare_default_model_id_resolves_to_its_provider(
    keyed: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    reply = ask(keyed, alice, "claude-3-5-haiku")
    assert reply.error is None
    assert fake.requests[-1].model == "claude-3-5-haiku-latest"


def test_conversation_history_is_sent(keyed: Services, fake: FakeProviders, alice: UserPublic) -> None:
    first = send(keyed, alice, "first question")
    list(first.batches())
    first.finish()
    saved = keyed.conversations.get(alice.id, first.conversation_id)
    ask(keyed, alice, "openai/gpt-4o", "second question", conversation=saved)
    sent = fake.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == first.reply.text and sent[2]["content"] == "second question"


def test_no_key_saved_fails_before_any_network_call(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    reply = ask(services, alice, "openai/gpt-4o", "hi")
    assert isinstance(reply.error, MissingCredential)
    assert "Profile → Provider Keys → OpenAI" in str(reply.error)
    assert fake.requests == []


def test_unreadable_key_fails_before_any_network_call(
    keyed: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.security.crypto import generate_master_key
    from core.services import open_services

    monkeypatch.setenv("APP_MASTER_KEY", generate_master_key())
    other = open_services(load_settings())
    reply = ask(other, alice, "xai/grok-2", "hi")
    assert isinstance(reply.error, CredentialUnreadable)
    assert fake.requests == []


@pytest.mark.parametrize("model_ref", ["", "mystery/model", "gpt-5-unknown", "openai/bad model", "huggingface/x"])
def test_unknown_model_refs_are_refused(
    keyed: Services, fake: FakeProviders, alice: UserPublic, model_ref: str
) -> None:
    turn = send(keyed, alice, "hi", model_ref)
    assert list(turn.batches()) == []
    assert isinstance(turn.reply.error, UnknownModel)
    assert turn.finish().error_kind == "unknown_model"
    assert chat_posts(fake) == []


@pytest.mark.parametrize(("model_ref", "provider", "wire_model", "stream_path"), BOTH, indirect=["stream_path"])
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
    ("model_ref", "provider", "stream_path"),
    on_both_paths(
        [
            ("openai/gpt-9", "openai"),
            ("anthropic/claude-0", "anthropic"),
            ("gemini/gemini-0", "gemini"),
            ("xai/grok-0", "xai"),
            ("azure/no-such-deployment", "azure"),
        ]
    ),
    indirect=["stream_path"],
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
@pytest.mark.parametrize(("model_ref", "provider", "wire_model", "stream_path"), BOTH, indirect=["stream_path"])
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


@pytest.mark.parametrize(("model_ref", "provider", "wire_model", "stream_path"), BOTH, indirect=["stream_path"])
def test_a_cut_stream_keeps_the_partial_reply(
    keyed: Services, fake: FakeProviders, alice: UserPublic, model_ref: str, provider: str, wire_model: str
) -> None:
    fake.fail(provider, "cut_stream")
    turn = send(keyed, alice, "tell me", model_ref)
    list(turn.batches())
    message = turn.finish()
    reply = turn.reply
    full = fake.reply_text(provider, wire_model)
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.INTERRUPTED
    assert reply.text and full.startswith(reply.text) and reply.text != full
    assert message.interrupted and message.content == reply.text
    saved = keyed.conversations.get(alice.id, turn.conversation_id).messages
    assert [(m.role, m.content, m.interrupted) for m in saved] == [
        ("user", "tell me", False),
        ("assistant", reply.text, True),
    ]


@pytest.mark.parametrize("stream_path", STREAM_PATHS, indirect=True)
def test_a_hanging_provider_times_out(
    keyed: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_REQUEST_TIMEOUT", "1")
    fake.fail("openai", "hang")
    reply = ask(open_services(load_settings()), alice, "openai/gpt-4o", "hi")
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.TIMEOUT


@pytest.mark.parametrize("stream_path", STREAM_PATHS, indirect=True)
def test_logs_of_a_failed_call_hold_no_key(
    services: Services, fake: FakeProviders, alice: UserPublic, caplog: pytest.LogCaptureFixture
) -> None:
    """OpenAI echoes part of a wrong key in its error body; nothing logged at DEBUG may carry the key."""
    import logging

    from core.security.redaction import RedactingFilter

    revoked = "sk-REVOKED-sentinel-key-4242424242"
    save_key(services, fake, alice, "openai", revoked)
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG):
        reply = ask(services, alice, "openai/gpt-4o")
        logging.getLogger("test").warning("provider said: %s", f"Incorrect API key provided: {revoked}")
    assert reply.error is not None
    assert revoked not in caplog.text and revoked[3:20] not in caplog.text
    assert "[redacted]" in caplog.text


@pytest.mark.parametrize(("model_ref", "provider", "wire_model", "stream_path"), BOTH, indirect=["stream_path"])
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
    services = open_services(load_settings())
    if provider == "azure":
        values = {"endpoint": closed, "api_key": ALICE_KEYS["azure"], "api_version": ""}
        services.credentials.save(alice.id, "azure", values)
    reply = ask(services, alice, model_ref, "hi")
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.UNREACHABLE, str(reply.error)


@pytest.fixture
def pausing(monkeypatch: pytest.MonkeyPatch, env: Any) -> Iterator[PausingOpenAI]:
    """OpenAI routed to a server that pauses after two pieces of its reply."""
    with PausingOpenAI(STORY, before=2) as server:
        monkeypatch.setenv("OPENAI_API_BASE", server.base)
        yield server


@pytest.mark.parametrize(("model_ref", "provider", "wire_model", "stream_path"), BOTH, indirect=["stream_path"])
def test_a_chats_settings_reach_every_provider(
    keyed: Services, fake: FakeProviders, alice: UserPublic, model_ref: str, provider: str, wire_model: str
) -> None:
    conversation = Conversation(settings=GenerationSettings("Answer in French, briefly.", 0.3, 123))
    reply = ask(keyed, alice, model_ref, "Hello?", conversation=conversation)
    assert reply.error is None
    system, temperature, limit = system_prompts_and_limits(chat_posts(fake, provider)[-1])
    assert "Answer in French, briefly." in system
    assert (temperature, limit) == (0.3, 123)


def test_no_temperature_leaves_the_providers_default(keyed: Services, fake: FakeProviders, alice: UserPublic) -> None:
    ask(keyed, alice, "openai/gpt-4o")
    assert "temperature" not in chat_posts(fake)[-1].body


@pytest.mark.parametrize(("model_ref", "provider", "wire_model", "stream_path"), BOTH, indirect=["stream_path"])
def test_usage_and_cost_of_a_reply(
    keyed: Services, fake: FakeProviders, alice: UserPublic, model_ref: str, provider: str, wire_model: str
) -> None:
    from core.providers.client import litellm

    reply = ask(keyed, alice, model_ref)
    assert reply.completion_tokens == count_tokens(reply.text)
    assert reply.prompt_tokens is not None and reply.prompt_tokens > 0
    table = litellm().model_cost
    known = table.get(reply.target.litellm_model) or table.get(wire_model) if provider == "openai" else None
    if known:
        expected = reply.prompt_tokens * known["input_cost_per_token"]
        expected += reply.completion_tokens * known["output_cost_per_token"]
        assert reply.cost == pytest.approx(expected)
    else:
        assert reply.cost is None, "a model without a known price has no cost, not a made-up one"
    assert reply.message().cost == reply.cost


def test_a_known_price_is_found_for_a_default_model() -> None:
    """At least one default model is priced, so the cost path above is exercised with a number."""
    assert price(resolve_model("openai/gpt-4o-mini"), 1000, 1000) is not None
    assert price(resolve_model("xai/no-such-model"), 1000, 1000) is None


def test_a_model_that_runs_here_costs_nothing() -> None:
    """litellm's cost functions raise for `local/` models: the app never asks them, and says $0."""
    target = resolve_model("local/HuggingFaceTB/SmolLM2-360M-Instruct")
    assert target.litellm_model == "local/HuggingFaceTB/SmolLM2-360M-Instruct"
    assert price(target, 12, 30) == 0.0


@pytest.mark.parametrize(("model_ref", "provider", "wire_model", "stream_path"), BOTH, indirect=["stream_path"])
def test_a_rate_limit_is_retried_with_backoff_then_answered(
    keyed: Services,
    fake: FakeProviders,
    alice: UserPublic,
    monkeypatch: pytest.MonkeyPatch,
    model_ref: str,
    provider: str,
    wire_model: str,
) -> None:
    monkeypatch.setenv("APP_MAX_RETRIES", "2")
    monkeypatch.setenv("APP_RETRY_MAX_WAIT", "0.05")
    fake.fail(provider, "rate_limit", times=2)
    reply = ask(open_services(load_settings()), alice, model_ref, "hi")
    assert reply.error is None and reply.text == fake.reply_text(provider, wire_model)
    assert len(chat_posts(fake, provider)) == 3


def test_rate_limit_retries_are_bounded_then_explained_with_the_wait(
    keyed: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_MAX_RETRIES", "2")
    monkeypatch.setenv("APP_RETRY_MAX_WAIT", "0.05")
    fake.fail("anthropic", "rate_limit", times=None)
    reply = ask(open_services(load_settings()), alice, "anthropic/claude-3-5-haiku", "?")
    assert reply.error is not None and reply.error.kind is ProviderErrorKind.RATE_LIMITED
    assert "wait 2 s" in str(reply.error) and "Tried 3 times" in str(reply.error)
    assert len(chat_posts(fake)) == 3


@pytest.mark.parametrize("stream_path", STREAM_PATHS, indirect=True)
@pytest.mark.parametrize(
    ("failure", "attempts"), [("server_error", 2), ("forbidden", 1), ("cut_stream", 1), ("rate_limit", 2)]
)
def test_only_transient_failures_before_any_text_are_retried(
    keyed: Services,
    fake: FakeProviders,
    alice: UserPublic,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
    attempts: int,
) -> None:
    monkeypatch.setenv("APP_MAX_RETRIES", "3")
    monkeypatch.setenv("APP_RETRY_MAX_WAIT", "0.05")
    fake.fail("openai", failure, times=1)
    reply = ask(open_services(load_settings()), alice, "openai/gpt-4o", "?")
    assert len(chat_posts(fake)) == attempts
    if failure == "cut_stream":
        assert reply.interrupted and reply.error is not None, "a reply that had started is kept, not asked again"


def test_no_retries_when_none_are_configured(keyed: Services, fake: FakeProviders, alice: UserPublic) -> None:
    assert keyed.settings.max_retries == 0
    fake.fail("openai", "rate_limit", times=None)
    reply = ask(keyed, alice, "openai/gpt-4o")
    assert reply.error is not None and len(chat_posts(fake)) == 1


def chunk(text: str) -> Any:
    """A stream chunk as litellm shapes it, for the pacing tests that need no provider."""
    return SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content=text))], usage=None)


def test_batches_send_the_first_text_at_once_then_coalesce() -> None:
    pieces = [f"piece {n} " for n in range(20)]
    more = threading.Event()

    def produce() -> Iterator[Any]:
        yield chunk(pieces[0])
        more.wait(10)
        yield from (chunk(piece) for piece in pieces[1:])

    reply = ReplyStream("test/model", None, produce)
    batches = ReplyPumps([reply]).batches(interval=3600)
    first = next(batches)
    more.set()
    assert [first, *batches] == [(0, pieces[0]), (0, "".join(pieces[1:]))]
    assert reply.text == "".join(pieces) and reply.settled and not reply.interrupted


def test_batches_of_several_replies_stay_apart() -> None:
    replies = [ReplyStream(f"test/{n}", None, lambda n=n: iter([chunk(f"{n}a"), chunk(f"{n}b")])) for n in range(3)]
    shown = [""] * 3
    for index, text in ReplyPumps(replies).batches():
        shown[index] += text
    assert shown == ["0a0b", "1a1b", "2a2b"]


def test_a_quiet_stream_gives_the_page_its_idle_calls() -> None:
    """While nothing arrives the page still gets control, which is where Streamlit notices a Stop click."""
    gate = threading.Event()

    def open_stream() -> Iterator[Any]:
        gate.wait(10)
        return iter([chunk("late")])

    calls: list[int] = []
    reply = ReplyStream("test/model", None, open_stream)
    batches = list(ReplyPumps([reply]).batches(on_idle=lambda: (calls.append(1), gate.set())))
    assert calls and batches == [(0, "late")]


@pytest.mark.parametrize("stream_path", STREAM_PATHS, indirect=True)
def test_stop_keeps_what_arrived(services: Services, alice: UserPublic, pausing: PausingOpenAI) -> None:
    services = open_services(load_settings())
    services.credentials.save(alice.id, "openai", {"api_key": pausing.key})
    turn = send(services, alice, "Tell me a story", "openai/gpt-4o-mini")
    batches = turn.batches()
    first = next(batches)
    assert first and pausing.sent_before_pause.startswith(first), "text is shown while it streams"
    reply = turn.reply
    wait_for(lambda: reply.text == pausing.sent_before_pause and turn.conversation_id is not None)
    assert services.chat.stop(alice.id, turn.conversation_id), "the app's Stop finds the chat's reply"
    message = turn.finish()  # saved once already: the same message
    pausing.release()
    batches.close()
    assert (message.content, message.interrupted, message.error) == (pausing.sent_before_pause, True, None)
    assert reply.stopped and reply.cost is None
    saved = services.conversations.get(alice.id, turn.conversation_id).messages
    assert [(m.content, m.interrupted) for m in saved] == [
        ("Tell me a story", False),
        (pausing.sent_before_pause, True),
    ]
    status = services.credentials.list(alice.id)["openai"].status
    assert status is not None and status.used_at is not None and status.error is None


class Enough(Exception):
    """Raised from an `on_idle` callback to leave a reply that would otherwise wait on a silent provider."""


def test_the_provider_is_asked_first_and_the_message_saved_while_it_answers(
    keyed: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.fail("openai", "hang")
    store, conversation, opened = keyed.conversations, Conversation(), []
    turn = send(keyed, alice, "  Keep me  ", conversation=conversation, on_saved=opened.append)
    wait_for(lambda: bool(chat_posts(fake)))  # sent without the page reading the reply
    assert chat_posts(fake)[0].body["messages"] == [{"role": "user", "content": "Keep me"}]
    assert conversation.id is None and store.list(alice.id) == [], "nothing in the provider's way"
    seen_while_waiting: list[list[tuple[str, str]]] = []

    def idle() -> None:
        assert conversation.id is not None
        seen_while_waiting.append([(m.role, m.content) for m in store.get(alice.id, conversation.id).messages])
        raise Enough

    with pytest.raises(Enough):
        list(turn.batches(on_idle=idle))
    assert seen_while_waiting == [[("user", "Keep me"), ("assistant", "")]], "saved once the head start was over"
    assert opened == [conversation.id] and turn.conversation_id == conversation.id
    message = turn.finish()
    assert message.interrupted and message.content == ""
    saved = store.get(alice.id, conversation.id)
    assert [(m.role, m.interrupted) for m in saved.messages] == [("user", False), ("assistant", True)]


def test_a_message_is_saved_by_finish_when_nothing_read_the_reply(
    keyed: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    """The page's run ended (a click) before it read anything: the message and what there is of the reply stay."""
    fake.fail("openai", "hang")
    conversation = Conversation()
    turn = send(keyed, alice, "Still here?", conversation=conversation)
    wait_for(lambda: bool(chat_posts(fake)))
    turn.finish()
    turn.finish()
    saved = keyed.conversations.get(alice.id, conversation.id)
    assert [(m.role, m.content, m.interrupted) for m in saved.messages] == [
        ("user", "Still here?", False),
        ("assistant", "", True),
    ]


def test_the_users_message_is_kept_when_the_provider_fails(
    keyed: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.fail("openai", "server_error")
    conversation = Conversation()
    turn = send(keyed, alice, "  Keep me  ", conversation=conversation)
    assert list(turn.batches()) == []
    saved = keyed.conversations.get(alice.id, conversation.id)
    assert [(m.role, m.content) for m in saved.messages] == [("user", "Keep me"), ("assistant", "")], "both saved"
    message = turn.finish()
    assert message.error_kind == "provider_down" and message.model == "openai/gpt-4o"
    saved = keyed.conversations.get(alice.id, turn.conversation_id)
    assert [(m.role, m.content, m.error_kind) for m in saved.messages] == [
        ("user", "Keep me", None),
        ("assistant", "", "provider_down"),
    ]


def test_a_message_to_a_chat_deleted_meanwhile_starts_a_new_one(
    keyed: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    """Another tab deleted the chat: the message and its reply are kept, in a new chat, never lost."""
    store = keyed.conversations
    conversation = store.create(alice.id)
    store.delete(alice.id, conversation.id)
    opened: list[int] = []
    turn = send(keyed, alice, "hi", conversation=conversation, on_saved=opened.append)
    assert "".join(turn.batches()) == fake.reply_text("openai", "gpt-4o")
    turn.finish()
    [summary] = store.list(alice.id)
    assert opened == [summary.id] == [conversation.id]
    assert [(m.role, m.content) for m in store.get(alice.id, summary.id).messages] == [
        ("user", "hi"),
        ("assistant", fake.reply_text("openai", "gpt-4o")),
    ]


def test_a_missing_key_is_saved_as_an_error_without_a_network_call(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    turn = send(services, alice, "hi", "xai/grok-2")
    assert list(turn.batches()) == []
    message = turn.finish()
    assert message.error_kind == "missing_credential" and "Profile → Provider Keys → xAI" in (message.error or "")
    assert fake.requests == []
    assert [m.role for m in services.conversations.get(alice.id, turn.conversation_id).messages] == [
        "user",
        "assistant",
    ]


def test_a_reply_is_saved_once_whoever_finishes_it(keyed: Services, alice: UserPublic) -> None:
    turn = send(keyed, alice, "hi")
    list(turn.batches())
    threads = [threading.Thread(target=turn.finish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [m.role for m in keyed.conversations.get(alice.id, turn.conversation_id).messages] == ["user", "assistant"]


def test_regenerate_replaces_the_last_reply_with_the_model_now_chosen(
    keyed: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    store = keyed.conversations
    turn = send(keyed, alice, "Hi")
    list(turn.batches())
    turn.finish()
    conversation = store.get(alice.id, turn.conversation_id)
    again = keyed.chat.regenerate(alice.id, conversation, "anthropic/claude-3-5-haiku")
    list(again.batches())
    again.finish()
    saved = store.get(alice.id, turn.conversation_id).messages
    assert [(m.role, m.model) for m in saved] == [("user", None), ("assistant", "anthropic/claude-3-5-haiku")]
    assert saved[1].content == fake.reply_text("anthropic", "claude-3-5-haiku-latest")
    sent = chat_posts(fake, "anthropic")[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user"], "the replaced reply is not sent back"


def test_regenerate_needs_a_reply(keyed: Services, alice: UserPublic) -> None:
    with pytest.raises(InvalidInput):
        keyed.chat.regenerate(alice.id, Conversation(), "openai/gpt-4o")


def test_each_reply_records_the_use_of_the_key(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    save_key(services, fake, alice, "openai", "sk-revoked-sentinel-key-0001")
    reply = ask(services, alice, "openai/gpt-4o")
    status = services.credentials.list(alice.id)["openai"].status
    assert status is not None and status.error == str(reply.error)
    save_key(services, fake, alice, "openai", DEFAULT_KEYS["openai"])
    ask(services, alice, "openai/gpt-4o")
    status = services.credentials.list(alice.id)["openai"].status
    assert status is not None and status.used_at is not None


def test_a_failure_to_record_the_use_never_breaks_the_chat(
    keyed: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(keyed.credentials, "record_use", broken)
    reply = ask(keyed, alice, "openai/gpt-4o")
    assert reply.error is None and reply.text == fake.reply_text("openai", "gpt-4o")


def test_compare_streams_each_model_in_its_own_column(keyed: Services, fake: FakeProviders, alice: UserPublic) -> None:
    refs = ["openai/gpt-4o-mini", "gemini/gemini-1.5-flash", "openai/gpt-9"]
    comparison = keyed.chat.compare(alice.id, refs, "Which is best?", GenerationSettings())
    shown = [""] * 3
    for index, text in comparison.batches():
        shown[index] += text
    results = comparison.finish()
    assert shown[:2] == [fake.reply_text("openai", "gpt-4o-mini"), fake.reply_text("gemini", "gemini-1.5-flash")]
    assert [r.text for r in results] == shown
    assert results[2].error is not None and "gpt-9" in results[2].error
    assert all(r.time_to_first_token is not None for r in results[:2])
    assert results[0].cost is not None and results[1].cost is None


@pytest.mark.parametrize("refs", [["openai/gpt-4o"], ["openai/gpt-4o", " openai/gpt-4o"], ["a/1", "a/2", "a/3", "a/4"]])
def test_compare_takes_two_or_three_different_models(keyed: Services, alice: UserPublic, refs: list[str]) -> None:
    with pytest.raises(InvalidInput):
        keyed.chat.compare(alice.id, refs, "hi", GenerationSettings())


def test_a_prepared_reply_holds_no_key(keyed: Services, alice: UserPublic) -> None:
    """A reply (and the turn a page keeps in its session) reads the key only inside the call that streams."""
    turn = send(keyed, alice, "hi", "azure/my-gpt4o")
    assert not [text for text in reachable_strings(turn) if ALICE_KEYS["azure"] in text]
    list(turn.batches())
    assert turn.finish().error is None
    assert not [text for text in reachable_strings(turn) if ALICE_KEYS["azure"] in text]


@pytest.mark.parametrize("change", ["disable", "delete"])
def test_a_reply_stops_when_its_account_is_disabled_or_deleted(
    keyed: Services, fake: FakeProviders, alice: UserPublic, change: str
) -> None:
    fake.reply, fake.chunks, fake.pace = "word " * 60, 60, 0.05  # a 3 s reply
    turn = send(keyed, alice, "Tell me a long story")
    texts = []
    for text in turn.batches():
        texts.append(text)
        if len(texts) == 2:
            if change == "disable":
                keyed.accounts.set_disabled("alice", True)
            else:
                keyed.users.delete("alice")
    reply = turn.reply
    assert reply.error is not None and "signed out or disabled" in str(reply.error)
    assert reply.interrupted and reply.text and len(reply.text) < len(fake.reply), "stopped, what arrived is kept"


def test_a_disabled_accounts_keys_are_not_used(keyed: Services, fake: FakeProviders, alice: UserPublic) -> None:
    keyed.accounts.set_disabled("alice", True)
    turn = send(keyed, alice, "Anyone there?")
    assert list(turn.batches()) == []
    assert turn.reply.error is not None and "disabled" in str(turn.reply.error)
    assert chat_posts(fake) == []


def test_settings_of_a_new_chat_are_kept_until_its_first_message_saves_them(
    keyed: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    draft = Conversation()
    applied = keyed.chat.apply_settings(alice.id, draft, "  Be brief.  ", 0.25, 300)
    assert applied == draft.settings == GenerationSettings("Be brief.", 0.25, 300)
    assert keyed.conversations.list(alice.id) == [], "nothing is saved for a chat that has no message yet"
    turn = send(keyed, alice, "Hello?", conversation=draft)
    list(turn.batches())
    turn.finish()
    assert keyed.conversations.get(alice.id, turn.conversation_id).settings == applied
    _, temperature, limit = system_prompts_and_limits(chat_posts(fake)[-1])
    assert (temperature, limit) == (0.25, 300)


def test_settings_of_a_saved_chat_are_saved_at_once(keyed: Services, alice: UserPublic) -> None:
    conversation = keyed.conversations.create(alice.id)
    keyed.chat.apply_settings(alice.id, conversation, "Answer in French.", None, 1000)
    assert keyed.conversations.get(alice.id, conversation.id).settings == GenerationSettings(
        "Answer in French.", None, 1000
    )


@pytest.mark.parametrize(
    ("system", "temperature", "max_tokens", "field"),
    [("x" * 20_001, None, None, "system"), ("", 2.5, None, "temperature"), ("", None, 0, "max_tokens")],
)
def test_refused_settings_change_nothing(
    keyed: Services, alice: UserPublic, system: str, temperature: float | None, max_tokens: int | None, field: str
) -> None:
    conversation = keyed.conversations.create(alice.id, GenerationSettings("Keep me.", 0.5, 100))
    with pytest.raises(InvalidInput) as caught:
        keyed.chat.apply_settings(alice.id, conversation, system, temperature, max_tokens)
    assert caught.value.field == field
    assert conversation.settings == GenerationSettings("Keep me.", 0.5, 100)
    assert keyed.conversations.get(alice.id, conversation.id).settings == conversation.settings


def test_another_users_chat_takes_no_settings(keyed: Services, alice: UserPublic, bob: UserPublic) -> None:
    from core.chat.conversations import ConversationNotFound

    alices = keyed.conversations.create(alice.id, GenerationSettings("Alice's.", None, 100))
    with pytest.raises(ConversationNotFound):
        keyed.chat.apply_settings(bob.id, alices, "Bob's now.", None, 100)
    assert keyed.conversations.get(alice.id, alices.id).settings == GenerationSettings("Alice's.", None, 100)


HELLO = [{"role": "user", "content": "Hello?"}]


@pytest.mark.parametrize(("model_ref", "provider", "wire_model"), CASES)
def test_a_completion_answers_in_one_piece_with_the_users_own_key(
    keyed: Services, fake: FakeProviders, alice: UserPublic, model_ref: str, provider: str, wire_model: str
) -> None:
    messages = [{"role": "system", "content": "Answer in French, briefly."}, *HELLO]
    completion = keyed.chat.complete(alice.id, model_ref, messages, CompletionParams(temperature=0.3, max_tokens=123))
    text = fake.reply_text(provider, wire_model)
    assert (completion.text, completion.model, completion.finish_reason) == (text, model_ref, "stop")
    assert completion.completion_tokens == count_tokens(text)
    assert completion.prompt_tokens is not None and completion.prompt_tokens > 0
    [call] = chat_posts(fake)
    assert (call.provider, call.key, call.model) == (provider, ALICE_KEYS[provider], wire_model)
    assert call.body.get("stream") is not True
    system, temperature, limit = system_prompts_and_limits(call)
    assert "Answer in French, briefly." in system
    assert (temperature, limit) == (0.3, 123)
    assert keyed.conversations.list(alice.id) == [], "a completion is not saved as a chat"
    status = keyed.credentials.list(alice.id)[provider].status
    assert status is not None and status.used_at is not None and status.error is None


def test_a_completion_is_priced_as_a_reply_is(keyed: Services, alice: UserPublic) -> None:
    completion = keyed.chat.complete(alice.id, "openai/gpt-4o-mini", HELLO, CompletionParams())
    assert completion.cost == price(
        resolve_model("openai/gpt-4o-mini"), completion.prompt_tokens, completion.completion_tokens
    )
    assert completion.cost is not None
    assert keyed.chat.complete(alice.id, "xai/grok-2", HELLO, CompletionParams()).cost is None


def test_a_completion_with_a_rejected_key_says_where_to_fix_it(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    revoked = "sk-revoked-sentinel-key-0001"
    save_key(services, fake, alice, "openai", revoked)
    with pytest.raises(ProviderError) as caught:
        services.chat.complete(alice.id, "openai/gpt-4o", HELLO, CompletionParams())
    assert caught.value.kind is ProviderErrorKind.REJECTED_KEY and "Profile → Provider Keys" in str(caught.value)
    assert revoked not in str(caught.value)
    status = services.credentials.list(alice.id)["openai"].status
    assert status is not None and status.error == str(caught.value)


@pytest.mark.parametrize(
    ("model_ref", "error"), [("openai/gpt-4o", MissingCredential), ("mystery/model", UnknownModel)]
)
def test_a_completion_that_cannot_start_calls_nobody(
    services: Services, fake: FakeProviders, alice: UserPublic, model_ref: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        services.chat.complete(alice.id, model_ref, HELLO, CompletionParams())
    assert fake.requests == []


@pytest.mark.parametrize(
    ("messages", "params", "field"),
    [
        ([], CompletionParams(), "messages"),
        ([{"role": "tool", "content": "x"}], CompletionParams(), "messages"),
        ([{"role": "user", "content": None}], CompletionParams(), "messages"),
        ([{"role": "user", "content": "x" * 100_001}], CompletionParams(), "messages"),
        (HELLO, CompletionParams(temperature=3.0), "temperature"),
        (HELLO, CompletionParams(max_tokens=0), "max_tokens"),
    ],
)
def test_a_malformed_completion_request_is_refused_before_any_call(
    keyed: Services, fake: FakeProviders, alice: UserPublic, messages: list, params: CompletionParams, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        keyed.chat.complete(alice.id, "openai/gpt-4o", messages, params)
    assert caught.value.field == field
    assert fake.requests == []


def test_a_completion_is_retried_as_a_reply_is(
    keyed: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_MAX_RETRIES", "2")
    monkeypatch.setenv("APP_RETRY_MAX_WAIT", "0.05")
    retrying = open_services(load_settings())
    fake.fail("anthropic", "rate_limit", times=2)
    completion = retrying.chat.complete(alice.id, "anthropic/claude-3-5-haiku", HELLO, CompletionParams())
    assert completion.text == fake.reply_text("anthropic", "claude-3-5-haiku-latest")
    fake.fail("anthropic", "rate_limit", times=None)
    with pytest.raises(ProviderError) as caught:
        retrying.chat.complete(alice.id, "anthropic/claude-3-5-haiku", HELLO, CompletionParams())
    assert caught.value.kind is ProviderErrorKind.RATE_LIMITED and "Tried 3 times" in str(caught.value)
    assert len(chat_posts(fake)) == 6


def test_every_chat_service_method_takes_the_user_first() -> None:
    """Front ends call `services.chat.<method>(user.id, ...)`: no method reaches a chat or a key without the user."""
    import inspect

    from core.chat.service import ChatService

    methods = [(n, m) for n, m in inspect.getmembers(ChatService, inspect.isfunction) if not n.startswith("_")]
    assert {name for name, _ in methods} == {
        "send",
        "regenerate",
        "edit",
        "show_version",
        "running",
        "stop",
        "compare",
        "continue_with",
        "apply_settings",
        "complete",
        "stream",
    }
    for name, method in methods:
        assert list(inspect.signature(method).parameters)[1] == "user_id", name
