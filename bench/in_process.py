"""The rows measured in this process against the provider fakes: raw httpx, litellm, the app's core and the Chat
page (AppTest) one streamed reply at a time, the single-reply paths taking turns; many replies at once; the Models
page at 500 models; the chat list's search and opening a saved chat at 10,000 and 1,000 messages.

CPU is this process's (the fakes run in another), per streamed token; for the pages, minus the thread that drives
AppTest. Each row names its floor: raw httpx for litellm, litellm direct for the app's core and the bare page, the
bare Streamlit chat page (litellm into `st.write_stream`) for the Chat page.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from bench import open_chat, pages, search, streams
from bench.fake_server import reply_text
from bench.measure import Sample, interleave, repeat
from bench.setup import MODEL, PACED_MODEL, add_user, applied, import_litellm
from bench.table import Figure, Target
from core.accounts.users import UserPublic
from core.config import load_settings
from core.services import Services, open_services
from tests.fakes.providers import DEFAULT_KEYS

GROUPS = ("httpx", "litellm", "core", "page", "concurrent", "models", "search", "open")
LISTED_MODELS = 500
TARGET_RERUN_MS = 100.0
TARGET_SEARCH_MS = 100.0
# path key: (its name, its floor's key, time-to-first-token target, CPU-per-token target)
PATHS: dict[str, tuple[str, str | None, Target | None, Target | None]] = {
    "httpx": ("raw httpx", None, None, None),
    "stock": ("litellm.completion, stock settings", "httpx", None, None),
    "litellm": ("litellm.completion, the app's settings", "httpx", None, None),
    "core": ("app core: send → batches → saved", "litellm", Target("over", 3.0), None),
    "bare": ("bare Streamlit chat page (AppTest)", "litellm", None, None),
    "page": ("Chat page (AppTest)", "bare", Target("over", 2.0), Target("ratio", 1.1)),
}
Samples = dict[str, list[Sample]]


def chat_paths(args: argparse.Namespace, services: Services, user: UserPublic, fake: Mapping[str, Any], watch: Any,
               client: httpx.Client, model: str) -> dict[str, Callable[[], Sample]]:  # fmt: skip
    """The single-reply paths of the groups asked for, on `model`."""
    litellm, stock = import_litellm()
    base, key, reply, only = fake["bases"]["openai"], DEFAULT_KEYS["openai"], reply_text(args.tokens), args.only

    def direct(settings: Mapping[str, Any] | None = None) -> Callable[[], Sample]:
        def one() -> Sample:
            with applied(litellm, settings or {}):
                return streams.litellm_reply(litellm, base, key, model)

        return one

    paths: dict[str, Callable[[], Sample]] = {}
    if "httpx" in only:
        paths["httpx"] = lambda: streams.httpx_reply(client, base, key, model)
    if "litellm" in only:
        paths |= {"stock": direct(stock), "litellm": direct()} if model == MODEL else {"litellm": direct()}
    if "core" in only:
        paths["core"] = lambda: streams.core_reply(services, user.id, f"openai/{model}", reply)
    if "page" in only:
        paths["bare"] = pages.BarePage(watch, f"openai/{model}", key, base, reply).send
        paths["page"] = pages.ChatPage(services, user, watch, f"openai/{model}", reply).send
    return paths


def chat_figures(samples: Samples, tokens: int, where: str) -> list[Figure]:
    """Time to first token and CPU per token of each path, beside its floor's."""
    found = []
    for name, runs in samples.items():
        path, floor, ttft_target, cpu_target = PATHS[name]
        floor_runs = samples.get(floor or "", [])
        floor_name = PATHS[floor][0] if floor and floor_runs else ""
        ttft = [s.ttft * 1000 for s in runs if s.ttft is not None]
        floor_ttft = [s.ttft * 1000 for s in floor_runs if s.ttft is not None] or None
        found.append(Figure(f"TTFT, {path}{where}", ttft, "ms", floor_name, floor_ttft, ttft_target))
        cpu = [s.cpu * 1000 / tokens for s in runs]
        floor_cpu = [s.cpu * 1000 / tokens for s in floor_runs] or None
        found.append(Figure(f"CPU per token, {path}{where}", cpu, "ms", floor_name, floor_cpu, cpu_target))
    return found


