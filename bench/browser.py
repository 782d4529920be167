"""Speed a person feels, in headless Chromium against the real server (`streamlit run asgi.py`, as the browser tests
start it, providers routed to the loopback fakes), each row beside its floor taken in the same run:

    python -m bench.browser [--runs 10] [--sessions 50] [--only start,signin,switch,chat,memory] [--markdown]

Figures are medians with min-max (page switches: p50 and p95); times come from the page's own clock
(bench/page_clock.py), memory is the server process's RSS.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench import browser_rows as rows
from bench.browser_rows import Figure
from bench.measure import interleave
from bench.page_clock import last_holds, message_box, rss_mib, seen, settle, settled_after_click, shown, watch
from core.chat.conversations import Message
from tests.browser import (
    OPENAI_KEY,
    Server,
    fill_sign_in,
    launched_browser,
    new_page,
    running_server,
    wait_for_cookie,
)
from tests.fakes.providers import FakeProviders

GROUPS = ("start", "signin", "switch", "chat", "memory")
BARE_PAGES = "bench/bare_pages/app.py"
HELLO = "bench/hello.py"
SIGN_IN_FORM = shown("button", "Sign in")
HELLO_TEXT = shown("[data-testid='stMarkdownContainer']", "hi")
PAGE_SHOWN = {
    "Profile": shown("h1", "Profile"),
    "Models": shown("h1", "Models"),
    "Chat": message_box(),
}
SWITCHES = (("Profile", "Models"), ("Models", "Chat"), ("Chat", "Models"), ("Models", "Profile"))
CHAT_SIZES = (10, 1000)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="recorded runs per figure (default 10)")
    parser.add_argument("--sessions", type=int, default=50, help="signed-in sessions of the memory row (default 50)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated, of: {', '.join(GROUPS)}")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := args.only - set(GROUPS):
        parser.error(f"unknown --only group(s): {', '.join(sorted(unknown))}")
    return args


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


@contextmanager
def server(fake: FakeProviders, app: str = "asgi.py") -> Iterator[Server]:
    """A server in a fresh data folder (Alice made straight in the database), health asked every 20 ms."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp,
        running_server(Path(tmp), fake, admin_cli=False, app=app, poll=0.02) as started,
    ):
        yield started


def cold_start(browser: Any, fake: FakeProviders, app: str, condition: str) -> tuple[float, float]:
    """`streamlit run` to `condition` in a new tab opened once the server is healthy: seconds, and RSS in MiB."""
    with server(fake, app) as started:
        page = watch(new_page(browser))
        page.goto(started.url, wait_until="commit")
        at = seen(page, condition, since_epoch=True)
        rss = rss_mib(started.process.pid)
        page.context.close()
    return at - started.started, rss


def measure_start(browser: Any, fake: FakeProviders, runs: int) -> list[Figure]:
    samples = interleave(
        {
            "app": lambda: cold_start(browser, fake, "asgi.py", SIGN_IN_FORM),
            "hello": lambda: cold_start(browser, fake, HELLO, HELLO_TEXT),
        },
        runs,
        warmup=1,
    )
    app, hello = samples["app"], samples["hello"]
    return [
        Figure("Cold start: streamlit run → sign-in form shown", [t for t, _ in app], "s", [t for t, _ in hello], 1.3),
        Figure("Server RSS at that point", [m for _, m in app], "MiB", [m for _, m in hello]),
    ]


def sign_in_once(browser: Any, url: str) -> float:
    """A new tab: the form, then Sign in clicked to the first page (Chat) settled, in seconds."""
    page = watch(new_page(browser))
    try:
        page.goto(url)
        settle(page, SIGN_IN_FORM)
        return settled_after_click(page, fill_sign_in(page), message_box())
    finally:
        page.context.close()


def signed_in(browser: Any, url: str, cookies: list[dict] | None = None) -> Any:
    """A tab signed in (by the form, or by `cookies`) and settled on Chat."""
    page = watch(new_page(browser, cookies))
    page.goto(url)
    if not cookies:
        settle(page, SIGN_IN_FORM)
        fill_sign_in(page).click()
    settle(page, message_box())
    return page


def switch_round(page: Any) -> dict[str, float]:
    """Profile → Models → Chat → Models → Profile by the sidebar's navigation: seconds per switch."""
    page.bring_to_front()  # the other path's tab was in front: a tab behind gets no animation frames
    nav = page.get_by_test_id("stSidebarNav")
    return {
        f"{before} → {after}": settled_after_click(page, nav.get_by_role("link", name=after), PAGE_SHOWN[after])
        for before, after in SWITCHES
    }


def measure_pages(browser: Any, app: Server, bare: Server, only: set[str], runs: int) -> list[Figure]:
    figures: list[Figure] = []
    if "signin" in only:
        samples = interleave(
            {"app": lambda: sign_in_once(browser, app.url), "bare": lambda: sign_in_once(browser, bare.url)}, runs
        )
        figures.append(Figure("Sign-in: submit → Chat settled", samples["app"], "ms", samples["bare"], 1.3))
        progress("measured: sign-in")
    if "switch" in only:
        tabs = {name: signed_in(browser, started.url) for name, started in (("app", app), ("bare", bare))}
        for tab in tabs.values():
            switch_round(tab)  # lands on Profile at the end
        switches = interleave({name: lambda tab=tab: switch_round(tab) for name, tab in tabs.items()}, runs)
        for before, after in SWITCHES:
            name = f"{before} → {after}"
            ours, floor = [s[name] for s in switches["app"]], [s[name] for s in switches["bare"]]
            figures.append(Figure(f"Page switch {name}, p50", ours, "ms", floor, 1.3))
            figures.append(Figure(f"Page switch {name}, p95", ours, "ms", floor, 1.3, stat="p95"))
        for tab in tabs.values():
            tab.context.close()
        progress("measured: page switches")
    return figures


