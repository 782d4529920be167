"""Local models: tokens per second, time to first token, CPU per token and memory through the app's Chat path
versus the runtime called directly, per runtime, on the same model; and download throughput through the app
versus a plain `snapshot_download`, from the same throttled fake Hub.

    python -m bench.local [--runs 5] [--tokens 48] [--shape smollm2-360m] [--only generation,download] [--markdown]

Each path runs in a process of its own (`python -m bench.local --serve PATH`), holding its own copy of the model,
and the processes take turns, one reply at a time: llama.cpp's and torch's thread teams belong to the thread that
first drives them, so two paths driving one model from different threads slow each other down (here llama.cpp
fell from 46 to 28 tokens/s after a second thread had used it), which is no figure of either path.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

from bench.measure import interleave, rss_mib
from bench.models import RUNTIMES, SHAPES, model_folder
from bench.table import Figure, Target, markdown, plain
from tests.fakes.hub import DEFAULT_TOKENS

if TYPE_CHECKING:
    from core.accounts.users import UserPublic
    from core.services import Services

ROOT = Path(__file__).resolve().parent.parent
REPO = "bench/model"
PROMPT = "Write a short story about a lighthouse keeper."
MESSAGES = ({"role": "user", "content": PROMPT},)
PATHS = {
    "direct": "runtime called directly",
    "pool": "app: the model pool, below litellm",
    "litellm": "app: litellm.completion(local/…)",
    "core": "app: Chat's core, send → saved",
}
GROUPS = ("generation", "download")
DOWNLOAD_TOKEN = next(iter(DEFAULT_TOKENS))  # a read token the fake Hub knows
TARGET_RATIO = 0.9
MIB = 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """One generated reply: seconds to its first text and in all, tokens, and the CPU seconds its process spent."""

    ttft: float
    total: float
    tokens: int
    cpu: float


# The paths, each run in a process of its own ------------------------------------------------------------------


def app_services(data: Path, **environment: str) -> tuple[Services, UserPublic]:
    """The app's services on a fresh database in `data` (with these settings), and a user of it."""
    from core.config import load_settings
    from core.security.crypto import generate_master_key
    from core.services import open_services

    os.environ |= {"APP_DATA_DIR": str(data), "APP_SECRETS_FILE": str(data / "none.toml")} | environment
    os.environ["APP_MASTER_KEY"] = generate_master_key()
    services = open_services(load_settings())
    return services, services.users.add("bench", "Bench User", "bench@example.com", "a bench password 1")


def timed(generate: Callable[[], Iterator[Any]], count: Callable[[], int]) -> Reply:
    start, cpu, first = time.perf_counter(), time.process_time(), None
    for _ in generate():
        first = first or time.perf_counter()
    total = time.perf_counter() - start
    return Reply((first or start + total) - start, total, count(), time.process_time() - cpu)


class DirectLlama:
    """llama-cpp-python as its README streams a chat, loaded as the app loads it (context, threads)."""

    def __init__(self, folder: Path, threads: int) -> None:
        import llama_cpp

        from core.local.folders import gguf_file
        from core.local.runtime_llamacpp import CONTEXT_TOKENS

        self.llama = llama_cpp.Llama(
            model_path=str(gguf_file(folder)), n_ctx=CONTEXT_TOKENS, n_threads=threads, verbose=False
        )

    def reply(self, tokens: int) -> Reply:
        count = [0]

        def generate() -> Iterator[Any]:
            stream = self.llama.create_chat_completion(
                [dict(m) for m in MESSAGES],  # type: ignore[misc]
                stream=True,
                max_tokens=tokens,
                temperature=0,
            )
            for chunk in stream:
                if "content" in chunk["choices"][0]["delta"]:  # type: ignore[index]
                    count[0] += 1
                    yield chunk

        return timed(generate, lambda: count[0])


