"""Samples, medians and the process CPU clock the benchmark reads."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Sample:
    """One streamed reply: seconds to its first text and to its end, and the CPU seconds it cost."""

    ttft: float | None
    total: float
    cpu: float


@dataclass(frozen=True)
class Row:
    """One line of the report: medians in milliseconds (None where the figure does not apply)."""

    path: str
    ttft_ms: float | None
    total_ms: float | None
    cpu_per_token_ms: float | None
    runs: int
    note: str = ""


def median_ms(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) * 1000 if known else None


def summarize(path: str, samples: Sequence[Sample], tokens: int, note: str = "") -> Row:
    cpu = median_ms([s.cpu for s in samples])
    return Row(
        path,
        median_ms([s.ttft for s in samples]),
        median_ms([s.total for s in samples]),
        cpu / tokens if cpu is not None else None,
        len(samples),
        note,
    )


def repeat(measure: Callable[[], Sample], runs: int, warmup: int = 3) -> list[Sample]:
    """`warmup` unrecorded runs (imports, connections, caches), then `runs` recorded ones."""
    for _ in range(warmup):
        measure()
    return [measure() for _ in range(runs)]


def interleave(measures: Mapping[str, Callable[[], T]], runs: int, warmup: int = 3) -> dict[str, list[T]]:
    """Like `repeat` for several paths at once, taking turns (starting with a different one each round): a machine
    that speeds up or slows down meanwhile (a shared CPU does) then shifts every path's figures alike."""
    names = list(measures)
    samples: dict[str, list[T]] = {name: [] for name in names}
    for round_ in range(warmup + runs if names else 0):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            sample = measures[name]()
            if round_ >= warmup:
                samples[name].append(sample)
    return samples


def cpu_seconds() -> float:
    """CPU time of the whole process (every thread), user and system."""
    return time.process_time()


def cpu_since(start: float, step: float = 0.01, busy: float = 0.05, limit: float = 2.0) -> float:
    """CPU seconds since `start`, once the process has gone quiet (less than `busy` of a core over `step` s).

    Work a call leaves to background threads (litellm's logging pool finishes a stream after it ended) is counted
    with that call, not with whatever is measured next.
    """
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        before = cpu_seconds()
        time.sleep(step)
        if cpu_seconds() - before < busy * step:
            break
    return cpu_seconds() - start


def rss_mib(pid: int | str = "self") -> float:
    """The resident memory of process `pid` (this one by default), in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
