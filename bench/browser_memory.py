"""The server's memory in headless Chromium: RSS of a fresh `streamlit run asgi.py` idle, with 1 and with N tabs
signed in and settled on Chat (tabs of one browser context), and the cost per session; each beside the bare
multipage app's (bench/bare_pages) taken the same way in the same run.
One reading each (a server's RSS hardly moves from run to run)."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from typing import Any

from bench.browser import SIGN_IN_FORM, app_server, fill_sign_in, floor_server, signed_in
from bench.measure import rss_mib
from bench.page_clock import message_box, settle, watch
from bench.servers import BARE_PAGES, Started
from bench.table import Figure
from tests.browser import wait_for_cookie


def readings(browser: Any, server: AbstractContextManager[Started], sessions: int) -> tuple[float, float, float]:
    """RSS in MiB idle, with one signed-in tab, with `sessions` (the first by the form, the rest by its cookie, all
    in the first's browser context: a context each would cost the browser, not the server)."""
    with server as started:
        pid = started.process.pid
        idle = rss_mib(pid)
        first = signed_in(browser, started.url)
        one = rss_mib(pid)
        cookie = wait_for_cookie(first)  # the bare app sets none: its tabs sign in by the form
        tabs = [first]
        for n in range(sessions - 1):
            tabs.append(tab := watch(first.context.new_page()))
            tab.goto(started.url)
            if cookie is None:
                settle(tab, SIGN_IN_FORM)
                fill_sign_in(tab).click()
            settle(tab, message_box())
            if n % 10 == 8:
                print(f"  {n + 2} sessions", file=sys.stderr, flush=True)
        tabs[-1].wait_for_timeout(1000)
        many = rss_mib(pid)
        first.context.close()
    return idle, one, many


def figures(browser: Any, fake: Any, sessions: int) -> list[Figure]:
    app = readings(browser, app_server(fake), sessions)
    print("  measured: memory, the app", file=sys.stderr, flush=True)
    bare = readings(browser, floor_server(BARE_PAGES), sessions)
    print("  measured: memory, the bare pages", file=sys.stderr, flush=True)
    names = ("Server RSS idle, after start", "Server RSS, 1 signed-in session", f"Server RSS, {sessions} sessions")
    found = [
        Figure(name, [ours], "MiB", "bare pages", [floor]) for name, ours, floor in zip(names, app, bare, strict=True)
    ]
    per = [(app[2] - app[1]) / max(1, sessions - 1)], [(bare[2] - bare[1]) / max(1, sessions - 1)]
    return [*found, Figure("Server RSS per signed-in session", per[0], "MiB", "bare pages", per[1])]
