"""The Chat page in Streamlit's AppTest, against the loopback provider fakes through the real litellm client."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from core.accounts.users import UserPublic
from core.chat.export import describe_usage, format_cost, to_json, to_markdown
from core.chat.turn import Turn
from core.services import Services
from tests.fakes.pausing import STORY, PausingOpenAI
from tests.fakes.providers import SERVER_KEY, FakeProviders
from tests.helpers import (
    SERVER_KEY_ENV,
    chat_list,
    chat_page,
    chat_posts,
    open_page,
    page_text,
    pick,
    reachable_strings,
    register,
    save_key,
    saved,
    send,
    shown_messages,
    signed_in,
    system_prompts_and_limits,
    team_server,
    wait_for,
    with_keys,
)
from ui.chat.header import WAITING_PLACEHOLDER
from ui.chat.session import ChatSession
from ui.state import app_services


@pytest.fixture
def runners(monkeypatch: pytest.MonkeyPatch) -> list[LocalScriptRunner]:
    """The script runners AppTest creates, so a test can stop a run the way a click does (fast reruns)."""
    created: list[LocalScriptRunner] = []
    original = LocalScriptRunner.__init__

    def init(self: LocalScriptRunner, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(LocalScriptRunner, "__init__", init)
    return created


def drawn(runner: LocalScriptRunner, key: str) -> bool:
    """Whether the run has sent the browser a widget with this key (so a person could click it now)."""
    return any(
        message.WhichOneof("type") == "delta"
        and message.delta.WhichOneof("type") == "new_element"
        and message.delta.new_element.WhichOneof("type") == "button"
        and message.delta.new_element.button.id.endswith(f"-{key}")
        for message in list(runner.forward_msg_queue._queue)
    )


def in_flight(at: AppTest, user: UserPublic) -> Any:
    """The comparison the user's chat session has streaming now, if any."""
    session = at.session_state.get(ChatSession.key(user.id))
    return session.in_flight if session is not None else None


def running_reply(user: UserPublic) -> Turn | None:
    """The reply streaming in the user's latest chat on the app's own services (those AppTest's runs use)."""
    services = app_services()
    listed = services.conversations.list(user.id)
    return services.chat.running(user.id, listed[0].id) if listed else None


def stop_when(
    at: AppTest,
    runners: list[LocalScriptRunner],
    user: UserPublic,
    ready: Any,
    button: str = "chat_stop",
    streaming: Callable[[], Any] | None = None,
) -> threading.Thread:
    """Once `ready(work)` holds for what is streaming (`streaming()`: the chat's running reply unless given) and
    its Stop `button` is on the page, stop the run as a click does with fast reruns on (or as Streamlit's own Stop
    does, or a reload): Streamlit asks the running script to stop (it ends at its next Streamlit call)."""
    find = streaming or (lambda: running_reply(user))

    def act() -> None:
        wait_for(lambda: (work := find()) is not None and ready(work) and drawn(runners[-1], button))
        runners[-1].request_stop()

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def test_a_reply_streams_and_the_conversation_is_saved(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "Hello there")
    reply = fake.reply_text("openai", "gpt-4o-mini")
    assert shown_messages(at) == [("user", "Hello there"), ("assistant", reply)]
    conversation = saved(services, alice)
    assert [(m.role, m.content, m.model) for m in conversation.messages] == [
        ("user", "Hello there", None),
        ("assistant", reply, "openai/gpt-4o-mini"),
    ]
    assert chat_list(at) == ["Hello there"]