def measure(args: argparse.Namespace, fake: Mapping[str, Any]) -> list[Figure]:
    """Every figure of the groups in `args.only` (of `GROUPS`)."""
    services = open_services(load_settings())
    user = add_user(services, fake)
    few, tokens, found = max(3, args.runs // 8), args.tokens, []
    with httpx.Client(timeout=60) as client, pages.probe() as watch:
        single = interleave(chat_paths(args, services, user, fake, watch, client, MODEL), args.runs)
        found += chat_figures(single, tokens, "")
        progress("single replies")
        if args.pace > 0:
            paths = chat_paths(args, services, user, fake, watch, client, PACED_MODEL)
            found += chat_figures(interleave(paths, few, warmup=1), tokens, f", at {args.pace:g} tokens/s")
            progress("paced replies")
        if "concurrent" in args.only:
            found += concurrent(args, services, user, single.get("core", []), few)
        if "models" in args.only:
            seeded = pages.seed_listings(services, user, LISTED_MODELS // 5)
            models = pages.ModelsPage(user, watch, seeded)
            reruns = [s.total * 1000 for s in repeat(models.rerun, args.runs)]
            row = f"Models page rerun, {seeded} listed models"
            found.append(Figure(row, reruns, "ms", target=Target("at_most", TARGET_RERUN_MS)))
            progress("Models page")
        if "search" in args.only:
            found += searches(services, user, args.runs)
        if "open" in args.only:
            opens = open_chat.measure_opens(services, user, watch, args.runs)
            small, large = ([s.total * 1000 for s in opens[size]] for size in open_chat.SIZES)
            row = f"Open a saved chat of {open_chat.SIZES[-1]:,} messages (AppTest)"
            found.append(Figure(row, large, "ms", f"{open_chat.SIZES[0]} messages", small, Target("ratio", 1.5)))
            progress("saved chats")
    return found


def concurrent(
    args: argparse.Namespace, services: Services, user: UserPublic, one: list[Sample], few: int
) -> list[Figure]:
    """`--concurrent` replies at once through the app's core: CPU per token beside one reply's (unpaced)."""
    found, reply, per = [], reply_text(args.tokens), args.tokens * args.concurrent
    for model, where in ((MODEL, ""), *(((PACED_MODEL, f", at {args.pace:g} tokens/s"),) if args.pace > 0 else ())):
        ref = f"openai/{model}"
        at_once = repeat(lambda r=ref: streams.concurrent_core(services, user.id, r, reply, args.concurrent), few, 1)
        floor = [s.cpu * 1000 / args.tokens for s in one] if model == MODEL and one else None
        what = f"{args.concurrent} replies at once (app core){where}"
        cpu = [s.cpu * 1000 / per for s in at_once]
        found.append(Figure(f"CPU per token, {what}", cpu, "ms", "1 reply" if floor else "", floor))
        found.append(Figure(f"Wall time, {what}", [s.total * 1000 for s in at_once], "ms"))
    progress("replies at once")
    return found


def searches(services: Services, user: UserPublic, runs: int) -> list[Figure]:
    """The chat list's search over the user's 10,000 messages (another user's 10,000 beside them)."""
    other = services.users.add("bench-other", "Other User", "other@example.com", pages.PASSWORD)
    seeded = search.seed_chats(services, user)
    search.seed_chats(services, other)
    found = []
    none = Target("at_most", TARGET_SEARCH_MS)
    for text, what, target in ((search.FOUND, "a word in one chat", None), ("no-such-word", "no match", none)):
        times = [s.total * 1000 for s in repeat(lambda text=text: search.search(services, user, text), runs)]
        found.append(Figure(f"Chat search, {seeded:,} messages, {what}", times, "ms", target=target))
    progress("chat search")
    return found


def progress(text: str) -> None:
    print(f"  measured: {text}", file=sys.stderr, flush=True)
