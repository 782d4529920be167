"""Speed benchmark: raw httpx, litellm and the app's chat path, one streamed reply at a time and many at once, and
the Models page, against the provider fakes (zero latency, in a process of their own).

    python -m bench.run [--runs 40] [--tokens 200] [--concurrent 20] [--pace 100] [--only core,page] [--markdown]

Figures are medians. CPU is this process's (the fakes run in another), per streamed token; for the pages, minus
the thread that drives AppTest.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from bench import open_chat, pages, search, streams
from bench.fake_server import reply_text
from bench.measure import Row, Sample, interleave, repeat, summarize
from core.accounts.users import UserPublic
from core.config import load_settings
from core.providers import client as llm
from core.providers.registry import base_url_variables, server_key_variables
from core.security.crypto import generate_master_key
from core.services import Services, open_services
from tests.fakes.providers import DEFAULT_KEYS

ROOT = Path(__file__).resolve().parent.parent
MODEL = "gpt-4o-mini"
PACED_MODEL = "gpt-4o"  # the fakes pace this model's replies
LISTED_MODELS = 500
GROUPS = ("httpx", "litellm", "core", "page", "concurrent", "models", "search", "open")
# rows of the second table
OPENED = tuple(f"open-{size}" for size in open_chat.SIZES)
LOAD = frozenset({"concurrent", "concurrent-paced", "models", "search-found", "search-none", *OPENED})
TARGET_TTFT_MS = 3.0
TARGET_CPU_MS = 0.5
TARGET_RERUN_MS = 100.0
TARGET_SEARCH_MS = 100.0
TARGET_OPEN_RATIO = 1.5  # the 1,000-message chat opened within 1.5x the 10-message one

Table = tuple[list[str], list[list[str]]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="recorded runs per figure (default 40)")
    parser.add_argument("--tokens", type=int, default=200, help="tokens (SSE chunks) per reply (default 200)")
    parser.add_argument("--concurrent", type=int, default=20, help="replies streamed at once (default 20)")
    parser.add_argument("--pace", type=float, default=100, help="tokens/s of the paced rows (default 100; 0: none)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated, of: {', '.join(GROUPS)}")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := args.only - set(GROUPS):
        parser.error(f"unknown --only group(s): {', '.join(sorted(unknown))}")
    return args


@contextmanager
def fake_providers(tokens: int, pace: float) -> Iterator[dict[str, Any]]:
    """Start `bench.fake_server` in a child process; its URL and each provider's api_base."""
    command = [sys.executable, "-m", "bench.fake_server", "--tokens", str(tokens)]
    command += ["--pace", str(pace), "--paced-model", PACED_MODEL]
    child = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


