"""Order statistics shared by the benchmark scripts and the MLflow worker (standard
library only, so the worker can import it from MLflow's own virtual environment)."""

from __future__ import annotations

import statistics


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank: an observed sample, never interpolated."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary_ms(samples_s: list[float]) -> dict:
    """p50/p95/min/max in milliseconds of samples given in seconds."""
    ms = [s * 1000 for s in samples_s]
    return {"p50_ms": statistics.median(ms), "p95_ms": percentile(ms, 0.95), "min_ms": min(ms),
            "max_ms": max(ms), "repeats": len(ms)}
