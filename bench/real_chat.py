"""The real server's chat turn: `streamlit run asgi.py` driven from headless Chromium, against the bare Streamlit chat
page served the same way and litellm called directly, taking turns; then many browser sessions sending at once.

    python -m bench.real_chat [--runs 10] [--tokens 200] [--pace 100] [--sessions 1,5,10,20,40] [--only ...]

CPU is the server process's (read from /proc; the fakes run in a process of their own, the browser in others),
per streamed token; for litellm direct, this process's. Time to first token is measured in the page, from the
Enter keypress to the reply's first text in the DOM. See bench/README.md, "The real server".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench import streams
from bench.chat_turns import BrowserChat, Fakes, at_once, bare_server
from bench.fake_server import reply_text
from bench.measure import Sample, interleave
from bench.run import MODEL, PACED_MODEL, fake_providers, import_litellm, markdown, plain
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

Table = tuple[list[str], list[list[str]]]


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


def ms(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 1000:.{digits}f}"


def spread(values: Sequence[float | None], digits: int = 1, per: int = 1) -> str:
    """Median (min–max) in milliseconds of seconds `values` (divided by `per`)."""
    known = [v / per for v in values if v is not None]
    if not known:
        return "–"
    return f"{ms(statistics.median(known), digits)} ({ms(min(known), digits)}–{ms(max(known), digits)}) ms"


def median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def single_rows(samples: Mapping[str, list[Sample]], tokens: int, suffix: str) -> list[list[str]]:
    """One line per path: time to first token and CPU per token, each beside the bare page's."""
    bare = samples.get("bare", [])
    bare_ttft, bare_cpu = median([s.ttft for s in bare]), median([s.cpu for s in bare])
    rows = []
    for name, runs in samples.items():
        ttft, cpu = median([s.ttft for s in runs]), median([s.cpu for s in runs])
        over = f"{(ttft - bare_ttft) * 1000:+.1f} ms" if ttft is not None and bare_ttft else "–"
        ratio = f"{cpu / bare_cpu:.2f}×" if cpu is not None and bare_cpu else "–"
        ttft_text = spread([s.ttft for s in runs]) if name != "litellm" else f"{spread([s.ttft for s in runs])}*"
        cpu_text = spread([s.cpu for s in runs], 3, tokens)
        rows.append([PATHS[name] + suffix, ttft_text, over, cpu_text, ratio, ms(cpu, 0) + " ms", str(len(runs))])
    return rows


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


def concurrency_table(results: list[tuple[int, list[tuple[float, float]], float]], tokens: int) -> Table:
    header = ["Sessions at once", "TTFT p50", "TTFT p95", "Slowest reply", "Server CPU", "CPU per token", "× 1"]
    one = results[0][2] / (results[0][0] * tokens) if results else None
    body = []
    for n, times, cpu in results:
        ttfts = [t for t, _ in times]
        per = cpu / (n * tokens)
        body.append(
            [
                str(n),
                f"{ms(statistics.median(ttfts))} ms",
                f"{ms(p95(ttfts))} ms",
                f"{max(total for _, total in times):.2f} s",
                f"{ms(cpu, 0)} ms",
                f"{ms(per, 3)} ms",
                f"{per / one:.2f}" if one else "–",
            ]
        )
    return header, body


def held(results: list[tuple[int, list[tuple[float, float]], float]]) -> str:
    within = [n for n, times, _ in results if p95([t for t, _ in times]) <= TTFT_LIMIT_S]
    passed = [n for n, times, _ in results if p95([t for t, _ in times]) > TTFT_LIMIT_S]
    most = max(within or [0])
    if passed:
        return f"Time to first token p95 passed {TTFT_LIMIT_S:g} s at {passed[0]} sessions (held at {most})."
    return f"Time to first token p95 stayed under {TTFT_LIMIT_S:g} s up to {most} sessions."


def targets(single: Mapping[str, Mapping[str, list[Sample]]], pace: float) -> Table:
    body = []
    for model, samples in single.items():
        where = "unpaced" if model == MODEL else f"at {pace:g} tokens/s"
        app, bare = samples["app"], samples["bare"]
        over = ((median([s.ttft for s in app]) or 0) - (median([s.ttft for s in bare]) or 0)) * 1000
        ratio = (median([s.cpu for s in app]) or 0) / (median([s.cpu for s in bare]) or 1)
        body.append([f"TTFT, Chat page over bare page, {where}", f"{over:+.1f} ms", "+2 ms", yes(over <= 2.0)])
        body.append([f"CPU per token, Chat page over bare page, {where}", f"{ratio:.2f}×", "1.1×", yes(ratio <= 1.1)])
    return ["Target", "Measured", "Limit", "Met"], body


def yes(met: bool) -> str:
    return "yes" if met else "no"


def run(args: argparse.Namespace, folder: Path) -> list[Table]:
    reply, tables = reply_text(args.tokens), []
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
                header = ["Path", "Time to first token", "− bare", "CPU per token", "× bare", "CPU per turn", "Runs"]
                body = [row for model, s in single.items() for row in single_rows(s, args.tokens, suffix(model, args))]
                tables += [(header, body), targets(single, args.pace)]
            if "concurrent" in args.only and args.sessions:
                results = sweep(args, browser, server.url, pid, cookies)
                tables.append(concurrency_table(results, args.tokens))
                print(held(results))
    return tables


def suffix(model: str, args: argparse.Namespace) -> str:
    return f", at {args.pace:g} tokens/s" if model == PACED_MODEL else ""


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
        tables = run(args, Path(tmp))
    print(f"\n{args.tokens}-token replies from loopback fakes in a process of their own; medians (min–max).")
    print("CPU: the server process's; * litellm's in-process, from the call to its first chunk.\n")
    print("\n\n".join(plain(*table) for table in tables))
    if args.markdown:
        print("\n" + "\n\n".join(markdown(*table) for table in tables))


if __name__ == "__main__":
    main()
