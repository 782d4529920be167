"""The browser rows' figures and their table: median (or p95) with min-max, the floor, the ratio, the target."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.run import markdown, plain

Table = tuple[list[str], list[list[str]]]
HEADER = ["Row", "Median", "Min-max", "Floor", "Ratio", "Target", "Met"]
SCALE = {"ms": 1000.0, "s": 1.0, "MiB": 1.0}  # values are seconds or MiB


@dataclass(frozen=True)
class Figure:
    """One row: its samples (seconds or MiB), the floor's from the same run, and the ratio the row must stay within."""

    row: str
    values: Sequence[float]
    unit: str
    floor: Sequence[float] | None = None
    target: float | None = None
    stat: str = "median"  # or "p95"

    def value(self, samples: Sequence[float]) -> float:
        if self.stat == "p95" and len(samples) > 1:
            return statistics.quantiles(samples, n=20, method="inclusive")[-1]
        return statistics.median(samples)

    def shown(self, value: float) -> str:
        scaled = value * SCALE[self.unit]
        return f"{scaled:.2f} {self.unit}" if self.unit == "s" else f"{scaled:.0f} {self.unit}"

    def ratio(self) -> float | None:
        if not self.floor:
            return None
        return self.value(self.values) / self.value(self.floor)

    def cells(self) -> list[str]:
        ratio = self.ratio()
        span = f"{self.shown(min(self.values))}–{self.shown(max(self.values))}" if len(self.values) > 1 else "–"
        met = "–" if ratio is None or self.target is None else ("yes" if ratio <= self.target else "no")
        return [
            self.row,
            self.shown(self.value(self.values)),
            span,
            self.shown(self.value(self.floor)) if self.floor else "–",
            f"{ratio:.2f}×" if ratio is not None else "–",
            f"≤ {self.target:g}×" if self.target is not None else "–",
            met,
        ]


def table(figures: Sequence[Figure]) -> Table:
    return HEADER, [figure.cells() for figure in figures]


def load(average: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in average)


__all__ = ["Figure", "load", "markdown", "plain", "table"]
