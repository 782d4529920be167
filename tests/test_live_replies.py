"""A chat's reply outlives whoever watches it: it streams on the server's own thread, any number of readers come
and go, only Stop (or the process stopping) ends it early, it is saved for good when it settles, one reply runs
per chat, users only find their own, and a provider that sends nothing is given up after the first-token timeout."""

from __future__ import annotations

import threading
import time

import pytest

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation, Message
from core.chat.waiting import LONG_WAIT_HINT, waiting_note
from core.config import load_settings
from core.errors import ProviderErrorKind, ReplyInProgress
from core.services import Services, open_services
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders, count_tokens
from tests.helpers import chat_posts, save_key, wait_for

MODEL = "openai/gpt-4o-mini"


@pytest.fixture
def slow(services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic) -> str:
    """Alice's and Bob's OpenAI keys saved, and OpenAI writing a 40-word reply at 25 words a second: its text."""
    for user in (alice, bob):
        save_key(services, fake, user, "openai", DEFAULT_KEYS["openai"])
    words = [f"w{number}" for number in range(40)]
    fake.reply, fake.chunks, fake.pace = " ".join(words), len(words), 0.04
    return fake.reply


def rows(services: Services, user: UserPublic, conversation_id: int | None) -> list[Message]:
    assert conversation_id is not None
    return services.conversations.get(user.id, conversation_id).messages


def test_a_reply_goes_on_after_its_reader_leaves_and_is_saved_with_its_usage(
    services: Services, alice: UserPublic, slow: str
) -> None:
    turn = services.chat.send(alice.id, Conversation(), "Tell me a story", MODEL)
    reader = turn.batches()
    first = next(reader)
    reader.close()  # the page's run ended: a click elsewhere, a reload, a dropped connection
    assert first and len(first) < len(slow)
    wait_for(lambda: turn.conversation_id is not None)  # saved without a reader (the saver thread)
    assert services.chat.running(alice.id, turn.conversation_id) is turn
    wait_for(lambda: turn.done, timeout=30)
    assert not turn.reply.stopped
    question, reply = rows(services, alice, turn.conversation_id)
    assert (question.content, reply.content, reply.interrupted, reply.error) == ("Tell me a story", slow, False, None)
    assert reply.completion_tokens == count_tokens(slow) and reply.cost is not None and reply.cost > 0
    assert services.chat.running(alice.id, turn.conversation_id) is None, "a settled reply is not running"


def test_any_number_of_readers_each_get_the_whole_reply(services: Services, alice: UserPublic, slow: str) -> None:
    turn = services.chat.send(alice.id, Conversation(), "Tell me a story", MODEL)
    texts: list[str] = []

    def read() -> None:
        texts.append("".join(turn.batches()))

    early = threading.Thread(target=read)
    early.start()
    wait_for(lambda: len(turn.reply.text.split()) >= 15)
    late = threading.Thread(target=read)  # a new tab, or the page after a reload: what arrived, then the rest
    late.start()
    leaving = turn.batches()
    shown = next(leaving)
    assert len(shown.split()) >= 15 and slow.startswith(shown), "a new reader gets what has arrived at once"
    leaving.close()
    early.join(30)
    late.join(30)
    assert texts == [slow, slow]
    assert turn.finish().content == slow


def test_only_stop_ends_a_reply_and_its_readers_end_with_it(services: Services, alice: UserPublic, slow: str) -> None:
    turn = services.chat.send(alice.id, Conversation(), "Tell me a story", MODEL)
    reader = turn.batches()
    next(reader)
    wait_for(lambda: len(turn.reply.text.split()) >= 10 and turn.conversation_id is not None)
    assert services.chat.stop(alice.id, turn.conversation_id)
    rest = list(reader)  # the reader ends, with whatever it had not shown yet
    assert turn.done and turn.reply.stopped
    [_, reply] = rows(services, alice, turn.conversation_id)
    assert reply.interrupted and reply.content == turn.reply.text and len(reply.content) < len(slow)
    assert slow.startswith(reply.content) and "".join(rest) in reply.content
    assert not services.chat.stop(alice.id, turn.conversation_id), "nothing runs there any more"


