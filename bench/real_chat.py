"""The real server's chat turn: `streamlit run asgi.py` driven from headless Chromium, against the bare Streamlit chat
page served the same way and litellm called directly, taking turns; then many browser sessions sending at once.

    python -m bench.real_chat [--runs 10] [--tokens 200] [--pace 100] [--sessions 1,5,10,20,40] [--only ...]

CPU is the server process's (read from /proc; the fakes run in a process of their own, the browser in others),
per streamed token; for litellm direct, this process's. Time to first token is measured in the page, from the
Enter keypress to the reply's first text in the DOM. See bench/README.md, "The real server".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench import streams
from bench.chat_turns import BrowserChat, Fakes, at_once, bare_server
from bench.fake_server import reply_text
from bench.measure import Sample, interleave
from bench.setup import MODEL, PACED_MODEL, fake_providers, import_litellm
from bench.table import Figure, Target, markdown, plain
from tests.browser import chromium, open_chat, running_server, wait_for_cookie
from tests.fakes.providers import DEFAULT_KEYS

GROUPS = ("single", "concurrent")
TARGET_TTFT_OVER_BARE_MS = 2.0
TARGET_CPU_OVER_BARE = 1.1
TTFT_LIMIT_S = 1.0
PATHS = {
    "app": "Chat page, streamlit run asgi.py",
    "bare": "bare Streamlit chat page, streamlit run",
    "litellm": "litellm.completion called directly",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.real_chat", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="recorded turns per path (default 10)")
    parser.add_argument("--tokens", type=int, default=200, help="tokens (SSE chunks) per reply (default 200)")
    parser.add_argument("--pace", type=float, default=100, help="tokens/s of the paced rows (default 100; 0: none)")
    parser.add_argument("--sessions", default="1,2,5,10,20,40", help="browser sessions sending at once, a sweep")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated, of: {', '.join(GROUPS)}")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    args.sessions = [int(n) for n in args.sessions.split(",") if n.strip()]
    if unknown := args.only - set(GROUPS):
        parser.error(f"unknown --only group(s): {', '.join(sorted(unknown))}")
    return args


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def single_figures(samples: Mapping[str, list[Sample]], tokens: int, where: str) -> list[Figure]:
    """Time to first token and CPU per token of each path, the Chat page's beside the bare page's."""
    found = []
    bare = samples["bare"]
    for name, runs in samples.items():
        floor = bare if name == "app" else None
        ttft = [s.ttft * 1000 for s in runs if s.ttft is not None]
        floor_ttft = [s.ttft * 1000 for s in floor if s.ttft is not None] if floor else None
        ttft_target = Target("over", TARGET_TTFT_OVER_BARE_MS) if floor else None
        label = PATHS[name] + ("*" if name == "litellm" else "")
        found.append(Figure(f"TTFT, {label}{where}", ttft, "ms", "bare page" if floor else "", floor_ttft, ttft_target))
        cpu = [s.cpu * 1000 / tokens for s in runs]
        floor_cpu = [s.cpu * 1000 / tokens for s in floor] if floor else None
        cpu_target = Target("ratio", TARGET_CPU_OVER_BARE) if floor else None
        row = f"Server CPU per token, {label}{where}"
        found.append(Figure(row, cpu, "ms", "bare page" if floor else "", floor_cpu, cpu_target))
    return found


def measure_single(
    args: argparse.Namespace, fake: Mapping[str, Any], app: BrowserChat, bare: BrowserChat
) -> dict[str, dict[str, list[Sample]]]:
    """Unpaced and paced turns of the three paths, taking turns (see `interleave`)."""
    litellm, _ = import_litellm()
    base, key = fake["bases"]["openai"], DEFAULT_KEYS["openai"]
    results = {}
    for model, runs in ((MODEL, args.runs), *(((PACED_MODEL, max(3, args.runs // 2)),) if args.pace > 0 else ())):
        paths: dict[str, Callable[[], Sample]] = {
            "app": lambda model=model: app.turn(f"?model=openai%2F{model}"),
            "bare": lambda model=model: bare.turn(f"?model=openai%2F{model}"),
            "litellm": lambda model=model: streams.litellm_reply(litellm, base, key, model),
        }
        results[model] = interleave(paths, runs, warmup=2)
        print(f"  measured: single turns, {model}", file=sys.stderr, flush=True)
    return results


def sweep(
    args: argparse.Namespace, browser: Any, url: str, pid: int, cookies: list[dict]
) -> list[tuple[int, list[tuple[float, float]], float]]:
    """`n` sessions sending at once at the paced rate, for each n of `--sessions` until p95 passes the limit."""
    model = PACED_MODEL if args.pace > 0 else MODEL
    results = []
    for n in [1, *args.sessions]:  # the first round warms up (the first tab's chat, the server's first reply)
        chats = [BrowserChat(browser, url, pid, reply_text(args.tokens), cookies) for _ in range(n)]
        try:
            times, cpu = at_once(chats, f"?model=openai%2F{model}")
        finally:
            for chat in chats:
                chat.close()
        results.append((n, times, cpu))
        print(f"  measured: {n} sessions at once", file=sys.stderr, flush=True)
        if len(results) > 1 and p95([t for t, _ in times]) > TTFT_LIMIT_S:
            break
    return results[1:]


Sweep = list[tuple[int, list[tuple[float, float]], float]]


def sweep_figures(results: Sweep, tokens: int, pace: float) -> list[Figure]:
    """Per number of sessions: time to first token p95 (target under 1 s) and CPU per token beside 1 session's."""
    found = []
    one = [results[0][2] * 1000 / (results[0][0] * tokens)] if results else None
    for n, times, cpu in results:
        where = f"{n} browser sessions at once, {pace:g} tokens/s"
        ttfts = [t * 1000 for t, _ in times]
        limit = Target("at_most", TTFT_LIMIT_S * 1000)
        found.append(Figure(f"TTFT p95, {where}", ttfts, "ms", target=limit, stat="p95"))
        found.append(Figure(f"Server CPU per token, {where}", [cpu * 1000 / (n * tokens)], "ms", "1 session", one))
    within = [n for n, times, _ in results if p95([t for t, _ in times]) <= TTFT_LIMIT_S]
    row = f"Sessions held with TTFT p95 under {TTFT_LIMIT_S:g} s (of the sweep)"
    found.append(Figure(row, [max(within or [0])], "sessions"))
    return found


