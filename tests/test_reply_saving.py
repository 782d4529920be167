"""A reply is saved from its start: its row exists as soon as it streams (marked interrupted), grows in batches,
is final once it settles, and survives its process being killed or stopped, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation, Message
from core.chat.live import SAVE_SECONDS, LiveTurns
from core.services import Services
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders, count_tokens
from tests.helpers import save_key, wait_for

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Tell me a long story"
PACE = 0.04  # seconds per word the slow provider takes: 25 words a second


def write_slowly(fake: FakeProviders, count: int) -> list[str]:
    """OpenAI writes a reply of `count` words one at a time, `PACE` s each; its words."""
    words = [f"w{number}" for number in range(count)]
    fake.reply, fake.chunks, fake.pace = " ".join(words), len(words), PACE
    return words


@pytest.fixture
def slow(services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic) -> list[str]:
    """Alice's and Bob's OpenAI keys saved, and OpenAI writing an 80-word reply slowly: its words."""
    for user in (alice, bob):
        save_key(services, fake, user, "openai", DEFAULT_KEYS["openai"])
    return write_slowly(fake, 80)


def rows(services: Services, user: UserPublic, conversation_id: int | None) -> list[Message]:
    assert conversation_id is not None
    return services.conversations.get(user.id, conversation_id).messages


def test_a_reply_is_saved_as_it_starts_grows_in_batches_and_is_final_after(
    services: Services, fake: FakeProviders, alice: UserPublic, slow: list[str]
) -> None:
    turn = services.chat.send(alice.id, Conversation(), QUESTION, "openai/gpt-4o-mini")
    at_start: list[list[Message]] = []
    seen = []
    # `then` is where the page draws the rest, right after the question and the reply's row are saved.
    for _ in turn.batches(then=lambda: at_start.append(rows(services, alice, turn.conversation_id))):
        question, reply = rows(services, alice, turn.conversation_id)  # the row catches up on another thread
        # Marked interrupted until it settles; the turn saves it for good itself, maybe before the last batch is read.
        assert reply.interrupted or reply.content == " ".join(slow)
        assert fake.reply_text("openai", "gpt-4o-mini").startswith(reply.content)
        if not seen or reply.content != seen[-1]:
            assert reply.content.startswith(seen[-1] if seen else ""), "the row only grows"
            seen.append(reply.content)
    [[question, reply]] = at_start
    assert (question.role, question.content, question.interrupted) == ("user", QUESTION, False)
    assert (reply.role, reply.model, reply.interrupted, reply.cost) == ("assistant", "openai/gpt-4o-mini", True, None)
    assert len([content for content in seen if content]) >= 3, f"the row grew while the reply streamed: {seen}"
    assert len(seen) <= len(slow) / 5, f"in batches, not once per token: {len(seen)} writes"
    message = turn.finish()
    text = " ".join(slow)
    assert (message.content, message.interrupted, message.error) == (text, False, None)
    [question, reply] = rows(services, alice, turn.conversation_id)
    assert (reply.id, reply.content, reply.interrupted) == (message.id, text, False)
    assert reply.completion_tokens == count_tokens(text) and reply.cost is not None and reply.cost > 0


def test_a_regenerated_reply_takes_the_old_ones_place_from_its_start(
    services: Services, fake: FakeProviders, alice: UserPublic, slow: list[str]
) -> None:
    fake.pace = 0.0
    first = services.chat.send(alice.id, Conversation(), QUESTION, "openai/gpt-4o-mini")
    list(first.batches())
    first.finish()
    conversation = services.conversations.get(alice.id, first.conversation_id)  # type: ignore[arg-type]
    fake.pace = PACE
    again = services.chat.regenerate(alice.id, conversation, "openai/gpt-4o")
    batches = again.batches()
    next(batches)
    wait_for(lambda: len(rows(services, alice, conversation.id)[-1].content) > len(" ".join(slow[:10])))
    streaming = services.conversations.get(alice.id, conversation.id)  # type: ignore[arg-type]
    assert [(m.role, m.model, m.interrupted) for m in streaming.messages] == [
        ("user", None, False),
        ("assistant", "openai/gpt-4o", True),
    ], "the new version is shown in the old one's place as it is first saved: never two replies"
    assert streaming.usage().replies == 1
    list(batches)
    again.finish()
    [question, reply] = rows(services, alice, conversation.id)
    assert (question.content, reply.content, reply.model, reply.interrupted) == (
        QUESTION,
        " ".join(slow),
        "openai/gpt-4o",
        False,
    )


def test_stopping_the_process_ends_and_saves_every_open_reply(
    services: Services, alice: UserPublic, bob: UserPublic, slow: list[str]
) -> None:
    """What the app's shutdown calls (ui/web.py's lifespan): every reply streaming ends, saved with all that had
    arrived, also what its row had not caught up with yet; a reply that starts after it ends at once."""
    services.chat.live = LiveTurns(interval=3600)  # no batch is written meanwhile: what is saved, stopping saved
    turns = [services.chat.send(user.id, Conversation(), QUESTION, "openai/gpt-4o-mini") for user in (alice, bob)]
    readers = [turn.batches() for turn in turns]
    for turn, reader in zip(turns, readers, strict=True):
        next(reader)
        turn.save_prompt()  # as the page does once it has drawn the first text
    wait_for(lambda: all(len(turn.reply.text.split()) >= 10 for turn in turns))
    assert services.chat.live.finish_all() == 2
    for turn, user in zip(turns, (alice, bob), strict=True):
        assert turn.reply.stopped and 10 <= len(turn.reply.text.split()) < len(slow)
        [question, reply] = rows(services, user, turn.conversation_id)
        assert (question.content, reply.content, reply.interrupted) == (QUESTION, turn.reply.text, True)
    for turn, reader in zip(turns, readers, strict=True):  # the pages' runs end, and finish the same replies
        list(reader)
        assert turn.finish().content == turn.reply.text
        assert len(rows(services, alice, turns[0].conversation_id)) == 2
    late = services.chat.send(alice.id, Conversation(), "One more?", "openai/gpt-4o-mini")
    assert late.reply.stopped, "a reply that starts while the process stops ends at once"
    assert [(m.content, m.interrupted) for m in rows(services, alice, late.conversation_id)] == [
        ("One more?", False),
        ("", True),
    ]
    assert services.chat.live.finish_all() == 0


# A second app process: it opens the app's services on the test's database (the same environment) and streams a
# reply as the Chat page does, printing each batch the page would draw.
STREAMER = """
import json, sys
from core.chat.conversations import Conversation
from core.config import load_settings
from core.services import open_services