def test_user_text_and_model_output_are_rendered_escaped(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    fake.reply = "<img src=x onerror=alert(2)>"
    at = send(chat_page(), "<script>alert(1)</script>")
    bodies = [md for message in at.chat_message for md in message.markdown]
    assert {md.value for md in bodies} >= {"<script>alert(1)</script>", fake.reply}
    assert not any(md.proto.allow_html for md in bodies)


def test_conversations_are_listed_newest_first_and_reopened_after_a_restart(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "First question")
    at.button(key="new_chat").click().run()
    assert shown_messages(at) == []
    send(at, "Second question\nwith a second line")
    assert chat_list(at) == ["Second question", "First question"]

    from ui.state import _open

    _open.clear()  # a restart: nothing cached, a new session on the same data folder
    restarted = chat_page()
    assert chat_list(restarted) == ["Second question", "First question"]
    assert shown_messages(restarted) == [], "a new session opens a new chat"
    first = services.conversations.list(alice.id)[1]
    restarted.sidebar.button(key=f"chat_open:{first.id}").click().run()
    assert shown_messages(restarted) == [
        ("user", "First question"),
        ("assistant", fake.reply_text("openai", "gpt-4o-mini")),
    ]


def test_rename_then_delete_a_conversation(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "Plan a trip")
    conversation_id = saved(services, alice).id

    at.text_input(key=f"chat_title:{conversation_id}").input("   ")
    at.button(key="chat_rename").click().run()
    assert any("The title is empty" in e.value for e in at.error)
    at.text_input(key=f"chat_title:{conversation_id}").input("Trip plans")
    at.button(key="chat_rename").click().run()
    assert services.conversations.get(alice.id, conversation_id).title == "Trip plans"
    assert chat_list(at) == ["Trip plans"]
    assert [t.value for t in at.toast] == ["Renamed to “Trip plans”."]

    at.button(key="chat_delete").click().run()
    assert services.conversations.list(alice.id), "nothing is deleted before the confirmation"
    assert [w.value for w in at.warning] == ["Delete this chat? It cannot be undone."]
    at.button(key="chat_delete_cancel").click().run()
    assert services.conversations.list(alice.id) and not at.warning, "Cancel deletes nothing and asks no more"
    at.button(key="chat_delete").click().run()
    at.button(key="chat_delete_confirm").click().run()
    assert services.conversations.list(alice.id) == []
    assert chat_list(at) == [] and shown_messages(at) == []
    assert [t.value for t in at.toast] == ["Chat deleted."]


def test_stop_keeps_the_partial_reply_marked_interrupted(
    services: Services, alice: UserPublic, pausing: PausingOpenAI, runners: list[LocalScriptRunner]
) -> None:
    services.credentials.save(alice.id, "openai", {"api_key": pausing.key})
    at = chat_page()
    stopper = stop_when(at, runners, alice, lambda turn: turn.reply.text == pausing.sent_before_pause)
    send(at, "Tell me a story")
    stopper.join()
    at.button(key="chat_stop").click().run()  # the click's own run, which Streamlit starts at once: it stops it
    pausing.release()
    assert not at.exception, at.exception

    conversation = saved(services, alice)
    assert [(m.role, m.content, m.interrupted, m.error) for m in conversation.messages] == [
        ("user", "Tell me a story", False, None),
        ("assistant", pausing.sent_before_pause, True, None),
    ]
    assert conversation.messages[1].model == "openai/gpt-4o-mini"
    assert [t.value for t in at.toast] == ["Stopped. What arrived is kept."]
    assert shown_messages(at) == [("user", "Tell me a story"), ("assistant", pausing.sent_before_pause.strip())]
    assert any(c.value.endswith("interrupted") for c in at.caption)
    assert len(saved(services, alice).messages) == 2, "the reply was saved once"
    assert len(pausing.requests) == 1


def test_stop_before_the_first_token_keeps_the_question(
    services: Services, fake: FakeProviders, alice: UserPublic, runners: list[LocalScriptRunner]
) -> None:
    with_keys(services, fake, alice, "openai")
    at = chat_page()
    fake.fail("openai", "hang")
    stopper = stop_when(at, runners, alice, lambda turn: turn.reply.started_at is not None and chat_posts(fake))
    send(at, "Are you there?")
    stopper.join()
    at.button(key="chat_stop").click().run()
    assert [(m.role, m.content, m.interrupted) for m in saved(services, alice).messages] == [
        ("user", "Are you there?", False),
        ("assistant", "", True),
    ]
    assert "Stopped before any text arrived." in page_text(at)
    assert shown_messages(at) == [("user", "Are you there?")]


def drawn_text(runner: LocalScriptRunner, text: str) -> bool:
    """Whether the run has sent the browser a text element (markdown, caption) holding `text`."""
    return any(
        message.WhichOneof("type") == "delta"
        and message.delta.WhichOneof("type") == "new_element"
        and message.delta.new_element.WhichOneof("type") == "markdown"
        and text in message.delta.new_element.markdown.body
        for message in list(runner.forward_msg_queue._queue)
    )


def when_drawn(runners: list[LocalScriptRunner], after: int, text: str, then: Callable[[], object]) -> list[bool]:
    """On a thread: once a run started after the first `after` runs has drawn `text`, call `then()`; [True] once."""
    seen: list[bool] = []

    def act() -> None:
        try:
            wait_for(lambda: len(runners) > after and drawn_text(runners[-1], text))
            seen.append(True)
        finally:
            then()

    threading.Thread(target=act, daemon=True).start()
    return seen


def test_a_reply_goes_on_across_a_page_switch_and_a_new_run_attaches_to_it(
    services: Services, alice: UserPublic, pausing: PausingOpenAI, runners: list[LocalScriptRunner]
) -> None:
    """The run that sent it ends mid-reply (a click elsewhere, Streamlit's own Stop, a reload): the reply goes on,
    the message box says it waits, and the next Chat run shows it as far as it has come and growing."""
    services.credentials.save(alice.id, "openai", {"api_key": pausing.key})
    at = chat_page()
    leaver = stop_when(at, runners, alice, lambda turn: turn.reply.text == pausing.sent_before_pause)
    send(at, "Tell me a story")
    leaver.join()
    box = at.chat_input(key="chat_input")
    assert box.proto.disabled and box.proto.placeholder == WAITING_PLACEHOLDER
    open_page(at, "models")
    turn = running_reply(alice)
    assert turn is not None and not turn.reply.settled, "the reply goes on without the page"
    seen = when_drawn(runners, len(runners), pausing.sent_before_pause.strip(), then=pausing.release)
    open_page(at, "chat")  # attaches, shows what arrived, and ends once the reply is saved
    assert seen == [True], "the new run showed the running reply"
    story = "".join(STORY)
    assert shown_messages(at) == [("user", "Tell me a story"), ("assistant", story.strip())]
    assert [(m.content, m.interrupted) for m in saved(services, alice).messages] == [
        ("Tell me a story", False),
        (story, False),
    ]
    assert len(pausing.requests) == 1, "one reply, watched twice"
    assert not at.chat_input(key="chat_input").proto.disabled
    assert "interrupted" not in page_text(at)


def test_the_page_says_whom_it_waits_for_and_gives_up_after_the_first_token_timeout(
    services: Services,
    fake: FakeProviders,
    alice: UserPublic,
    monkeypatch: pytest.MonkeyPatch,
    runners: list[LocalScriptRunner],
) -> None:
    monkeypatch.setenv("APP_FIRST_TOKEN_TIMEOUT", "2")
    with_keys(services, fake, alice, "openai")
    at = chat_page()
    fake.fail("openai", "hang")
    seen = when_drawn(runners, len(runners), "Waiting for OpenAI · 1 s", then=lambda: None)
    send(at, "Anyone there?")
    assert seen == [True], "the waiting note counted the seconds"
    assert any("OpenAI sent nothing for 2 s" in e.value for e in at.error), [e.value for e in at.error]
    assert shown_messages(at)[0] == ("user", "Anyone there?")
    assert "Waiting for OpenAI" not in page_text(at), "the note goes once the reply has settled"


def test_switching_models_mid_chat_and_regenerating(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    with_keys(services, fake, alice, "openai", "anthropic")
    at = send(chat_page(), "Hi")
    send(pick(at, "anthropic/claude-3-5-haiku"), "And you?")
    assert [m.model for m in saved(services, alice).messages] == [
        None,
        "openai/gpt-4o-mini",
        None,
        "anthropic/claude-3-5-haiku",
    ]
    captions = [c.value for c in at.caption]
    assert any(c.startswith("openai/gpt-4o-mini · ") for c in captions)
    assert any(c.startswith("anthropic/claude-3-5-haiku · ") for c in captions)

    pick(at, "openai/gpt-4o")
    at.button(key="chat_regenerate").click().run()
    assert not at.exception, at.exception
    messages = saved(services, alice).messages
    assert [m.model for m in messages] == [None, "openai/gpt-4o-mini", None, "openai/gpt-4o"]
    assert messages[-1].content == fake.reply_text("openai", "gpt-4o")
    assert shown_messages(at)[-1] == ("assistant", fake.reply_text("openai", "gpt-4o"))
    assert fake.reply_text("anthropic", "claude-3-5-haiku-latest") not in page_text(at)
    sent = chat_posts(fake, "openai")[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent][-1] == ("user", "And you?")


def test_a_chats_settings_are_applied_and_kept(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    providers = ("openai", "anthropic", "gemini", "xai", "azure")
    with_keys(services, fake, alice, *providers)
    at = chat_page()
    at.text_area(key="chat_system:new").input("Answer like a pirate.")
    at.number_input(key="chat_temperature:new").set_value(0.4)
    at.number_input(key="chat_max_tokens:new").set_value(321)
    at.button(key="chat_settings_apply:new").click().run()
    assert [t.value for t in at.toast] == ["Settings saved for this chat."]
    for ref in ("openai/gpt-4o-mini", "anthropic/claude-3-5-haiku", "gemini/gemini-1.5-pro", "xai/grok-2-mini"):
        send(pick(at, ref), f"Ahoy {ref}?")
    send(pick(at, "azure/my-gpt4o"), "Ahoy Azure?")
    for provider in providers:
        system, temperature, limit = system_prompts_and_limits(chat_posts(fake, provider)[-1])
        assert "Answer like a pirate." in system, provider
        assert (temperature, limit) == (0.4, 321), provider

    conversation = saved(services, alice)
    assert (conversation.settings.system_prompt, conversation.settings.max_tokens) == ("Answer like a pirate.", 321)
    at.number_input(key=f"chat_max_tokens:{conversation.id}").set_value(99)
    at.button(key=f"chat_settings_apply:{conversation.id}").click().run()
    send(pick(at, "openai/gpt-4o"), "Shorter now?")
    assert chat_posts(fake, "openai")[-1].body["max_tokens"] == 99

    at.button(key="new_chat").click().run()
    assert at.text_area(key="chat_system:new").value == "", "a new chat starts from the defaults"


def test_bad_settings_are_refused_and_change_nothing(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "Hi")
    conversation = saved(services, alice)
    at.text_area(key=f"chat_system:{conversation.id}").input("x" * 20_001)
    at.button(key=f"chat_settings_apply:{conversation.id}").click().run()
    assert any("system prompt is too long" in e.value for e in at.error)
    assert saved(services, alice).settings == conversation.settings


def test_usage_and_cost_per_reply_and_per_conversation(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai", "xai")
    at = send(chat_page(), "Hi")
    send(pick(at, "xai/grok-2"), "Hi again")
    priced, unpriced = (m for m in saved(services, alice).messages if m.role == "assistant")
    assert priced.cost is not None and unpriced.cost is None
    captions = [c.value for c in at.caption]
    assert (
        f"openai/gpt-4o-mini · {priced.prompt_tokens} in / {priced.completion_tokens} out tokens · cost "
        + (format_cost(priced.cost))
        in captions
    )
    assert f"xai/grok-2 · {unpriced.prompt_tokens} in / {unpriced.completion_tokens} out tokens · cost unknown" in (
        captions
    )
    total = describe_usage(saved(services, alice).usage())
    assert total in captions and "+ unknown for 1 reply" in total


def test_compare_two_or_three_models_side_by_side(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    with_keys(services, fake, alice, "openai", "anthropic", "gemini")
    at = chat_page()
    at.segmented_control(key="chat_mode").set_value("Compare").run()
    refs = ["openai/gpt-4o-mini", "anthropic/claude-3-5-sonnet", "gemini/gemini-1.5-flash"]
    at.multiselect(key="compare_models").set_value(refs).run()
    send(at, "Which is best?", key="compare_input")
    replies = [
        fake.reply_text("openai", "gpt-4o-mini"),
        fake.reply_text("anthropic", "claude-3-5-sonnet-latest"),
        fake.reply_text("gemini", "gemini-1.5-flash"),
    ]
    columns = [column for column in at.columns if column.markdown and column.subheader]
    assert [[md.value for md in column.markdown] for column in columns] == [[reply] for reply in replies]
    for column in columns:
        (speed,) = [c.value for c in column.caption]
        assert speed.startswith("first token after ") and "tokens/s" in speed and "cost " in speed
    assert sorted(r.provider for r in chat_posts(fake)) == ["anthropic", "gemini", "openai"]
    assert services.conversations.list(alice.id) == [], "compared replies are not saved"

    at.multiselect(key="compare_models").set_value(["openai/gpt-4o", "xai/grok-2"]).run()
    send(at, "And now?", key="compare_input")
    columns = [column for column in at.columns if column.subheader and (column.markdown or column.error)]
    assert len(columns) == 2
    assert [md.value for md in columns[0].markdown] == [fake.reply_text("openai", "gpt-4o")]
    assert [e.value for e in columns[1].error] == ["No xAI key is saved. Add one in Profile → Provider Keys → xAI."]


def test_compare_shows_a_dash_for_an_unknown_price_never_zero(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.models["anthropic"] += ["claude-sonnet-4-20250514"]  # litellm would price it at $0 without knowing it
    with_keys(services, fake, alice, "openai", "anthropic")
    at = chat_page()
    at.segmented_control(key="chat_mode").set_value("Compare").run()
    at.multiselect(key="compare_models").set_value(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-20250514"]).run()
    send(at, "What does it cost?", key="compare_input")
    columns = [column for column in at.columns if column.subheader and column.markdown]
    (priced,), (unpriced,) = ([c.value for c in column.caption] for column in columns)
    assert unpriced.endswith(" tokens/s · cost —") and "$" not in unpriced
    assert re.fullmatch(r"first token after \d+\.\d\d s · (?:[\d,]+|—) tokens/s · cost \$0\.0000\d\d", priced)


def test_stop_during_a_comparison_keeps_every_column(
    services: Services,
    fake: FakeProviders,
    alice: UserPublic,
    pausing: PausingOpenAI,
    runners: list[LocalScriptRunner],
) -> None:
    services.credentials.save(alice.id, "openai", {"api_key": pausing.key})
    with_keys(services, fake, alice, "anthropic")
    at = chat_page()
    at.segmented_control(key="chat_mode").set_value("Compare").run()
    at.multiselect(key="compare_models").set_value(["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku"]).run()

    def paused_and_other_done(comparison: Any) -> bool:
        slow, other = comparison.replies
        return slow.text == pausing.sent_before_pause and other.settled

    stopper = stop_when(
        at, runners, alice, paused_and_other_done, button="compare_stop", streaming=lambda: in_flight(at, alice)
    )
    send(at, "Race!", key="compare_input")
    stopper.join()
    pausing.release()
    at.button(key="compare_stop").click().run()
    assert [t.value for t in at.toast] == ["Stopped. What arrived is kept."]
    columns = [column for column in at.columns if column.subheader and column.markdown]
    assert [[md.value for md in column.markdown] for column in columns] == [
        [pausing.sent_before_pause.strip()],
        [fake.reply_text("anthropic", "claude-3-5-haiku-latest")],
    ]
    assert [c.value for c in columns[0].caption][-1] == "interrupted"
    assert "interrupted" not in [c.value for c in columns[1].caption]


def test_compare_needs_two_models(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    with_keys(services, fake, alice, "openai")
    at = chat_page()
    at.segmented_control(key="chat_mode").set_value("Compare").run()
    at.multiselect(key="compare_models").set_value(["openai/gpt-4o"]).run()
    send(at, "Alone?", key="compare_input")
    assert [e.value for e in at.error] == ["Pick 2 or 3 different models to compare."]
    assert chat_posts(fake) == []


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What each download button would hand the browser, by file name."""
    files: dict[str, bytes] = {}
    original = MediaFileManager.add

    def add(
        self: MediaFileManager, data: Any, mimetype: str, coordinates: str, file_name: str | None = None, **kw: Any
    ):
        files[file_name or coordinates] = data if isinstance(data, bytes) else str(data).encode()
        return original(self, data, mimetype, coordinates, file_name=file_name, **kw)

    def add_deferred(self: MediaFileManager, data: Any, mimetype: str | None, coordinates: str, file_name=None, **kw):
        made = data()  # what the click would hand the browser, made now (the page passes a callable: made on click)
        files[file_name or coordinates] = made if isinstance(made, bytes) else str(made).encode()
        return original_deferred(self, data, mimetype, coordinates, file_name=file_name, **kw)

    original_deferred = MediaFileManager.add_deferred
    monkeypatch.setattr(MediaFileManager, "add", add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return files


def test_export_as_markdown_and_json(
    services: Services, fake: FakeProviders, alice: UserPublic, downloads: dict[str, bytes]
) -> None:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "Export me")
    assert [b.label for b in at.download_button] == ["Markdown", "JSON"]
    conversation = saved(services, alice)
    assert downloads["chat-export-me.md"].decode() == to_markdown(conversation)
    document = json.loads(downloads["chat-export-me.json"])
    assert document == json.loads(to_json(conversation))
    assert [m["content"] for m in document["messages"]] == ["Export me", fake.reply_text("openai", "gpt-4o-mini")]


def test_a_reply_saved_while_it_streams_is_shown_counted_and_exported_once(
    services: Services, fake: FakeProviders, alice: UserPublic, downloads: dict[str, bytes]
) -> None:
    with_keys(services, fake, alice, "openai")
    words = [f"w{number}" for number in range(50)]
    fake.reply, fake.chunks, fake.pace = " ".join(words), len(words), 0.04  # 2 s
    at = chat_page()
    rows: list[tuple[str, bool]] = []  # the reply's row, as another tab or a crash would find it
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            listed = services.conversations.list(alice.id)
            messages = services.conversations.get(alice.id, listed[0].id).messages if listed else []
            if len(messages) == 2 and (not rows or rows[-1][0] != messages[1].content):
                rows.append((messages[1].content, messages[1].interrupted))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    send(at, "Tell me a story")
    done.set()
    watcher.join()
    assert any(interrupted and 0 < len(content) < len(fake.reply) for content, interrupted in rows), rows
    assert shown_messages(at) == [("user", "Tell me a story"), ("assistant", fake.reply)]
    conversation = saved(services, alice)
    assert [(m.role, m.interrupted) for m in conversation.messages] == [("user", False), ("assistant", False)]
    assert [c.value for c in at.caption].count(describe_usage(conversation.usage())) == 1
    assert conversation.usage().replies == 1
    assert downloads["chat-tell-me-a-story.md"].decode().count(fake.reply) == 1
    assert [m["content"] for m in json.loads(downloads["chat-tell-me-a-story.json"])["messages"]] == [
        "Tell me a story",
        fake.reply,
    ]


# (what goes wrong, how to set it up, model to use, what the user is told, what stays of the reply)
ERRORS = [
    ("no key saved", [], "anthropic/claude-3-5-sonnet", "No Anthropic key is saved", "missing_credential"),
    ("key rejected", ["revoked"], "openai/gpt-4o-mini", "OpenAI rejected the saved key.", "rejected_key"),
    ("no access", ["forbidden"], "openai/gpt-4o-mini", "refused access to gpt-4o-mini", "no_access"),
    ("unknown model", [], "openai/gpt-9", "does not offer the model gpt-9", "not_found"),
    ("no such deployment", [], "azure/not-deployed", "no deployment named not-deployed", "not_found"),
    ("rate limited", ["rate_limit"], "openai/gpt-4o-mini", "wait 2 s", "rate_limited"),
    ("provider down", ["server_error"], "gemini/gemini-1.5-flash", "is having problems (HTTP 500)", "provider_down"),
    ("timeout", ["hang"], "xai/grok-2", "did not answer in time", "timeout"),
    ("stream cut", ["cut_stream"], "anthropic/claude-3-5-haiku", "was cut off", "interrupted"),
]


@pytest.mark.parametrize(("case", "setup", "model_ref", "told", "kind"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_say_what_to_do_and_keep_the_users_message(
    services: Services,
    fake: FakeProviders,
    alice: UserPublic,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    setup: list[str],
    model_ref: str,
    told: str,
    kind: str,
) -> None:
    provider = model_ref.split("/")[0]
    if case != "no key saved":
        with_keys(services, fake, alice, "openai", "gemini", "xai", "anthropic", "azure")
    if "revoked" in setup:
        save_key(services, fake, alice, provider, "sk-revoked-sentinel-0000")
    if case == "rate limited":
        monkeypatch.setenv("APP_MAX_RETRIES", "1")
        monkeypatch.setenv("APP_RETRY_MAX_WAIT", "0.01")
    if case == "timeout":
        monkeypatch.setenv("APP_REQUEST_TIMEOUT", "1")
    at = pick(chat_page(), model_ref)
    for failure in set(setup) - {"revoked"}:  # after the page listed the models, so the chat request gets it
        fake.fail(provider, failure, times=None if failure == "rate_limit" else 1)
    send(at, "My precious question")

    assert any(told in e.value for e in at.error), [e.value for e in at.error]
    assert shown_messages(at)[0] == ("user", "My precious question")
    question, answer = saved(services, alice).messages
    assert (question.role, question.content) == ("user", "My precious question")
    assert (answer.role, answer.model, answer.error_kind) == ("assistant", model_ref, kind)
    assert "sk-revoked" not in page_text(at)
    profile_links = [link for link in at.page_link if "Profile" in link.proto.label]
    assert bool(profile_links) == (kind in {"missing_credential", "rejected_key"})
    if case == "no key saved":
        assert fake.requests == [], "no network call without a key"
    if case == "rate limited":
        assert len(chat_posts(fake)) == 2 and "Tried 2 times" in answer.error
    if case == "stream cut":
        assert answer.interrupted and answer.content and shown_messages(at)[1] == ("assistant", answer.content)


def test_open_chat_with_goes_to_chat_with_the_model_in_its_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a Chat button elsewhere calls: the browser goes to Chat, the model named in the address."""
    import streamlit

    switched: list[tuple[str, Any]] = []
    monkeypatch.setattr(streamlit, "switch_page", lambda page, query_params=None: switched.append((page, query_params)))

    def models_page() -> None:
        import streamlit as st

        from ui.chat.address import open_chat_with

        if st.button("Chat", key="chat_with"):
            open_chat_with("anthropic/claude-3-5-haiku")

    at = AppTest.from_function(models_page).run()
    at.button(key="chat_with").click().run()
    assert switched == [("pages/chat.py", {"model": "anthropic/claude-3-5-haiku"})]


@pytest.mark.parametrize(
    ("requested", "shown"),
    [
        ("anthropic/claude-3-5-haiku", "Claude 3.5 Haiku — claude-3-5-haiku · Anthropic"),
        ("azure/not-listed", "azure/not-listed"),
    ],
)
def test_chat_opens_with_the_requested_model(
    services: Services, fake: FakeProviders, alice: UserPublic, requested: str, shown: str
) -> None:
    with_keys(services, fake, alice, "openai", "anthropic", "azure")
    at = open_page(signed_in(), "models")
    at.query_params["model"] = requested  # where open_chat_with sends the browser (tested above)
    open_page(at, "chat")
    picker = at.selectbox(key="chat_model")
    assert picker.value == requested and picker.options[picker.index] == shown
    send(at, "Hi")
    assert saved(services, alice).messages[-1].model == requested


def test_users_only_ever_see_their_own_chats(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    send(chat_page("alice"), "Alice's secret plan")
    alices = saved(services, alice).id
    at = chat_page("bob")
    assert chat_list(at) == []
    at.session_state[ChatSession.key(bob.id)].conversation_id = alices  # even if Bob's session pointed at it
    at.run()
    assert "Alice's secret plan" not in page_text(at)
    assert [t.value for t in at.toast] == [
        "This chat no longer exists (it may have been deleted in another tab). Start a new chat."
    ]
    send(at, "Bob's message")
    unchanged = services.conversations.get(alice.id, alices).messages
    assert [(m.role, m.content) for m in unchanged][:1] == [("user", "Alice's secret plan")] and len(unchanged) == 2


@pytest.fixture
def pausing(monkeypatch: pytest.MonkeyPatch, env: Any) -> Iterator[PausingOpenAI]:
    with PausingOpenAI(STORY, before=2) as server:
        monkeypatch.setenv("OPENAI_API_BASE", server.base)
        yield server


def test_no_key_is_reachable_from_the_session_while_a_reply_streams(
    services: Services, alice: UserPublic, pausing: PausingOpenAI, runners: list[LocalScriptRunner]
) -> None:
    key = "sk-sentinel-streaming-key-7777"
    pausing.key = key
    services.credentials.save(alice.id, "openai", {"api_key": key})
    at = chat_page()
    found: list[str] = []

    def look(turn: Any) -> bool:
        if turn.reply.text != pausing.sent_before_pause:
            return False
        state = {name: at.session_state[name] for name in at.session_state}
        found.extend(text for text in reachable_strings(state) if key[3:] in text)
        return True

    stopper = stop_when(at, runners, alice, look)
    send(at, "Hello")
    stopper.join()
    pausing.release()
    at.run()
    assert found == [], "while streaming"
    state = {name: at.session_state[name] for name in at.session_state}
    assert [text for text in reachable_strings(state) if key[3:] in text] == [], "afterwards"


# The team's servers (the admin's registry): no key of the user's

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def test_a_team_server_model_is_offered_and_answers_a_user_without_keys(
    services: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SERVER_KEY_ENV, SERVER_KEY)
    register(services, team_server("gpu-box", fake.base("server"), label="GPU box (vLLM)"))
    at = chat_page()
    options = at.selectbox(key="chat_model").options
    assert options[:2] == [f"{LLAMA} · GPU box (vLLM)", "Qwen/Qwen2.5-7B-Instruct · GPU box (vLLM)"]
    at = send(pick(at, f"server/gpu-box/{LLAMA}"), "Hello team")
    reply = fake.reply_text("server", LLAMA)
    assert shown_messages(at) == [("user", "Hello team"), ("assistant", reply)]
    assert [(m.content, m.model) for m in saved(services, alice).messages] == [
        ("Hello team", None),
        (reply, f"server/gpu-box/{LLAMA}"),
    ]
    assert [post.key for post in chat_posts(fake, "server")] == [SERVER_KEY]
    assert SERVER_KEY not in page_text(at)


def test_a_team_server_refusing_its_key_says_to_ask_the_admin_and_links_no_profile(
    services: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SERVER_KEY_ENV, "an-old-key-the-server-no-longer-takes")
    register(services, team_server("gpu-box", fake.base("server"), f'["{LLAMA}"]'))
    at = send(chat_page(), "Anyone there?")
    refused = "gpu-box, your team's server, refused this app's key for it. Ask your admin to check the server's key."
    assert [e.value for e in at.error] == [refused]
    assert not [link for link in at.page_link if "Profile" in link.proto.label], "the key is the admin's, not theirs"
    assert [m.role for m in saved(services, alice).messages] == ["user", "assistant"]
