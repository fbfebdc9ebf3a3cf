"""Shared by the benchmarks: the git revision, process memory, and writing results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

RESULTS_DIR = Path("bench-results")


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mib(root_pid: int | None = None, depth: int | None = None) -> float:
    """Resident memory of a process and its descendants (the browser's helpers included), in MiB;
    ``depth=0`` counts the process alone."""
    root_pid = root_pid or os.getpid()
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [(root_pid, 0)]
    while stack:
        pid, level = stack.pop()
        total += _rss_kib(pid)
        if depth is None or level < depth:
            stack.extend((child, level + 1) for child in children.get(pid, []))
    return total / 1024


def write_results(name: str, payload: dict, out: Path | None = None) -> Path:
    out = out or RESULTS_DIR / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "revision": git_revision(), "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, **payload}
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return out


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-quantile of ``values`` (0 <= q <= 1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def print_rows(rows: list[dict]) -> None:
    """The benchmark table: one row per stage and measure, median and p95 in the measure's unit."""
    stage_width = max([len("stage")] + [len(r["stage"]) for r in rows])
    measure_width = max([len("measure")] + [len(r["measure"]) for r in rows])
    print(f"{'stage':<{stage_width}}  {'measure':<{measure_width}}  {'median':>9}  {'p95':>9}  unit")
    for row in rows:
        print(f"{row['stage']:<{stage_width}}  {row['measure']:<{measure_width}}  {_cell(row['median']):>9}  "
              f"{_cell(row.get('p95')):>9}  {row['unit']}")
