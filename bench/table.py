"""The benchmark's one table: a row per figure, each beside its floor from the same run, the ratio, the target and
whether it is met; and the header line that says on what machine, under what load and with which versions."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HEADER = ["Row", "Median", "Min–max", "Floor", "Ratio", "Target", "Met", "Runs"]


@dataclass(frozen=True)
class Target:
    """What a row must stay within: `kind` is "ratio" (value/floor ≤ limit), "ratio_min" (value/floor ≥ limit, for
    rates), "over" (value − floor ≤ limit, in the row's unit) or "at_most" (value ≤ limit)."""

    kind: str
    limit: float

    def text(self, unit: str) -> str:
        return {
            "ratio": f"≤ {self.limit:g}×",
            "ratio_min": f"≥ {self.limit:g}×",
            "over": f"≤ +{self.limit:g} {unit}",
            "at_most": f"≤ {self.limit:g} {unit}",
        }[self.kind]

    def met(self, value: float, floor: float | None, unit: str) -> str:
        if self.kind == "at_most":
            return "yes" if value <= self.limit else f"no (+{number(value - self.limit)} {unit})"
        if floor is None:
            return "–"
        if self.kind == "over":
            over = value - floor
            return "yes" if over <= self.limit else f"no ({over:+.3g} {unit})"
        ratio = value / floor if floor else float("inf")
        return "yes" if (ratio >= self.limit if self.kind == "ratio_min" else ratio <= self.limit) else "no"


@dataclass(frozen=True)
class Figure:
    """One row: its samples (in `unit`), the floor's samples from the same run and what it is, and its target."""

    row: str
    values: Sequence[float]
    unit: str
    floor_name: str = ""
    floor: Sequence[float] | None = None
    target: Target | None = None
    stat: str = "median"  # or "p95"

    def value(self, samples: Sequence[float]) -> float:
        return p95(samples) if self.stat == "p95" else statistics.median(samples)

    def cells(self) -> list[str]:
        value = self.value(self.values)
        floor = self.value(self.floor) if self.floor else None
        span = f"{number(min(self.values))}–{number(max(self.values))}" if len(self.values) > 1 else "–"
        ratio = f"{value / floor:.2f}×" if floor else "–"
        return [
            self.row,
            f"{number(value)} {self.unit}",
            span,
            f"{self.floor_name}: {number(floor)} {self.unit}" if floor is not None else "–",
            ratio,
            self.target.text(self.unit) if self.target else "–",
            self.target.met(value, floor, self.unit) if self.target else "–",
            str(len(self.values)),
        ]


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def number(value: float) -> str:
    """Three significant figures, at least (no exponent)."""
    size = abs(value)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3 if size >= 0.01 else 4
    return f"{value:.{digits}f}"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def header(load_before: str, command: str) -> str:
    """The machine, its load average (1/5/15 min) at the start and the end, the date, the versions, the command."""
    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}); load average {load_before} at the start, {load()} at the end; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; litellm {version('litellm')}, "
        f"Streamlit {version('streamlit')}; `{command}`"
    )


def plain(figures: Sequence[Figure]) -> str:
    body = [figure.cells() for figure in figures]
    widths = [max(len(line[i]) for line in [HEADER, *body]) for i in range(len(HEADER))]
    lines = [HEADER, ["-" * w for w in widths], *body]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def markdown(figures: Sequence[Figure]) -> str:
    lines = [HEADER, ["---"] * len(HEADER), *(figure.cells() for figure in figures)]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)