class DirectTransformers:
    """transformers as its docs stream: generate() on a thread, a TextIteratorStreamer read on this one; bf16."""

    def __init__(self, folder: Path, threads: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).eval()

    def reply(self, tokens: int) -> Reply:
        from transformers import TextIteratorStreamer

        output: list[Any] = []
        encoded = self.tokenizer.apply_chat_template(
            [dict(m) for m in MESSAGES], add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        options = {"max_new_tokens": tokens, "do_sample": False, "streamer": streamer}

        def generate() -> Iterator[Any]:
            worker = threading.Thread(target=lambda: output.append(self.model.generate(**encoded, **options)))
            worker.start()
            yield from streamer
            worker.join()

        return timed(generate, lambda: output[0].shape[1] - encoded["input_ids"].shape[1])


class ThroughPool:
    """The app's runtime side without litellm: ModelPool's queue, a Generation and its worker thread."""

    def __init__(self, folder: Path, threads: int) -> None:
        from core.local.pool import ModelPool

        self.folder, self.pool = folder, ModelPool(max_loaded=1, threads=threads)

    def reply(self, tokens: int) -> Reply:
        from core.local.runtime import GenerationRequest

        generation = self.pool.generate(REPO, self.folder, GenerationRequest(MESSAGES, tokens, 0))
        reply = timed(lambda: iter(generation), lambda: 0)
        return Reply(reply.ttft, reply.total, generation.completion_tokens, reply.cpu)


class ThroughLitellm:
    """The app's model call: litellm.completion(model="local/...", stream=True) → LocalLLM → ModelPool → runtime."""

    def __init__(self, folder: Path, threads: int) -> None:
        from core.local.pool import ModelPool
        from core.local.provider import register
        from core.providers.client import litellm

        self.pool = ModelPool(max_loaded=1, threads=threads)
        register(self.pool, lambda _repo: folder)
        self.litellm = litellm()

    def reply(self, tokens: int) -> Reply:
        usage: list[Any] = [None]

        def generate() -> Iterator[Any]:
            stream = self.litellm.completion(
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
                    usage[0] = getattr(chunk, "usage", None) or usage[0]
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk
            finally:
                stream.close()

        return timed(generate, lambda: usage[0].completion_tokens if usage[0] else 0)


class ThroughCore:
    """What the Chat page asks of core: `services.chat.send` → batches → the reply saved, for a user who has the
    model among their local models (a fresh database in a temporary data folder)."""

    def __init__(self, folder: Path, threads: int) -> None:
        data = Path(tempfile.mkdtemp(prefix="bench-local-"))
        atexit.register(shutil.rmtree, data, ignore_errors=True)  # the model's folder is linked in, not copied
        self.services, self.user = app_services(data, APP_LOCAL_THREADS=str(threads))
        library = self.services.local.library
        library.folder_for(REPO).parent.mkdir(parents=True, exist_ok=True)
        library.folder_for(REPO).symlink_to(folder.resolve(), target_is_directory=True)
        library.record(REPO, runtime_name(folder), 0, self.user.id)
        library.add_user(self.user.id, REPO)

    def reply(self, tokens: int) -> Reply:
        from core.chat.conversations import Conversation, GenerationSettings

        conversation = Conversation(settings=GenerationSettings(temperature=0, max_tokens=tokens))
        turn = self.services.chat.send(self.user.id, conversation, PROMPT, f"local/{REPO}")
        reply = timed(turn.batches, lambda: 0)
        message = turn.finish()
        if message.error:
            raise RuntimeError(f"the local reply failed: {message.error}")
        return Reply(reply.ttft, reply.total, message.completion_tokens or 0, reply.cpu)


def runtime_name(folder: Path) -> str:
    from core.local.runtime import runtime_of

    return runtime_of(folder)


SERVED: dict[str, Callable[[Path, int], Any]] = {
    "direct-transformers": DirectTransformers,
    "direct-llama.cpp": DirectLlama,
    "pool": ThroughPool,
    "litellm": ThroughLitellm,
    "core": ThroughCore,
}


def serve(path: str, folder: Path, threads: int) -> None:
    """The child: load, say how much memory that takes, then one reply per line of stdin (its max tokens)."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    key = f"direct-{runtime_name(folder)}" if path == "direct" else path
    runner = SERVED[key](folder, threads or os.cpu_count() or 1)
    runner.reply(1)  # loads the app's models; every path's weights paged in and buffers allocated before RSS is read
    print(json.dumps({"rss": rss_mib()}), flush=True)
    for line in sys.stdin:
        print(json.dumps(runner.reply(int(line)).__dict__), flush=True)


# The parent ---------------------------------------------------------------------------------------------------


class Worker:
    """One path's process; `loaded` is what it reported after loading the model."""

    def __init__(self, path: str, folder: Path, threads: int) -> None:
        command = [sys.executable, "-m", "bench.local", "--serve", path, "--folder", str(folder)]
        command += ["--threads", str(threads)]
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.loaded = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"a benchmark worker ended (exit code {self.process.wait()})")
        return dict(json.loads(line))

    def reply(self, tokens: int) -> Reply:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{tokens}\n")
        self.process.stdin.flush()
        return Reply(**self._read())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@dataclass(frozen=True)
class GenerationRow:
    runtime: str
    path: str
    replies: list[Reply]
    loaded: Mapping[str, float]

    def median(self, figure: Callable[[Reply], float]) -> float:
        return median([figure(r) for r in self.replies])

    @property
    def rate(self) -> float:
        return self.median(lambda r: r.tokens / r.total)

    @property
    def ttft_ms(self) -> float:
        return self.median(lambda r: r.ttft) * 1000

    @property
    def cpu_ms(self) -> float:
        return self.median(lambda r: r.cpu / max(r.tokens, 1)) * 1000

    def spread(self, figure: Callable[[Reply], float], digits: int) -> str:
        values = [figure(r) for r in self.replies]
        return f"{min(values):.{digits}f}–{max(values):.{digits}f}"


def measure_generation(runtime: str, folder: Path, args: argparse.Namespace) -> list[GenerationRow]:
    """Every path on one model, each in its process, taking turns reply by reply."""
    print(f"  loading {folder} ({runtime}) in {len(PATHS)} processes", file=sys.stderr, flush=True)
    workers = {path: Worker(path, folder, args.threads) for path in PATHS}
    try:
        replies = interleave({path: (lambda p=path: workers[p].reply(args.tokens)) for path in PATHS}, args.runs, 1)
        for path, found in replies.items():
            if any(r.tokens != args.tokens for r in found):
                raise RuntimeError(f"{path} generated {[r.tokens for r in found]} tokens, not {args.tokens} each")
        return [GenerationRow(runtime, path, replies[path], workers[path].loaded) for path in PATHS]
    finally:
        for worker in workers.values():
            worker.close()


# Downloads ----------------------------------------------------------------------------------------------------


@contextmanager
def fake_hub(size: int, rate: int) -> Iterator[str]:
    """`bench.fake_hub` in a process of its own, serving one repo of `size` bytes at `rate` bytes/s; its URL."""
    command = [sys.executable, "-m", "bench.fake_hub", "--repo", REPO, "--bytes", str(size), "--rate", str(rate)]
    child = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())["url"]
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


