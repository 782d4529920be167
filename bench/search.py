"""The chat list's search at 10,000 messages: chats seeded for the user (and as many for another user, whose
messages the search must never read), then one search timed as the sidebar runs it."""

from __future__ import annotations

import time

from bench.measure import Sample, cpu_seconds
from core.accounts.users import UserPublic
from core.chat.conversations import Message
from core.services import Services

MESSAGES = 10_000
PER_CHAT = 20
FOUND = "zanzibar"  # in one message of one chat: the search reads every message to find it
WORDS = "a question about the weather, the garden and what to cook tonight, with a longer answer after it"


def seed_chats(services: Services, user: UserPublic, messages: int = MESSAGES) -> int:
    """`messages` messages in chats of `PER_CHAT`, one of them holding `FOUND`; the number seeded."""
    store = services.conversations
    for chat in range(messages // PER_CHAT):
        first = [
            Message("user" if n % 2 == 0 else "assistant", f"{WORDS} ({chat}-{n})" + (f" {FOUND}" if chat == n else ""))
            for n in range(PER_CHAT)
        ]
        store.create(user.id, first=first)
    return messages // PER_CHAT * PER_CHAT


def search(services: Services, user: UserPublic, text: str) -> Sample:
    started, cpu = time.perf_counter(), cpu_seconds()
    services.chat_search.search(user.id, text)
    return Sample(None, time.perf_counter() - started, cpu_seconds() - cpu)
