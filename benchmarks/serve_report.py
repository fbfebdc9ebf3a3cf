"""The serve benchmark's figures from what a run recorded (benchmarks/serve.py): latency quantiles, CPU seconds
of a process, what the workers logged (runs, frames covered, seconds per stage) and the bench table's rows."""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path

from benchmarks.common import percentile

# The line a worker logs after each run (agent/service/worker.py ``compute``).
_DONE = re.compile(r"frames up to #\d+ \((\d+) new\) in ([\d.]+) s(?:, version \d+; stages: ([^\n]*))?")


def quantiles(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"n": len(values), "p50": round(statistics.median(values), 3), "p95": round(percentile(values, 0.95), 3),
            "max": round(max(values), 3)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_log(logs: list[Path], offsets: list[int]) -> dict:
    """What the workers logged since ``offsets``: pipeline runs, frames they covered, and the time of each stage."""
    runs = covered = 0
    busy = 0.0
    stages: dict[str, float] = {}
    for log, offset in zip(logs, offsets):
        with open(log, "rb") as handle:
            handle.seek(offset)
            for match in _DONE.finditer(handle.read().decode(errors="replace")):
                runs += 1
                covered += int(match.group(1))
                busy += float(match.group(2))
                for name, seconds in (item.split("=") for item in (match.group(3) or "").split()):
                    stages[name] = stages.get(name, 0.0) + float(seconds)
    return {"pipeline_runs": runs, "frames_covered": covered, "busy_s": round(busy, 1),
            "seconds_per_run": round(busy / runs, 3) if runs else None,
            "stage_s_per_run": {name: round(total / runs, 4) for name, total in stages.items()} if runs else {}}


def rows(result: dict) -> list[dict]:
    out = []
    for r in result["runs"]:
        stage = f"serve {r['workers']}w {'text layer' if r['text_layer'] else 'OCR-only'} {r['shoppers']} shoppers"
        for material, q in r["latency_s_by_material"].items():
            if q:
                out.append({"stage": stage, "measure": f"frame -> recommendation, {material} ({q['n']})",
                            "median": q["p50"], "p95": q["p95"], "unit": "s"})
        out += [{"stage": stage, "measure": "throughput", "median": r["throughput_frames_per_s"], "p95": None,
                 "unit": "frames/s"},
                {"stage": stage, "measure": "queue depth (median, max)", "median": r["queue_depth"]["median"],
                 "p95": r["queue_depth"]["max"], "unit": "jobs"},
                {"stage": stage, "measure": "worker RSS (largest worker)", "p95": None, "unit": "MiB",
                 "median": max(r["worker_rss_mib_max"] or [0])},
                {"stage": stage, "measure": "frames lost", "median": r["frames_lost"], "p95": None, "unit": "frames"}]
    return out
