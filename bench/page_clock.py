"""Times read from the page's own clock in headless Chromium, for `bench/browser.py`.

Playwright's waits poll from outside the page at growing intervals (up to a second), which would be part of any
figure. Here the page watches itself: a condition is tested at every animation frame inside the page and the
frame's time (`performance.now()`) is what is returned; every change of Streamlit's script state
(`data-test-script-state` on `stApp`, what tests/browser.py's `settle` waits for) and the last click are logged
with their times by a script the page runs before its own.
"""

from __future__ import annotations

import json
from typing import Any

WATCH = """
(() => {
  const bench = (window.__bench = {log: [], click: null});
  new MutationObserver((records) => {
    for (const record of records) {
      bench.log.push([performance.now(), record.target.getAttribute("data-test-script-state")]);
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-test-script-state"]});
  document.addEventListener("click", () => { bench.click = performance.now(); }, true);
})();
"""

# The end of the script run that was going when the condition first held at `tc` (or had just ended then): its
# first notRunning after its last running before `tc`, from the click. Later runs (a fragment's every second) are
# not the click's. A run quicker than a frame may never show as running (React draws only its end): then `tc`.
SETTLED = """(tc) => {
  const bench = window.__bench;
  let start = null;
  for (const [t, state] of bench.log) if (state === "running" && t <= tc) start = t;
  if (bench.click === null) return null;
  if (start !== null)
    for (const [t, state] of bench.log) if (state === "notRunning" && t >= start) return t - bench.click;
  return tc - bench.click;  // a run too quick for the page to draw its running state
}"""


def watch(page: Any) -> Any:
    """`page` (from tests/browser.py's `new_page`) with the clock installed for every document it loads."""
    page.context.add_init_script(WATCH)
    return page


def shown(selector: str, text: str) -> str:
    """A page condition: an element matching `selector`, whose text is exactly `text`, has a box on the page."""
    return (
        f"[...document.querySelectorAll({json.dumps(selector)})]"
        f".some((e) => e.textContent.trim() === {json.dumps(text)} && e.getClientRects().length > 0)"
    )


def last_holds(selector: str, text: str) -> str:
    """A page condition: the last element matching `selector` contains `text` and has a box on the page."""
    return (
        f"(() => {{ const all = document.querySelectorAll({json.dumps(selector)}); const last = all[all.length - 1];"
        f" return !!last && last.textContent.includes({json.dumps(text)}) && last.getClientRects().length > 0; }})()"
    )


def message_box() -> str:
    """A page condition: Chat's message box (the app's and the bare app's) is on the page."""
    return "!!document.querySelector('textarea[placeholder=\"Message\"]')"


def seen(page: Any, condition: str, since_epoch: bool = False, timeout_s: float = 120) -> float:
    """Seconds from the document's navigation to the first frame where `condition` held (`since_epoch`: the frame's
    Unix time instead, to compare with a clock outside the page)."""
    origin = "performance.timeOrigin + " if since_epoch else ""
    handle = page.wait_for_function(
        f"() => ({condition}) ? {origin}performance.now() : null", polling="raf", timeout=timeout_s * 1000
    )
    return float(handle.json_value()) / 1000


def settled_after_click(page: Any, target: Any, condition: str, quiet_s: float = 0.4, timeout_s: float = 120) -> float:
    """Click `target`; seconds from the click to the end of the script run that drew `condition` (Streamlit's script
    state back to notRunning), once the page has settled (no run started or ended for `quiet_s`)."""
    page.evaluate("() => { window.__bench.log.length = 0; window.__bench.click = null; }")
    target.click()
    first = f"() => ({condition}) ? performance.now() : null"
    held = page.wait_for_function(first, polling="raf", timeout=timeout_s * 1000)
    settle(page, condition, quiet_s, timeout_s)
    ended = page.evaluate(SETTLED, held.json_value())
    if ended is None:
        raise RuntimeError("no script run was seen between the click and the page settling")
    return float(ended) / 1000


def settle(page: Any, condition: str, quiet_s: float = 0.4, timeout_s: float = 120) -> None:
    """Wait until `condition` holds and no script run has started or ended for `quiet_s` (not timed)."""
    page.wait_for_function(f"() => {condition}", polling="raf", timeout=timeout_s * 1000)
    page.wait_for_function(
        """(quiet) => {
          const app = document.querySelector("[data-testid='stApp']"), log = window.__bench.log;
          const since = log.length ? performance.now() - log[log.length - 1][0] : performance.now();
          return app && app.getAttribute("data-test-script-state") === "notRunning" && since >= quiet;
        }""",
        arg=quiet_s * 1000,
        polling=50,
        timeout=timeout_s * 1000,
    )
