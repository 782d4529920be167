"""`make bench`: every row of the benchmark in one table, each beside its floor measured in the same run (the paths
taking turns), with the machine, its load average at the start and the end, the date and the versions above it.

    python -m bench.run [--runs 40] [--only core,page,start,...] [--markdown]

The rows come from bench/in_process.py (litellm, core and the pages under AppTest), bench/real_chat.py (the real
server's chat turn and the sessions sweep, in headless Chromium), bench/browser.py and bench/browser_memory.py
(cold start, sign-in, page switches, memory), bench/stores.py (10,000 users) and bench/local.py (local models,
downloads). bench/README.md explains each row.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from bench import browser, in_process, local, real_chat, stores
from bench.setup import configure, fake_providers
from bench.table import Figure, header, load, markdown, plain

REAL_CHAT = {"chat": "single", "sweep": "concurrent"}
LOCAL = {"local": "generation", "download": "download"}
GROUPS = (*in_process.GROUPS, *REAL_CHAT, *browser.GROUPS, "stores", *LOCAL)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs per in-process figure (default 40; the browser "
                        "and store rows take a quarter, at least 3, local models an eighth)")  # fmt: skip
    parser.add_argument("--tokens", type=int, default=200, help="tokens (SSE chunks) per reply (default 200)")
    parser.add_argument("--concurrent", type=int, default=20, help="replies streamed at once (default 20)")
    parser.add_argument("--pace", type=float, default=100, help="tokens/s of the paced rows (default 100; 0: none)")
    parser.add_argument("--sessions", type=int, help="signed-in tabs of the memory rows (default 50; 10 under 20 runs)")
    parser.add_argument("--sweep", help="browser sessions at once (default 1,2,5,10,20,40; 1,5,20 under 20 runs)")
    parser.add_argument("--users", type=int, default=stores.USERS, help="users of the store rows (default 10,000)")
    parser.add_argument("--local-shape", default="smollm2-360m", help="the local models' size (or tiny)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated, of: {', '.join(GROUPS)}")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (else plain text)")
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := args.only - set(GROUPS):
        parser.error(f"unknown --only group(s): {', '.join(sorted(unknown))}")
    quick = args.runs < 20
    args.sessions = args.sessions or (10 if quick else 50)
    args.sweep = args.sweep or ("1,5,20" if quick else "1,2,5,10,20,40")
    return args


def measure(args: argparse.Namespace) -> list[Figure]:
    found: list[Figure] = []
    browser_runs = max(3, args.runs // 4)
    if args.only & set(in_process.GROUPS):
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp, fake_providers(args.tokens, args.pace) as fake:
            configure(Path(tmp) / "data", fake)
            found += in_process.measure(args, fake)
    if real := {REAL_CHAT[name] for name in args.only & set(REAL_CHAT)}:
        options = ["--runs", str(browser_runs), "--tokens", str(args.tokens), "--pace", str(args.pace)]
        found += real_chat.figures(real_chat.parse_args([*options, "--sessions", args.sweep, "--only", ",".join(real)]))
    if groups := args.only & set(browser.GROUPS):
        found += browser.figures(browser_runs, groups, args.sessions)
    if "stores" in args.only:
        found += stores.figures(browser_runs, args.users)
    if groups := {LOCAL[name] for name in args.only & set(LOCAL)}:
        options = ["--runs", str(max(3, args.runs // 8)), "--shape", args.local_shape, "--only", ",".join(groups)]
        found += local.figures(local.parse_args(options))
    return found


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # AppTest sets session state outside a script run, which Streamlit warns about: no figure of ours.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage()
    )
    before = load()
    found = measure(args)
    print(f"\n{header(before, 'python -m bench.run ' + ' '.join(sys.argv[1:] if argv is None else argv))}\n")
    print(markdown(found) if args.markdown else plain(found))


if __name__ == "__main__":
    main()
