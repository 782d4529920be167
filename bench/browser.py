"""Speed a person feels, in headless Chromium against the real server (`streamlit run asgi.py`, providers routed to
the loopback fakes), each row beside its floor taken in the same run, the paths taking turns: cold start against a
one-line app, sign-in and page switches against a bare multipage app of the same navigation and sidebar
(bench/bare_pages). Times come from the page's own clock (bench/page_clock.py)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.measure import interleave
from bench.page_clock import message_box, seen, settle, settled_after_click, shown, watch
from bench.servers import APP, BARE_PAGES, HELLO, Started, app_environ, streamlit
from bench.table import Figure, Target
from core.services import open_services
from tests.browser import OPENAI_KEY, new_page
from tests.fakes.providers import FakeProviders
from tests.helpers import PASSWORD

GROUPS = ("start", "signin", "switch", "memory")
TARGET = Target("ratio", 1.3)
SIGN_IN_FORM = shown("button", "Sign in")
HELLO_TEXT = shown("[data-testid='stMarkdownContainer']", "hi")
PAGE_SHOWN = {"Profile": shown("h1", "Profile"), "Models": shown("h1", "Models"), "Chat": message_box()}
SWITCHES = (("Profile", "Models"), ("Models", "Chat"), ("Chat", "Models"), ("Models", "Profile"))


def progress(text: str) -> None:
    print(f"  measured: {text}", file=sys.stderr, flush=True)


@contextmanager
def app_server(fake: FakeProviders) -> Iterator[Started]:
    """The real server in a fresh data folder: Alice, with an OpenAI key (she lands on Chat, Models lists it)."""
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        environ = app_environ(Path(tmp), fake)
        services = open_services_for(environ)
        alice = services.users.get("alice")
        assert alice is not None
        services.credentials.save(alice.id, "openai", {"api_key": OPENAI_KEY})
        services.engine.dispose()
        with streamlit(APP, Path(tmp), environ) as started:
            yield started


def open_services_for(environ: dict[str, str]) -> Any:
    from core.config import load_settings

    return open_services(load_settings(environ))


@contextmanager
def floor_server(app: str) -> Iterator[Started]:
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp, streamlit(app, Path(tmp)) as started:
        yield started


def cold_start(browser: Any, fake: FakeProviders, app: str) -> float:
    """Seconds from `streamlit run` to the first frame of a tab (opened once the server is healthy) that shows the
    sign-in form (the app) or its one line (the floor)."""
    server = app_server(fake) if app == APP else floor_server(app)
    with server as started:
        page = watch(new_page(browser))
        page.goto(started.url, wait_until="commit")
        at = seen(page, SIGN_IN_FORM if app == APP else HELLO_TEXT, since_epoch=True)
        page.context.close()
    return at - started.started


def measure_start(browser: Any, fake: FakeProviders, runs: int) -> list[Figure]:
    paths = {"app": lambda: cold_start(browser, fake, APP), "hello": lambda: cold_start(browser, fake, HELLO)}
    samples = interleave(paths, runs, warmup=1)
    progress("cold start")
    row = "Cold start: streamlit run asgi.py → sign-in form shown (browser)"
    return [Figure(row, samples["app"], "s", "one-line app", samples["hello"], TARGET)]


def fill_sign_in(page: Any) -> Any:
    """Alice's name and password in the sign-in form; its Sign in button, to click."""
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    return page.get_by_role("button", name="Sign in")


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


def measure_sign_in(browser: Any, app: Started, bare: Started, runs: int) -> list[Figure]:
    paths = {"app": lambda: sign_in_once(browser, app.url), "bare": lambda: sign_in_once(browser, bare.url)}
    samples = interleave(paths, runs, warmup=1)
    progress("sign-in")
    ours, floor = [s * 1000 for s in samples["app"]], [s * 1000 for s in samples["bare"]]
    return [Figure("Sign-in: submit → Chat settled (browser)", ours, "ms", "bare pages", floor, TARGET)]


def measure_switches(browser: Any, app: Started, bare: Started, runs: int) -> list[Figure]:
    """Every switch of a round, p50 and p95 over all of them (the runs × 4 switches), against the bare pages'."""
    tabs = {"app": signed_in(browser, app.url), "bare": signed_in(browser, bare.url)}
    for tab in tabs.values():
        switch_round(tab)  # a warm-up round from Chat, ending on Profile
    rounds = interleave({name: lambda tab=tab: switch_round(tab) for name, tab in tabs.items()}, runs, warmup=0)
    for tab in tabs.values():
        tab.context.close()
    progress("page switches")
    ours = [s * 1000 for one in rounds["app"] for s in one.values()]
    floor = [s * 1000 for one in rounds["bare"] for s in one.values()]
    row = "Page switch Profile → Models → Chat and back (browser)"
    return [
        Figure(f"{row}, p50", ours, "ms", "bare pages", floor, TARGET),
        Figure(f"{row}, p95", ours, "ms", "bare pages", floor, TARGET, stat="p95"),
    ]


def figures(runs: int, only: set[str], sessions: int = 50) -> list[Figure]:
    """The browser rows of the groups in `only` (of `GROUPS`); cold starts: max(3, runs // 2) of each; memory with
    `sessions` signed-in tabs (bench/browser_memory.py)."""
    from bench import browser_memory
    from tests.browser import chromium

    found: list[Figure] = []
    with FakeProviders() as fake, chromium() as browser:
        if "start" in only:
            found += measure_start(browser, fake, max(3, runs // 2))
        if only & {"signin", "switch"}:
            with ExitStack() as stack:
                app = stack.enter_context(app_server(fake))
                bare = stack.enter_context(floor_server(BARE_PAGES))
                if "signin" in only:
                    found += measure_sign_in(browser, app, bare, runs)
                if "switch" in only:
                    found += measure_switches(browser, app, bare, runs)
        if "memory" in only:
            found += browser_memory.figures(browser, fake, sessions)
    return found
