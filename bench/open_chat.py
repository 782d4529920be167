"""Open a saved chat in the Chat page (AppTest): a chat of 10 messages and one of 1,000, seeded for the user, each
opened from the chat list as a click does; the time is that of the script runs until the page is drawn, its last
message on it (checked)."""

from __future__ import annotations

from collections.abc import Callable

from bench.measure import Sample, interleave
from bench.pages import Probe, open_page, sign_in, timed_run
from core.accounts.users import UserPublic
from core.chat.conversations import Message
from core.services import Services

SIZES = (10, 1_000)
WORDS = "a question about the weather, the garden and what to cook tonight, with a **longer** answer after it"
MODEL = "openai/gpt-4o-mini"


def seed_chat(services: Services, user: UserPublic, size: int) -> tuple[int, str]:
    """A saved chat of `size` messages, questions and replies taking turns; its id and its last message's text."""
    messages = [
        Message("user", f"{WORDS} (question {n})")
        if n % 2 == 0
        else Message("assistant", f"{WORDS} (reply {n})", model=MODEL, prompt_tokens=20, completion_tokens=40)
        for n in range(size)
    ]
    chat = services.conversations.create(user.id, first=messages)
    assert chat.id is not None  # saved
    return chat.id, messages[-1].content


class OpenChat:
    """A signed-in Chat page; each `open(chat_id)` starts from a new chat, then opens the saved one from the list."""

    def __init__(self, user: UserPublic, watch: Probe) -> None:
        self.watch = watch
        self.at = open_page(sign_in(user.username), "chat")

    def open(self, chat_id: int, last: str) -> Sample:
        self.at.button(key="new_chat").click().run()
        self.at.button(key=f"chat_open:{chat_id}").click()
        cpu, seconds = timed_run(self.at, self.watch)
        shown = [" ".join(md.value for md in message.markdown) for message in self.at.chat_message]
        if not shown or last not in shown[-1]:
            raise RuntimeError(f"the chat's last message is not the last one drawn: {shown[-1:]!r}")
        return Sample(None, seconds, cpu)


def measure_opens(services: Services, user: UserPublic, watch: Probe, runs: int) -> dict[int, list[Sample]]:
    """Samples of opening each of `SIZES`, the sizes taking turns."""
    page = OpenChat(user, watch)
    chats = {size: seed_chat(services, user, size) for size in SIZES}
    opens: dict[int, Callable[[], Sample]] = {
        size: (lambda chat_id=chat_id, last=last: page.open(chat_id, last)) for size, (chat_id, last) in chats.items()
    }
    return interleave(opens, runs, warmup=2)