def figures(args: argparse.Namespace) -> list[Figure]:
    """The real server's rows (`args` as `parse_args` makes them)."""
    with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, folder: Path) -> list[Figure]:
    reply, found = reply_text(args.tokens), []
    with fake_providers(args.tokens, args.pace) as fake, chromium() as browser:
        fakes = Fakes(fake["url"], fake["bases"])
        with running_server(folder / "app", fakes, admin_cli=False) as server:  # type: ignore[arg-type]
            page, _, _ = open_chat(server, browser)
            cookies = [wait_for_cookie(page)]
            page.context.close()
            pid = server.process.pid
            if "single" in args.only:
                app = BrowserChat(browser, server.url, pid, reply, cookies)
                key, base = DEFAULT_KEYS["openai"], fake["bases"]["openai"]
                with bare_server(folder / "bare", f"openai/{MODEL}", key, base) as (url, process):
                    bare = BrowserChat(browser, url, process.pid, reply)
                    single = measure_single(args, fake, app, bare)
                for model, samples in single.items():
                    found += single_figures(samples, args.tokens, suffix(model, args))
            if "concurrent" in args.only and args.sessions:
                found += sweep_figures(sweep(args, browser, server.url, pid, cookies), args.tokens, args.pace)
    return found


def suffix(model: str, args: argparse.Namespace) -> str:
    return f", at {args.pace:g} tokens/s" if model == PACED_MODEL else ", unpaced"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    found = figures(args)
    print(f"\n{args.tokens}-token replies from loopback fakes; CPU: the server process's; * litellm's in-process.\n")
    print(markdown(found) if args.markdown else plain(found))


if __name__ == "__main__":
    main()
