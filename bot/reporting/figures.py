"""Small statistics for the SLA report: average, median and p90 of durations."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import timedelta


def percentile(values: list[timedelta], share: float) -> timedelta | None:
    """Nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


@dataclass(frozen=True)
class Spread:
    count: int = 0
    average: timedelta | None = None
    median: timedelta | None = None
    p90: timedelta | None = None

    @classmethod
    def of(cls, values: list[timedelta]) -> Spread:
        if not values:
            return cls()
        seconds = [v.total_seconds() for v in values]
        return cls(len(values), timedelta(seconds=statistics.fmean(seconds)),
                   timedelta(seconds=statistics.median(seconds)), percentile(values, 0.9))
