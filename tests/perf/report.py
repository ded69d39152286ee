"""Collects benchmark figures: build/bench/results.md as they come, BENCHMARKS.md at the end."""

import gc
import math
import os
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "bench" / "results.md"
# `make bench` publishes its run as BENCHMARKS.md (CRM_BENCH_PUBLISH=1); a partial run of
# tests/perf writes beside its figures instead.
BENCHMARKS = ROOT / "BENCHMARKS.md"
DRAFT = OUT.with_name("BENCHMARKS.md")


@dataclass
class HotPath:
    """One hot path's figures on one database (milliseconds)."""

    backend: str
    name: str
    median: float
    p95: float
    http_median: float | None
    http_p95: float | None
    statements: int | None
    floor: float
    target: str

    @property
    def ratio(self) -> float:
        return self.median / self.floor

    @property
    def beyond(self) -> float:
        """What the app adds to the floor: dispatch, session, ORM, template (milliseconds)."""
        return self.median - self.floor


HOT_PATHS: list[HotPath] = []


def record(backend: str, measure: str, value: str) -> None:
    """Append one figure (and print it, for the run's log)."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    if not OUT.exists():
        OUT.write_text(
            f"# Benchmark run {datetime.now():%Y-%m-%d %H:%M}\n\n"
            f"Machine: {machine()}\n\n| database | measure | value |\n|---|---|---|\n"
        )
    with OUT.open("a") as out:
        out.write(f"| {backend} | {measure} | {value} |\n")
    print(f"[bench] {backend}: {measure}: {value}")


def record_hot_path(path: HotPath) -> None:
    HOT_PATHS.append(path)
    print(
        f"[bench] {path.backend}: {path.name}: {path.median:.1f} / {path.p95:.1f} ms in process, "
        f"{_pair(path.http_median, path.http_p95)} ms over HTTP, {path.statements or '—'} "
        f"statements, floor {path.floor:.1f} ms ({path.ratio:.1f}×)"
    )


def _floor(milliseconds: float) -> str:
    """A floor to two significant digits at least: SQLite's are often a tenth of a millisecond."""
    return f"{milliseconds:.2f}" if milliseconds < 1 else f"{milliseconds:.1f}"


def _pair(median: float | None, p95: float | None) -> str:
    return "—" if median is None or p95 is None else f"{median:.1f} / {p95:.1f}"


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} × {model}, {memory:.0f} GiB, {platform.system()} "
        f"{platform.release()}, {platform.python_implementation()} {platform.python_version()}"
    )


def start_run() -> None:
    OUT.unlink(missing_ok=True)


def write_benchmarks(exitstatus: int) -> None:
    """BENCHMARKS.md: the hot paths side by side with their floors, then every other figure."""
    if exitstatus not in (0, 1) or (not HOT_PATHS and not OUT.exists()):
        return  # interrupted, or nothing measured
    lines = [
        "# Benchmarks",
        "",
        f"Run {datetime.now():%Y-%m-%d %H:%M} with `make bench` "
        f"({'every target met' if exitstatus == 0 else 'SOME TARGETS MISSED: see the run log'}).",
        f"Machine: {machine()}.",
        "",
        "Times in milliseconds, median / p95 of one run. *In process*: the Flask test client; "
        "*HTTP*: the same request to gunicorn on loopback. *Floor*: the statements the request "
        "ran, replayed on the database driver with no ORM and no template, in a transaction "
        "ended as the request's is (a write's committed, a read's rolled back), each replay "
        "taken in turn with a request; *ratio*: "
        "in-process median / floor. The monthly workbook's floor is a bare xlsxwriter loop over "
        "the same statements (tests/perf/test_reports_perf.py), each in a process of its own. "
        "*Beyond*: in-process median − floor, what the app adds to the statements (request "
        "dispatch, session and user, ORM, template); it is much the same on both databases, so "
        "where the statements take a millisecond or less (SQLite, the cached dashboard) the "
        "ratio mostly measures the page's rendering. The two *reference* rows are pages the "
        "bench adds to its app (tests/perf/reference.py): an empty response, and the layout "
        "around an empty page, both signed in; no page costs less than they do, so their "
        "*beyond* is part of every hot path's.",
        "",
        "| database | hot path | in process | HTTP | statements | floor | beyond | ratio "
        "| target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
        *(
            f"| {p.backend} | {p.name} | {_pair(p.median, p.p95)} | "
            f"{_pair(p.http_median, p.http_p95)} | {p.statements or '—'} | {_floor(p.floor)} | "
            f"{p.beyond:.1f} | {p.ratio:.1f}× | {p.target} |"
            for p in HOT_PATHS
        ),
        "",
    ]
    if OUT.exists():
        figures = OUT.read_text().split("| database | measure | value |", 1)[-1]
        lines += ["## Other figures", "", "| database | measure | value |" + figures.rstrip()]
    target = BENCHMARKS if os.environ.get("CRM_BENCH_PUBLISH") == "1" else DRAFT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n")


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest sample that `share` of the samples do not
    exceed (0.95: the p95)."""
    return sorted(samples)[max(0, math.ceil(len(samples) * share) - 1)]


def settle() -> None:
    """After a bulk load in this process: let go of what the load made, so that the requests
    measured next pay no garbage collection for it (a web process never held it)."""
    from crm.extensions import db

    db.session.remove()
    gc.collect()
    gc.freeze()
