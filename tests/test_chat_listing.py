"""The chat list: grouping by day, short titles, and the search over titles and message text (on SQLite and
PostgreSQL), scoped to the user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core.accounts.users import UserPublic
from core.chat.conversations import ConversationSummary, Message
from core.chat.listing import (
    MAX_SEARCH_CHARS,
    ChatMatch,
    day_group,
    group_by_day,
    like_pattern,
    short_title,
    snippet,
)
from core.services import Services

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def chat(services: Services, user: UserPublic, *texts: str, title: str | None = None) -> int:
    """A saved chat with one user message per text (the first names it), renamed to `title` if given."""
    store = services.conversations
    conversation = store.create(user.id)
    for text in texts:
        store.add_message(user.id, conversation.id, Message("user", text))
        store.add_message(user.id, conversation.id, Message("assistant", f"answer to {text}", model="openai/gpt-4o"))
    if title is not None:
        store.rename(user.id, conversation.id, title)
    assert conversation.id is not None
    return conversation.id


def found(services: Services, user: UserPublic, text: str) -> list[int]:
    return [match.id for match in services.chat_search.search(user.id, text)]


@pytest.mark.parametrize(
    ("moment", "group"),
    [
        (NOW, "Today"),
        (NOW + timedelta(minutes=5), "Today"),  # a clock a little ahead
        (datetime(2026, 12, 3, 0, 0, tzinfo=UTC), "Today"),
        (datetime(2026, 12, 2, 23, 59, tzinfo=UTC), "Yesterday"),
        (datetime(2026, 12, 2, 0, 0, tzinfo=UTC), "Yesterday"),
        (datetime(2026, 12, 1, 23, 0, tzinfo=UTC), "Previous 7 days"),
        (datetime(2026, 11, 26, 0, 0, tzinfo=UTC), "Previous 7 days"),
        (datetime(2026, 11, 25, 23, 59, tzinfo=UTC), "Older"),
        (datetime(2025, 1, 1, tzinfo=UTC), "Older"),
        (datetime(2026, 12, 2, 23, 0), "Yesterday"),  # the database's naive times are UTC
    ],
)
def test_a_chat_is_grouped_by_the_calendar_day_of_its_last_activity(moment: datetime, group: str) -> None:
    assert day_group(moment, NOW) == group


def test_days_are_counted_in_the_viewers_time_zone() -> None:
    late_evening_utc = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
    assert day_group(late_evening_utc, NOW) == "Yesterday"
    assert day_group(late_evening_utc, NOW, ZoneInfo("Europe/Berlin")) == "Today", "already 3 December in Berlin"
    assert day_group(NOW, NOW, timezone(timedelta(hours=-10))) == "Today"


def test_groups_keep_the_lists_order_and_leave_out_empty_ones() -> None:
    chats = [
        ConversationSummary(3, "c", NOW - timedelta(hours=1)),
        ConversationSummary(2, "b", NOW - timedelta(days=30)),
        ConversationSummary(1, "a", NOW - timedelta(days=40)),
    ]
    assert group_by_day(chats, NOW) == [("Today", chats[:1]), ("Older", chats[1:])]
    matches = [ChatMatch(5, "e", NOW - timedelta(days=1), "…e…")]
    assert group_by_day(matches, NOW) == [("Yesterday", matches)]
    assert group_by_day([], NOW) == []


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Plan a trip", "Plan a trip"),
        ("x" * 40, "x" * 40),
        ("x" * 41, "x" * 39 + "…"),
        ("Which of these twelve restaurants near the station is open late", "Which of these twelve restaurants near…"),
    ],
)
def test_long_titles_are_shortened_with_an_ellipsis(title: str, shown: str) -> None:
    assert short_title(title) == shown and len(shown) <= 40


def test_a_snippet_is_the_text_around_the_match_on_one_line() -> None:
    text = "Start. " + "filler " * 20 + "the Needle\nis here " + "more " * 30
    part = snippet(text, "needle", width=40)
    assert part.startswith("…") and part.endswith("…") and "the Needle is here" in part and "\n" not in part
    assert snippet("short needle", "needle") == "short needle"


def test_search_finds_titles_and_message_text_most_recent_first(services: Services, alice: UserPublic) -> None:
    by_title = chat(services, alice, "hello", title="Budget for the Lisbon trip")
    by_question = chat(services, alice, "What is the weather in lisbon in May?")
    by_answer = chat(services, alice, "Where should I go?")  # its reply says "answer to Where should I go?"
    chat(services, alice, "Something else")
    assert found(services, alice, "LISBON") == [by_question, by_title], "case-blind, most recent first"
    assert found(services, alice, "answer to where") == [by_answer], "replies are searched too"
    matches = services.chat_search.search(alice.id, "weather")
    assert matches[0].title == "What is the weather in lisbon in May?"
    assert matches[0].snippet is not None and "weather" in matches[0].snippet
    title_only = services.chat_search.search(alice.id, "budget")
    assert [(m.id, m.snippet) for m in title_only] == [(by_title, None)], "a title match has no snippet"


def test_search_never_finds_another_users_chats(services: Services, alice: UserPublic, bob: UserPublic) -> None:
    chat(services, alice, "my secret plan", title="Secret plan")
    mine = chat(services, bob, "bob's own plan")
    assert found(services, bob, "secret") == []
    assert found(services, bob, "plan") == [mine]
    assert found(services, alice, "bob's") == []


@pytest.mark.parametrize("wildcard", ["%", "_", "\\", "50%_off\\"])
def test_wildcard_characters_are_searched_literally(services: Services, alice: UserPublic, wildcard: str) -> None:
    literal = chat(services, alice, "Prices: 50%_off\\ today")
    chat(services, alice, "plain words only")
    assert found(services, alice, wildcard) == [literal]


def test_like_patterns_escape_their_wildcards() -> None:
    assert like_pattern("50%_\\") == "%50\\%\\_\\\\%"


@pytest.mark.parametrize("text", ["", "   ", None])
def test_an_empty_search_finds_nothing(services: Services, alice: UserPublic, text: str | None) -> None:
    chat(services, alice, "hello")
    assert found(services, alice, text) == []  # type: ignore[arg-type]


def test_a_search_is_one_line_and_bounded(services: Services, alice: UserPublic) -> None:
    two_words = chat(services, alice, "two words")
    assert found(services, alice, "  two \n words ") == [two_words]
    assert found(services, alice, "x" * (MAX_SEARCH_CHARS + 50)) == []


def test_search_returns_at_most_its_limit(services: Services, alice: UserPublic) -> None:
    ids = [chat(services, alice, f"topic {n}") for n in range(5)]
    assert found(services, alice, "topic")[:3] == ids[::-1][:3]
    assert len(services.chat_search.search(alice.id, "topic", limit=3)) == 3
