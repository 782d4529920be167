"""Local models: tokens per second and time to first text through litellm's `local/` path (the app's Chat path
below the page) versus the runtime called directly, per runtime, on the same model, taking turns; medians.

    python -m bench.local [--runs 15] [--tokens 200] [--threads 0] [--runtime transformers,llama.cpp] [--folder PATH]

Without --folder it runs the tests' tiny models (64 wide, 2 layers), where a token costs well under a millisecond,
so any per-token overhead of the app's path shows at its largest. With --folder (a downloaded model folder, e.g.
data/models/HuggingFaceTB/SmolLM2-360M-Instruct-GGUF) it measures that model with the runtime its files need.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import interleave
from core.local.pool import ModelPool
from core.local.provider import register
from core.local.runtime import GenerationRequest, LoadedModel, runtime_of
from core.providers.client import litellm

REPO = "bench/model"
MESSAGES = ({"role": "user", "content": "Write a short story about a lighthouse keeper."},)
Result = tuple[float, float, int]  # seconds to the first text, seconds in all, tokens generated


def direct_llama(model: Any, tokens: int) -> Result:
    """llama-cpp-python as its README streams a chat: create_chat_completion(stream=True)."""
    start, first, count = time.perf_counter(), None, 0
    for chunk in model.llama.create_chat_completion(
        [dict(m) for m in MESSAGES], stream=True, max_tokens=tokens, temperature=0
    ):
        if "content" in chunk["choices"][0]["delta"]:
            count += 1
            first = first or time.perf_counter()
    return (first or start) - start, time.perf_counter() - start, count


def direct_transformers(model: Any, tokens: int) -> Result:
    """transformers as its docs stream: generate() on a thread, a TextIteratorStreamer read on this one."""
    from transformers import TextIteratorStreamer

    start, first = time.perf_counter(), None
    encoded = model.tokenizer.apply_chat_template(
        [dict(m) for m in MESSAGES], add_generation_prompt=True, return_dict=True, return_tensors="pt"
    ).to(model.device)
    streamer = TextIteratorStreamer(model.tokenizer, skip_prompt=True, skip_special_tokens=True)
    output: list[Any] = []
    options = {"max_new_tokens": tokens, "do_sample": False, "streamer": streamer, "temperature": None, "top_p": None}
    worker = threading.Thread(target=lambda: output.append(model.model.generate(**encoded, **options)))
    worker.start()
    for _text in streamer:
        first = first or time.perf_counter()
    worker.join()
    return (first or start) - start, time.perf_counter() - start, output[0].shape[1] - encoded["input_ids"].shape[1]


def through_litellm(tokens: int) -> Result:
    """The app's path: litellm.completion(model="local/...", stream=True) → LocalLLM → ModelPool → runtime."""
    start, first, usage = time.perf_counter(), None, None
    stream = litellm().completion(
        model=f"local/{REPO}",
        messages=list(MESSAGES),
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=tokens,
        temperature=0,
        api_key="unused",
    )
    try:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first = first or time.perf_counter()
            usage = getattr(chunk, "usage", None) or usage
    finally:
        stream.close()
    return (first or start) - start, time.perf_counter() - start, usage.completion_tokens if usage else 0


def through_pool(pool: ModelPool, folder: Path, tokens: int) -> Result:
    """The app's path without litellm: the pool's queue, a Generation and its worker thread."""
    start, first = time.perf_counter(), None
    generation = pool.generate(REPO, folder, GenerationRequest(MESSAGES, tokens, 0))
    for _text in generation:
        first = first or time.perf_counter()
    return (first or start) - start, time.perf_counter() - start, generation.completion_tokens


def measure(model: LoadedModel, pool: ModelPool, folder: Path, args: argparse.Namespace) -> dict[str, list[Result]]:
    direct = direct_llama if model.runtime == "llama.cpp" else direct_transformers
    tokens = args.tokens
    paths: dict[str, Callable[[], Result]] = {
        "direct": lambda: direct(model, tokens),
        "pool": lambda: through_pool(pool, folder, tokens),
        "litellm local/": lambda: through_litellm(tokens),
    }
    results: dict[str, list[Result]] = {name: [] for name in paths}

    def recorder(name: str) -> Callable[[], Any]:
        def one() -> Any:
            results[name].append(paths[name]())

        return one

    interleave({name: recorder(name) for name in paths}, args.runs, warmup=2)
    return {name: found[2:] for name, found in results.items()}  # the warm-up rounds dropped


def report(label: str, results: dict[str, list[Result]]) -> None:
    def rate(found: list[Result]) -> float:
        return statistics.median(n / total for _, total, n in found)

    def ttft(found: list[Result]) -> float:
        return statistics.median(first for first, _, _ in found) * 1000

    base_rate, base_ttft = rate(results["direct"]), ttft(results["direct"])
    print(f"\n{label}")
    print(f"{'path':<16} {'tok/s':>9} {'ratio':>7} {'TTFT ms':>9} {'ratio':>7} {'tokens':>7}")
    for name, found in results.items():
        print(
            f"{name:<16} {rate(found):9.1f} {rate(found) / base_rate:7.1%} {ttft(found):9.2f} "
            f"{base_ttft / max(ttft(found), 1e-9):7.1%} {found[0][2]:7d}"
        )


def folders(args: argparse.Namespace) -> list[Path]:
    if args.folder:
        return [Path(f) for f in args.folder]
    from tests.fakes.tiny_models import tiny_model

    return [tiny_model(runtime) for runtime in args.runtime.split(",")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    parser.add_argument("--folder", action="append", help="a model folder (repeatable); default: the tiny models")
    parser.add_argument("--runtime", default="transformers,llama.cpp", help="which tiny models, without --folder")
    args = parser.parse_args(argv)
    for folder in folders(args):
        pool = ModelPool(max_loaded=1, threads=args.threads)
        register(pool, lambda _repo, folder=folder: folder)
        try:
            through_pool(pool, folder, 1)  # loads the model
            # Every path drives the pool's one copy: a second llama.cpp copy's threads would spin on the same cores
            # between its own calls and slow the other down.
            model = pool._models[REPO]
            report(f"{runtime_of(folder)}: {folder}", measure(model, pool, folder, args))
        finally:
            pool.unload(REPO)


if __name__ == "__main__":
    main()