def seed_chat(app: Server, size: int) -> int:
    """A saved chat of `size` messages for Alice; its last message ends with `end_of(size)`."""
    services = app.services()
    alice = services.users.get("alice")
    assert alice is not None
    words = "a question about the weather, the garden and what to cook tonight, with a longer answer after it"
    messages = [Message("user" if n % 2 == 0 else "assistant", f"{words} ({n})") for n in range(size - 1)]
    messages.append(Message("assistant", f"{words} {end_of(size)}"))
    chat = services.conversations.create(alice.id, first=messages)
    services.engine.dispose()
    return chat.id


def end_of(size: int) -> str:
    return f"the-end-of-chat-of-{size}"


def measure_chats(browser: Any, app: Server, runs: int) -> list[Figure]:
    """`?chat=<id>` opened in a signed-in tab: seconds from the navigation to the chat's last message shown."""
    cookie = wait_for_cookie(signed := signed_in(browser, app.url))
    assert cookie is not None
    signed.context.close()
    page = watch(new_page(browser, [cookie]))

    def open_chat(chat_id: int, size: int) -> Callable[[], float]:
        def one() -> float:
            page.goto(f"{app.url}/?chat={chat_id}", wait_until="commit")
            at = seen(page, last_holds("[data-testid='stChatMessage']", end_of(size)))
            settle(page, "true")
            return at

        return one

    chats = {size: seed_chat(app, size) for size in CHAT_SIZES}
    samples = interleave({str(size): open_chat(chat, size) for size, chat in chats.items()}, runs)
    page.context.close()
    progress("measured: saved chats")
    small, large = (samples[str(size)] for size in CHAT_SIZES)
    return [
        Figure(f"Open a saved chat of {CHAT_SIZES[0]} messages → last shown", small, "ms"),
        Figure(f"Open a saved chat of {CHAT_SIZES[1]:,} messages → last shown", large, "ms", small, 1.5),
    ]


def measure_memory(browser: Any, fake: FakeProviders, sessions: int) -> list[Figure]:
    """A fresh server's RSS idle, with one tab signed in by the form, and with `sessions` tabs (the rest by its
    cookie), each settled on Chat."""
    with server(fake) as started:
        save_key(started)
        settle_for = 1.0
        tabs = []
        idle = rss_mib(started.process.pid)
        tabs.append(signed_in(browser, started.url))
        one = rss_mib(started.process.pid)
        cookie = wait_for_cookie(tabs[0])
        assert cookie is not None
        for n in range(sessions - 1):
            tabs.append(signed_in(browser, started.url, [cookie]))
            if n % 10 == 9:
                progress(f"{n + 2} sessions")
        tabs[-1].wait_for_timeout(settle_for * 1000)
        many = rss_mib(started.process.pid)
        for tab in tabs:
            tab.context.close()
    progress("measured: memory")
    return [
        Figure("Server RSS idle, after start", [idle], "MiB"),
        Figure("Server RSS, 1 signed-in session", [one], "MiB"),
        Figure(f"Server RSS, {sessions} signed-in sessions", [many], "MiB"),
        Figure("Per signed-in session", [(many - one) / max(1, sessions - 1)], "MiB"),
    ]


def save_key(started: Server) -> None:
    """An OpenAI key for Alice: she lands on Chat after signing in, and Models lists what it unlocks."""
    services = started.services()
    alice = services.users.get("alice")
    assert alice is not None
    services.credentials.save(alice.id, "openai", {"api_key": OPENAI_KEY})
    services.engine.dispose()


def measure(args: argparse.Namespace) -> list[Figure]:
    figures: list[Figure] = []
    with FakeProviders() as fake, launched_browser() as browser:
        if "start" in args.only:
            figures += measure_start(browser, fake, max(3, args.runs // 2))
            progress("measured: cold start")
        if args.only & {"signin", "switch", "chat"}:
            with ExitStack() as stack:
                app = stack.enter_context(server(fake))
                bare = stack.enter_context(server(fake, BARE_PAGES))
                save_key(app)
                figures += measure_pages(browser, app, bare, args.only, args.runs)
                if "chat" in args.only:
                    figures += measure_chats(browser, app, args.runs)
        if "memory" in args.only:
            figures += measure_memory(browser, fake, args.sessions)
    return figures


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    before = os.getloadavg()
    figures = measure(args)
    after = os.getloadavg()
    print(
        f"\nIn headless Chromium against `streamlit run`, {args.runs} runs a row (cold start: {max(3, args.runs // 2)};"
    )
    print("memory: one reading), the floors in the same run, taking turns. Load average (1/5/15 min):")
    print(f"{rows.load(before)} at the start, {rows.load(after)} at the end, on {os.cpu_count()} CPUs.\n")
    table = rows.table(figures)
    print(rows.plain(*table))
    if args.markdown:
        print("\n" + rows.markdown(*table))


if __name__ == "__main__":
    main()