services = open_services(load_settings())
user = services.users.get("alice")
turn = services.chat.send(user.id, Conversation(), sys.argv[1], "openai/gpt-4o-mini")
for text in turn.batches():
    print(json.dumps(text), flush=True)
turn.finish()
"""


def test_a_killed_process_keeps_the_question_and_all_but_the_last_batch(
    services: Services, fake: FakeProviders, alice: UserPublic, slow: list[str], tmp_path: Path
) -> None:
    words = write_slowly(fake, 250)  # 10 s: still streaming when it is killed
    log = (tmp_path / "streamer.log").open("w")
    environ = os.environ | {"PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", STREAMER, QUESTION]
    child = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=log, text=True)
    received: list[str] = []
    threading.Thread(target=lambda: received.extend(json.loads(line) for line in child.stdout), daemon=True).start()  # type: ignore[union-attr]
    saved: list[str] = []

    def grown_twice() -> bool:
        if child.poll() is not None:
            raise AssertionError(f"the streamer ended early: {(tmp_path / 'streamer.log').read_text()}")
        listed = services.conversations.list(alice.id)
        content = rows(services, alice, listed[0].id)[-1].content if listed else ""
        if content and content not in saved:
            saved.append(content)
        return len(saved) >= 3 and len("".join(received).split()) >= 40

    try:
        wait_for(grown_twice, timeout=60)
        shown = "".join(received)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        child.kill()
        log.close()
    [summary] = services.conversations.list(alice.id)
    question, reply = rows(services, alice, summary.id)
    assert (question.role, question.content) == ("user", QUESTION)
    assert (reply.role, reply.interrupted, reply.error) == ("assistant", True, None)
    text = " ".join(words)
    assert text.startswith(reply.content) and len(reply.content) < len(text)
    lost = len(shown.split()) - len(reply.content.split())
    # At most the batch not yet written: the words of one save interval (twice, for a busy machine), no more.
    assert lost <= 2 * SAVE_SECONDS / PACE + 3, f"lost {lost} words of {len(shown.split())} shown"
