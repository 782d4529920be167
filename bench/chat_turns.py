"""Chat turns against real servers (`streamlit run`), driven from headless Chromium: the server process's CPU read
from /proc, and the time to first token measured in the page itself.

A turn starts at the Enter keypress in the message box and its first token is the first Markdown in a chat
message whose text is the start of the reply, both stamped with `performance.now()` in the page (a capturing
keydown listener and a MutationObserver), so the browser's round trips to Playwright count for nothing. The CPU is
the server process's (every thread, those that ended included) from just before the keypress until the server has
gone quiet after the run that follows the reply.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import Sample
from bench.streams import PROMPT
from tests.browser import new_page, settle, stop, wait_healthy
from tests.fakes.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
BOX = "Message"

# Installed in the page after it has settled and before the keypress (window.__turn: t0, first, done in ms).
WATCH = """(reply) => {
  const want = reply.trim(), turn = {t0: null, first: null, done: null};
  window.__turn = turn;
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && turn.t0 === null) turn.t0 = performance.now();
  }, {capture: true});
  const look = () => {
    if (turn.t0 === null || turn.done !== null) return;
    const found = '[data-testid="stChatMessageContent"] [data-testid="stMarkdownContainer"]';
    for (const element of document.querySelectorAll(found)) {
      const text = element.textContent.trim();
      if (text && want.startsWith(text)) {
        if (turn.first === null) turn.first = performance.now();
        if (text === want) turn.done = performance.now();
      }
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@dataclass(frozen=True)
class Fakes:
    """The fakes' process as `tests.browser.running_server` reads a fake: its URL and each provider's base."""

    url: str
    bases: Mapping[str, str]

    def base(self, provider: str) -> str:
        return self.bases[provider]


def server_cpu(pid: int) -> float:
    """CPU seconds of process `pid` (user and system, every thread, ended ones included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def quiet(pid: int, step: float = 0.1, busy: float = 0.1, limit: float = 5.0) -> float:
    """The server's CPU seconds once it has gone quiet (under `busy` of a core over `step` s, a tick at most)."""
    deadline = time.perf_counter() + limit
    now = server_cpu(pid)
    while time.perf_counter() < deadline:
        time.sleep(step)
        before, now = now, server_cpu(pid)
        if now - before <= max(busy * step, 1 / TICK):
            break
    return now


@contextmanager
def bare_server(folder: Path, model: str, key: str, base: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run bench/bare_chat.py` (the project's .streamlit/config.toml, as the app has), its model, key
    and base in a secrets file: (url, process)."""
    folder.mkdir(parents=True, exist_ok=True)
    secrets = folder / "secrets.toml"
    secrets.write_text(f'bench_model = "{model}"\nbench_key = "{key}"\nbench_base = "{base}"\n')
    port, log = free_port(), folder / "bare.log"
    command = [sys.executable, "-m", "streamlit", "run", "bench/bare_chat.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--secrets.files", str(secrets)]
    environ = os.environ | {"PYTHONPATH": str(ROOT)}
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process)
            yield url, process
        finally:
            stop(process, log)


class BrowserChat:
    """One browser tab on a chat page of a server: `open` a new chat with a model, `send` the prompt."""

    def __init__(self, browser: Any, url: str, pid: int, reply: str, cookies: list[dict] | None = None) -> None:
        self.page = new_page(browser, cookies)
        self.url, self.pid, self.reply = url, pid, reply

    def open(self, address: str) -> None:
        """Load `address` (a new chat), wait for its message box and for the run to end, watch for the reply."""
        from playwright.sync_api import expect

        self.page.goto(f"{self.url}/{address}")
        box = self.page.get_by_placeholder(BOX, exact=True)
        expect(box).to_be_visible()
        settle(self.page)
        box.fill(PROMPT)
        self.page.evaluate(WATCH, self.reply)

    def press(self) -> None:
        self.page.get_by_placeholder(BOX, exact=True).press("Enter")

    def finish(self) -> tuple[float, float]:
        """Wait for the whole reply and the run after it: (seconds to first token, seconds to the whole reply)."""
        self.page.wait_for_function("window.__turn.done !== null", timeout=120_000)
        settle(self.page)
        turn = self.page.evaluate("window.__turn")
        return (turn["first"] - turn["t0"]) / 1000, (turn["done"] - turn["t0"]) / 1000

    def turn(self, address: str) -> Sample:
        """One chat turn in a new chat at `address`, with the server's CPU for it."""
        self.open(address)
        cpu = quiet(self.pid)
        self.press()
        ttft, total = self.finish()
        return Sample(ttft, total, quiet(self.pid) - cpu)

    def close(self) -> None:
        self.page.context.close()


def at_once(chats: list[BrowserChat], address: str) -> tuple[list[tuple[float, float]], float]:
    """Every tab sends at the same moment (one keypress after the other) in a new chat: (each tab's seconds to
    first token and to its whole reply, the server's CPU seconds for all of it)."""
    for chat in chats:
        chat.open(address)
    pid = chats[0].pid
    cpu = quiet(pid)
    for chat in chats:
        chat.press()
    times = [chat.finish() for chat in chats]
    return times, quiet(pid) - cpu
