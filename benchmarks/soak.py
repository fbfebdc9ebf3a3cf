"""Capture soak: record persona sessions back to back for N minutes (a fresh Chromium per session, as
`interarec capture` does), keep only the newest sessions (the retention path), and sample every 30 s the memory
of this process and of everything it started (Playwright's driver, Chromium and its helpers) and the disk the
screenshot store takes. Prints a table and writes bench-results/soak.json.

    python -m benchmarks.soak [--minutes 10] [--interval 30] [--session-seconds 30] [--keep 5] [--out FILE]

Bounded means: after the first sessions, memory and disk move within a band instead of growing with time; the
JSON gives the second half's range and its least-squares slope per minute.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from agent.settings import load_settings
from agent.wiring import browser_config, start_demo_shop
from benchmarks.common import tree_rss_mib, write_results
from tools.capture.frames import FrameStore
from tools.capture.personas import PERSONAS
from tools.capture.session import capture_script


def _disk_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _rows(database: Path) -> tuple[int, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return (db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM frames").fetchone()[0])


def _chromium_processes() -> int:
    """Chromium processes under this one (it should never leave any behind between sessions)."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if "(chromium" in stat or "(chrome" in stat:
                ancestors, pid = set(), int(entry.name)
                while pid > 1 and pid not in ancestors:
                    ancestors.add(pid)
                    try:
                        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                    except (OSError, IndexError, ValueError):
                        break
                count += os.getpid() in ancestors
    return count


def _slope_per_minute(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return round(60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var, 2) if var else 0.0


class Sampler(threading.Thread):
    def __init__(self, root: Path, interval: float, started: float) -> None:
        super().__init__(daemon=True)
        self.root, self.interval, self.started = root, interval, started
        self.samples: list[dict] = []
        self.stop = threading.Event()

    def sample(self) -> dict:
        sessions, frames = _rows(self.root / "frames.sqlite")
        row = {"t_s": round(time.monotonic() - self.started, 1), "python_mib": round(tree_rss_mib(depth=0), 1),
               "tree_mib": round(tree_rss_mib(), 1), "chromium_processes": _chromium_processes(),
               "disk_mib": round(_disk_mib(self.root), 2), "sessions": sessions, "frame_rows": frames}
        self.samples.append(row)
        print(f"{row['t_s']:>7.0f} {row['python_mib']:>10.1f} {row['tree_mib']:>10.1f} "
              f"{row['chromium_processes']:>9} {row['disk_mib']:>9.2f} {row['sessions']:>9} {row['frame_rows']:>7}",
              flush=True)
        return row

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.sample()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--session-seconds", type=float, default=30.0, help="length of each capture session")
    parser.add_argument("--keep", type=int, default=5, help="sessions kept; older ones are deleted (retention)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = load_settings()
    config = browser_config(settings)
    personas = list(PERSONAS.values())
    sessions: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, start_demo_shop() as shop:
        root = Path(tmp) / "frames"
        frames = FrameStore(root)
        started = time.monotonic()
        print(f"{'t (s)':>7} {'python MiB':>10} {'all MiB':>10} {'chromium':>9} {'disk MiB':>9} {'sessions':>9} "
              f"{'frames':>7}")
        sampler = Sampler(root, args.interval, started)
        sampler.sample()
        sampler.start()
        deadline = started + args.minutes * 60
        while (left := deadline - time.monotonic()) > 5:
            persona = personas[len(sessions) % len(personas)]
            report = capture_script(config, frames, persona, shop.url, min(args.session_seconds, left),
                                    pace_s=settings.pace_s)
            sessions.append({"persona": persona.name, "status": report.status, "seconds": report.seconds,
                             "captured": report.frames_captured, "kept": report.frames_kept,
                             "failed_steps": len(report.failed_steps), "chromium_left": _chromium_processes()})
            for old in [s.session_id for s in frames.sessions()][: -args.keep]:
                frames.delete_session(old)
        sampler.stop.set()
        sampler.join()
        sampler.sample()
        frames.close()
    samples = sampler.samples
    running = samples[:-1]  # the last sample is taken after the shop and the store are closed
    half = [s for s in running if s["t_s"] >= running[-1]["t_s"] / 2]

    def band(key: str, browsing: bool = False) -> dict:
        """First, end and max of ``key``, and its second half's range and trend (with ``browsing``: over the
        samples taken while a Chromium ran, not in the moment between two sessions)."""
        late = [s for s in half if s["chromium_processes"] or not browsing] or half
        return {"first": samples[0][key], "end": samples[-1][key], "max": max(s[key] for s in running),
                "second_half_min_max": [min(s[key] for s in late), max(s[key] for s in late)],
                "second_half_slope_per_min": _slope_per_minute([(s["t_s"], s[key]) for s in late])}

    summary = {"python_mib": band("python_mib"), "tree_mib": band("tree_mib", browsing=True),
               "disk_mib": band("disk_mib"),
               "sessions_recorded": len(sessions),
               "sessions_complete": sum(s["status"] == "complete" for s in sessions),
               "screenshots": sum(s["captured"] for s in sessions),
               "chromium_processes_left_after_a_session_max": max((s["chromium_left"] for s in sessions), default=0)}
    print(f"{args.minutes:g} min: {summary['sessions_recorded']} sessions ({summary['sessions_complete']} complete), "
          f"{summary['screenshots']} screenshots; Python {summary['python_mib']['end']} MiB at the end "
          f"(max {summary['python_mib']['max']}), with Chromium {summary['tree_mib']['second_half_min_max']} MiB "
          f"over the second half, disk {summary['disk_mib']['end']} MiB (max {summary['disk_mib']['max']}) "
          f"keeping {args.keep} sessions")
    path = write_results("soak", {"settings": {**vars(args), "out": str(args.out) if args.out else None,
                                               "rate_hz": settings.capture_rate_hz, "pace_s": settings.pace_s},
                                  "summary": summary, "samples": samples, "sessions": sessions}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