def configure(data_dir: Path, fake: Mapping[str, Any]) -> None:
    """The app's settings for this run: a fresh data folder and master key, every provider routed to the fakes."""
    os.environ.update(
        {
            "APP_DATA_DIR": str(data_dir),
            "APP_SECRETS_FILE": str(data_dir.parent / "no-secrets.toml"),
            "APP_MASTER_KEY": generate_master_key(),
            "APP_ALLOW_ENDPOINTS": fake["url"],
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
    )
    os.environ.update({variable: fake["bases"][provider] for provider, variable in base_url_variables().items()})
    for variable in (*server_key_variables(), "DATABASE_URL"):
        os.environ.pop(variable, None)


def import_litellm() -> tuple[ModuleType, dict[str, Any]]:
    """litellm as the app configures it, and the values it had before for the settings the app changes."""
    os.environ.update(llm.OFFLINE_FLAGS)
    module = importlib.import_module("litellm")
    stock = {name: getattr(module, name) for name in llm.SETTINGS if hasattr(module, name)}
    return llm.litellm(), stock


@contextmanager
def applied(module: ModuleType, settings: Mapping[str, Any]) -> Iterator[None]:
    previous = {name: getattr(module, name) for name in settings}
    for name, value in settings.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(module, name, value)


def add_user(services: Services, fake: Mapping[str, Any]) -> UserPublic:
    """The benchmark's user, with a key saved for all six providers."""
    user = services.users.add("bench", "Bench User", "bench@example.com", pages.PASSWORD)
    for provider, key in DEFAULT_KEYS.items():
        values = {"api_key": key}
        if provider == "azure":
            values |= {"endpoint": fake["url"], "api_version": "2024-10-21"}
        services.credentials.save(user.id, provider, values)
    services.credentials.save(user.id, "huggingface", {"token": "hf_benchbenchbenchbench"})
    return user


def measure(args: argparse.Namespace, fake: Mapping[str, Any]) -> dict[str, Row]:
    """Every figure of the groups asked for, by key; the single-reply paths take turns (see `interleave`)."""
    litellm, stock = import_litellm()
    services = open_services(load_settings())
    user = add_user(services, fake)
    base, key, tokens, only = fake["bases"]["openai"], DEFAULT_KEYS["openai"], args.tokens, args.only
    reply, few = reply_text(tokens), max(3, args.runs // 8)
    paced = f"at {args.pace:g} tokens/s"
    paths: dict[str, tuple[str, Callable[[], Sample]]] = {}
    paced_paths: dict[str, tuple[str, Callable[[], Sample]]] = {}
    rows: dict[str, Row] = {}

    def direct(model: str, settings: Mapping[str, Any] | None = None) -> Callable[[], Sample]:
        def one() -> Sample:
            with applied(litellm, settings or {}):
                return streams.litellm_reply(litellm, base, key, model)

        return one

    def core(model: str) -> Callable[[], Sample]:
        return lambda: streams.core_reply(services, user.id, f"openai/{model}", reply)

    def many(model: str) -> Callable[[], Sample]:
        return lambda: streams.concurrent_core(services, user.id, f"openai/{model}", reply, args.concurrent)

    def record(name: str, path: str, samples: list[Sample], per: int = tokens) -> None:
        rows[name] = summarize(path, samples, per)
        print(f"  measured: {path}", file=sys.stderr, flush=True)

    with httpx.Client(timeout=60) as client, pages.probe() as watch:
        if "httpx" in only:
            paths["httpx"] = ("raw httpx (the floor)", lambda: streams.httpx_reply(client, base, key, MODEL))
            floor = lambda: streams.httpx_reply(client, base, key, PACED_MODEL)  # noqa: E731
            paced_paths["httpx-paced"] = (f"raw httpx, {paced}", floor)
        if "litellm" in only:
            paths["stock"] = ("litellm.completion, stock settings", direct(MODEL, stock))
            paths["litellm"] = ("litellm.completion, the app's settings", direct(MODEL))
            paced_paths["litellm-paced"] = (f"litellm.completion, the app's settings, {paced}", direct(PACED_MODEL))
        if "core" in only:
            paths["core"] = ("app core: services.chat.send → batches → saved", core(MODEL))
            paced_paths["core-paced"] = (f"app core, {paced}", core(PACED_MODEL))
        if "page" in only:
            bare = pages.BarePage(watch, f"openai/{MODEL}", key, base, reply)
            paths["bare"] = ("bare Streamlit chat page: litellm → st.write_stream", bare.send)
            if args.pace > 0:
                bare = pages.BarePage(watch, f"openai/{PACED_MODEL}", key, base, reply)
                paced_paths["bare-paced"] = (f"bare Streamlit chat page, {paced}", bare.send)
            page = pages.ChatPage(services, user, watch, f"openai/{MODEL}", reply)
            paths["page"] = ("Chat page (AppTest): send → reply shown → saved", page.send)
            if args.pace > 0:
                page = pages.ChatPage(services, user, watch, f"openai/{PACED_MODEL}", reply)
                paced_paths["page-paced"] = (f"Chat page, {paced}", page.send)
        for batch, runs, warmup in ((paths, args.runs, 3), (paced_paths if args.pace > 0 else {}, few, 1)):
            samples = interleave({name: one for name, (_, one) in batch.items()}, runs, warmup)
            for name, (path, _) in batch.items():
                record(name, path, samples[name])
        if "concurrent" in only:
            at_once = f"{args.concurrent} replies at once (app core)"
            record("concurrent", at_once, repeat(many(MODEL), few, warmup=1), tokens * args.concurrent)
            if args.pace > 0:
                samples = repeat(many(PACED_MODEL), few, warmup=1)
                record("concurrent-paced", f"{at_once}, {paced}", samples, tokens * args.concurrent)
        if "models" in only:
            seeded = pages.seed_listings(services, user, LISTED_MODELS // 5)
            models = pages.ModelsPage(user, watch, seeded)
            path = f"Models page rerun, 6 providers, {seeded} listed models"
            record("models", path, repeat(models.rerun, args.runs), per=1)
        if "search" in only:
            record_searches(services, user, record, args.runs)
        if "open" in only:
            for size, samples in open_chat.measure_opens(services, user, watch, args.runs).items():
                record(f"open-{size}", f"Open a saved chat of {size:,} messages (Chat page)", samples, per=1)
    return rows


def record_searches(services: Services, user: UserPublic, record: Callable[..., None], runs: int) -> None:
    """The chat list's search over the user's 10,000 messages (another user's 10,000 beside them)."""
    other = services.users.add("bench-other", "Other User", "other@example.com", pages.PASSWORD)
    seeded = search.seed_chats(services, user)
    search.seed_chats(services, other)
    for name, text, what in (("found", search.FOUND, "a word in one chat"), ("none", "no-such-word", "no match")):
        path = f"Chat search, {seeded:,} messages, {what}"
        record(f"search-{name}", path, repeat(lambda text=text: search.search(services, user, text), runs), per=1)


def ms(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f} ms"


def tables(rows: Mapping[str, Row], args: argparse.Namespace) -> list[Table]:
    streamed = [r for name, r in rows.items() if name not in LOAD]
    result: list[Table] = [
        (
            ["Path", "Time to first token", "Total", "CPU per token", "Runs"],
            [[r.path, ms(r.ttft_ms), ms(r.total_ms), ms(r.cpu_per_token_ms, 3), str(r.runs)] for r in streamed],
        )
    ]
    load = []
    for name in ("concurrent", "concurrent-paced"):
        if at_once := rows.get(name):
            cpu = (at_once.cpu_per_token_ms or 0) * args.tokens * args.concurrent
            load.append([at_once.path, ms(at_once.total_ms, 0), ms(cpu, 0), ms(at_once.cpu_per_token_ms, 3)])
            load[-1].append(str(at_once.runs))
    for name in ("models", "search-found", "search-none", *OPENED):
        if rerun := rows.get(name):
            load.append([rerun.path, ms(rerun.total_ms), ms(rerun.cpu_per_token_ms), "–", str(rerun.runs)])
    if load:
        result.append((["Load", "Wall time", "CPU", "CPU per token", "Runs"], load))
    result.append((["Target", "Measured", "Limit", "Met"], targets(rows, args)))
    return [table for table in result if table[1]]


def targets(rows: Mapping[str, Row], args: argparse.Namespace) -> list[list[str]]:
    def over_direct(name: str) -> float | None:
        row, direct = rows.get(name), rows.get("litellm")
        if row is None or direct is None or row.ttft_ms is None or direct.ttft_ms is None:
            return None
        return row.ttft_ms - direct.ttft_ms

    def cpu(name: str) -> float | None:
        return row.cpu_per_token_ms if (row := rows.get(name)) else None

    checks = [
        ("Time to first token, app core over litellm direct", over_direct("core"), TARGET_TTFT_MS),
        ("Time to first token, Chat page over litellm direct", over_direct("page"), TARGET_TTFT_MS),
        ("CPU per streamed token, Chat page", cpu("page"), TARGET_CPU_MS),
        (f"CPU per streamed token, Chat page at {args.pace:g} tokens/s", cpu("page-paced"), TARGET_CPU_MS),
        ("Models page rerun", rows["models"].total_ms if "models" in rows else None, TARGET_RERUN_MS),
        ("Chat search, no match", rows["search-none"].total_ms if "search-none" in rows else None, TARGET_SEARCH_MS),
    ]
    found = [
        [name, ms(value, 2), f"{limit:g} ms", "yes" if value <= limit else f"no (+{value - limit:.2f} ms)"]
        for name, value, limit in checks
        if value is not None
    ]
    return found + open_ratio(rows)


def open_ratio(rows: Mapping[str, Row]) -> list[list[str]]:
    """Opening the longest chat over opening the shortest, as a target line (none without both)."""
    short, long = (rows.get(name) for name in (OPENED[0], OPENED[-1]))
    if short is None or long is None or not short.total_ms or long.total_ms is None:
        return []
    ratio = long.total_ms / short.total_ms
    met = "yes" if ratio <= TARGET_OPEN_RATIO else f"no (+{ratio - TARGET_OPEN_RATIO:.2f}x)"
    name = f"Open a saved chat, {open_chat.SIZES[-1]:,} over {open_chat.SIZES[0]:,} messages"
    return [[name, f"{ratio:.2f}x", f"{TARGET_OPEN_RATIO:g}x", met]]


def plain(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *body]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def markdown(header: list[str], body: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *body]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # AppTest sets session state outside a script run, which Streamlit warns about: no figure of ours.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage()
    )
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, fake_providers(args.tokens, args.pace) as fake:
        configure(Path(tmp) / "data", fake)
        rows = measure(args, fake)
    print(f"\n{args.tokens}-token replies, one SSE chunk per token, from loopback fakes in a process of their own:")
    paced = f", or {args.pace:g} tokens/s where marked" if args.pace > 0 else ""
    print(f"no delay{paced}. Medians; CPU is this process's, per streamed token")
    print("(pages: minus the thread driving AppTest); the wall time of a page is that of its script runs.\n")
    rendered = tables(rows, args)
    print("\n\n".join(plain(*table) for table in rendered))
    if args.markdown:
        print("\n" + "\n\n".join(markdown(*table) for table in rendered))


if __name__ == "__main__":
    main()