def measure_downloads(args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds per download of the same repo: the app's (plan, child process, progress from the disk, recorded)
    versus `snapshot_download` called in this process; each into an empty folder."""
    size, rate = int(args.download_mib * MIB), int(args.rate_mib * MIB)
    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp, fake_hub(size, rate) as url:
        services, user = app_services(Path(tmp) / "data", HF_ENDPOINT=url, HF_HUB_DISABLE_TELEMETRY="1")
        from huggingface_hub import snapshot_download

        services.credentials.save(user.id, "huggingface", {"token": DOWNLOAD_TOKEN})

        def plain() -> float:
            start, folder = time.perf_counter(), Path(tmp) / "plain"
            snapshot_download(REPO, local_dir=folder, cache_dir=f"{tmp}/cache", token=DOWNLOAD_TOKEN, endpoint=url)
            elapsed = time.perf_counter() - start
            shutil.rmtree(folder)
            shutil.rmtree(Path(tmp) / "cache")
            return elapsed

        def app() -> float:
            start = time.perf_counter()
            job = services.local.download(user.id, REPO)
            job.finished.wait()
            elapsed = time.perf_counter() - start
            if job.progress().state != "done":
                raise RuntimeError(f"the app's download ended {job.progress().state}: {job.progress().message}")
            services.local.remove(user.id, REPO)
            return elapsed

        print(f"  downloading {args.download_mib:g} MiB at {args.rate_mib:g} MiB/s", file=sys.stderr, flush=True)
        return interleave({"plain": plain, "app": app}, args.download_runs, warmup=0)


# The report ---------------------------------------------------------------------------------------------------


def generation_figures(rows: list[GenerationRow]) -> list[Figure]:
    """Per runtime and path: tokens/s, time to first token and RSS after load, each beside the runtime direct's."""
    found = []
    by = {(row.runtime, row.path): row for row in rows}
    for row in rows:
        direct = by[(row.runtime, "direct")] if row.path != "direct" else None
        floor = "runtime direct" if direct else ""
        rates = [r.tokens / r.total for r in row.replies]
        target = Target("ratio_min", TARGET_RATIO) if row.path == "core" else None
        where = f"local model, {row.runtime}, {PATHS[row.path]}"
        floor_rates = [r.tokens / r.total for r in direct.replies] if direct else None
        found.append(Figure(f"Tokens/s, {where}", rates, "tok/s", floor, floor_rates, target))
        ttft = [r.ttft * 1000 for r in row.replies]
        floor_ttft = [r.ttft * 1000 for r in direct.replies] if direct else None
        ttft_target = Target("ratio", round(1 / TARGET_RATIO, 2)) if row.path == "core" else None
        found.append(Figure(f"TTFT, {where}", ttft, "ms", floor, floor_ttft, ttft_target))
        rss = [direct.loaded["rss"]] if direct else None
        found.append(Figure(f"RSS with the model loaded, {where}", [row.loaded["rss"]], "MiB", floor, rss))
    return found


def download_figures(seconds: Mapping[str, list[float]], args: argparse.Namespace) -> list[Figure]:
    app, plain = ([args.download_mib / s for s in seconds[name]] for name in ("app", "plain"))
    row = f"Download of {args.download_mib:g} MiB served at {args.rate_mib:g} MiB/s, the app's"
    return [Figure(row, app, "MiB/s", "snapshot_download", plain, Target("ratio_min", TARGET_RATIO))]


def figures(args: argparse.Namespace) -> list[Figure]:
    """The local-model rows of the groups in `args.only` (`args` as `parse_args` makes them)."""
    only = {name.strip() for name in args.only.split(",")}
    rows: list[GenerationRow] = []
    if "generation" in only:
        for runtime in args.runtime.split(","):
            rows += measure_generation(runtime, model_folder(args.shape, runtime), args)
    found = generation_figures(rows)
    return found + (download_figures(measure_downloads(args), args) if "download" in only else [])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.local", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="recorded replies per path (default 5)")
    parser.add_argument("--tokens", type=int, default=48, help="tokens per reply (default 48)")
    parser.add_argument("--threads", type=int, default=0, help="runtime threads (default 0: all cores)")
    parser.add_argument("--shape", default="smollm2-360m", choices=["tiny", *SHAPES], help="the model's size")
    parser.add_argument("--runtime", default=",".join(RUNTIMES), help="comma-separated, of: transformers, llama.cpp")
    parser.add_argument("--download-mib", type=float, default=128, help="the downloaded repo's size (default 128)")
    parser.add_argument("--rate-mib", type=float, default=16, help="the fake Hub's MiB/s (default 16)")
    parser.add_argument("--download-runs", type=int, default=3, help="downloads per path (default 3)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated, of: {', '.join(GROUPS)}")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child of one path
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve:
        serve(args.serve, Path(args.folder), args.threads)
        return
    found = figures(args)
    threads = args.threads or os.cpu_count()
    print(f"\nLocal models: {args.shape} shape, {args.tokens}-token greedy replies, {threads} threads.\n")
    print(markdown(found) if args.markdown else plain(found))


if __name__ == "__main__":
    main()
