"""Collects benchmark figures and writes them to build/bench/ as a markdown table."""

import gc
import platform
from datetime import datetime
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "build" / "bench" / "results.md"


def record(backend: str, measure: str, value: str) -> None:
    """Append one figure (and print it, for the run's log)."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    if not OUT.exists():
        OUT.write_text(
            f"# Benchmark run {datetime.now():%Y-%m-%d %H:%M}\n\n"
            f"Machine: {platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}\n\n| database | measure | value |\n|---|---|---|\n"
        )
    with OUT.open("a") as out:
        out.write(f"| {backend} | {measure} | {value} |\n")
    print(f"[bench] {backend}: {measure}: {value}")


def percentile(samples: list[float], share: float) -> float:
    """The sample below which `share` of the samples lie (0.95: the p95)."""
    return sorted(samples)[max(0, int(len(samples) * share) - 1)]


def settle() -> None:
    """After a bulk load in this process: let go of what the load made, so that the requests
    measured next pay no garbage collection for it (a web process never held it)."""
    from crm.extensions import db

    db.session.remove()
    gc.collect()
    gc.freeze()