def test_a_chat_answers_one_message_at_a_time_and_others_meanwhile(
    services: Services, alice: UserPublic, slow: str
) -> None:
    conversation = Conversation()
    turn = services.chat.send(alice.id, conversation, "First", MODEL)
    turn.save_prompt()
    with pytest.raises(ReplyInProgress, match="still being written"):
        services.chat.send(alice.id, conversation, "Second", MODEL)
    opened = services.conversations.get(alice.id, conversation.id)  # type: ignore[arg-type]
    with pytest.raises(ReplyInProgress):
        services.chat.regenerate(alice.id, opened, MODEL)
    other = services.chat.send(alice.id, Conversation(), "Elsewhere", MODEL)  # another chat is free
    wait_for(lambda: turn.done and other.done, timeout=30)
    assert [m.content for m in rows(services, alice, conversation.id)] == ["First", slow]
    again = services.chat.send(alice.id, conversation, "Second", MODEL)  # once the reply has settled
    wait_for(lambda: again.done, timeout=30)
    assert [m.content for m in rows(services, alice, conversation.id)] == ["First", slow, "Second", slow]


def test_users_only_find_and_stop_their_own_running_replies(
    services: Services, alice: UserPublic, bob: UserPublic, slow: str
) -> None:
    turn = services.chat.send(alice.id, Conversation(), "Mine", MODEL)
    conversation_id = turn.save_prompt()
    assert services.chat.running(alice.id, conversation_id) is turn
    assert services.chat.running(bob.id, conversation_id) is None
    assert not services.chat.stop(bob.id, conversation_id)
    wait_for(lambda: turn.done, timeout=30)
    assert not turn.reply.stopped and rows(services, alice, conversation_id)[-1].content == slow


def test_stopping_the_process_saves_a_reply_nobody_watches(services: Services, alice: UserPublic, slow: str) -> None:
    turn = services.chat.send(alice.id, Conversation(), "Tell me a story", MODEL)
    wait_for(lambda: len(turn.reply.text.split()) >= 5 and turn.conversation_id is not None)
    assert services.chat.live.finish_all() == 1
    [_, reply] = rows(services, alice, turn.conversation_id)
    assert reply.interrupted and reply.content == turn.reply.text and reply.content


def test_a_provider_silent_past_the_first_token_timeout_is_given_up(
    monkeypatch: pytest.MonkeyPatch, services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    monkeypatch.setenv("APP_FIRST_TOKEN_TIMEOUT", "1")  # under the tests' request timeout (5 s)
    services = open_services(load_settings())
    save_key(services, fake, alice, "openai", DEFAULT_KEYS["openai"])
    fake.fail("openai", "hang")
    started = time.perf_counter()
    turn = services.chat.send(alice.id, Conversation(), "Anyone?", MODEL)
    notes = []

    def note() -> None:
        reply = turn.reply
        notes.append(waiting_note(reply))
        if reply.started_at is not None:  # as it will read 12 s after sending
            notes.append(waiting_note(reply, now=reply.started_at + 12))

    assert "".join(turn.batches(on_idle=note)) == ""
    waited = time.perf_counter() - started
    assert 1 <= waited < 4, f"given up after {waited:.1f} s, not at the provider's timeout"
    assert "Waiting for OpenAI · 0 s" in notes
    assert f"Waiting for OpenAI · 12 s · {LONG_WAIT_HINT}" in notes
    [question, reply] = rows(services, alice, turn.conversation_id)
    assert question.content == "Anyone?"
    assert reply.error_kind == ProviderErrorKind.TIMEOUT.value and not reply.interrupted
    assert reply.error == (
        "OpenAI sent nothing for 1 s, so the app stopped waiting. No text arrived, so this reply counts no tokens "
        "or cost. Send your message again, or pick another model."
    )
    assert (reply.prompt_tokens, reply.completion_tokens, reply.cost) == (None, None, None)
    assert len(chat_posts(fake)) == 1, "not asked again"


def test_the_waiting_note_says_who_is_asked_for_how_long_and_when_it_is_asked_again(
    monkeypatch: pytest.MonkeyPatch, services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    monkeypatch.setenv("APP_MAX_RETRIES", "1")
    monkeypatch.setenv("APP_RETRY_MAX_WAIT", "1")
    services = open_services(load_settings())
    save_key(services, fake, alice, "openai", DEFAULT_KEYS["openai"])
    fake.fail("openai", "rate_limit")
    turn = services.chat.send(alice.id, Conversation(), "Anyone?", MODEL)
    notes = []
    while not turn.reply.settled:
        notes.append(waiting_note(turn.reply))
        time.sleep(0.02)
    assert "Retrying (attempt 2) · Waiting for OpenAI · 0 s" in notes
    assert waiting_note(turn.reply) is None, "nothing is awaited once text arrived"
    assert turn.reply.text == fake.reply_text("openai", "gpt-4o-mini") and turn.reply.attempts == 2
