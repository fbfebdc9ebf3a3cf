"""browse-and-recommend's parts beside the command itself: the stage progress shown on stderr, following a
browser the user runs (over CDP), and the HTML report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from agent.pipeline import RunListener, RunState
from agent.wiring import Runtime
from catalog.files import DEMO_IMAGES
from tools.capture.browser import BrowserError
from tools.capture.session import CaptureReport
from tools.schemas import Frame


class StageProgress(RunListener):
    """The run's stages on stderr: on a terminal a live spinner, bar and screenshot count per stage; elsewhere
    (logs, CI, tests) one plain line per finished stage. Never stdout: that is for the table or the JSON."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/green]"), TextColumn("[bold]{task.fields[stage]:<9}"),
            BarColumn(bar_width=16), TextColumn("{task.description}"), TextColumn("[cyan]{task.fields[count]}"),
            TimeElapsedColumn(), console=console,
        ) if console.is_terminal else None
        self.stage: str | None = None
        self.task: TaskID | None = None
        self.frames = 0
        self.started = 0.0

    def __enter__(self) -> StageProgress:
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if self.stage is not None:  # the stage an error or Ctrl-C ended still gets its line
            self.stage_finished(self.stage, "stopped")
        if self.progress:
            self.progress.stop()

    def stage_started(self, stage: str, detail: str = "") -> None:
        self.stage, self.frames, self.started = stage, 0, time.perf_counter()
        if self.progress:
            self.task = self.progress.add_task(detail, stage=stage, count="", total=None)

    def frame_captured(self, frame: Frame) -> None:
        self.frames += 1  # may come from the CDP recorder's thread; Progress.update takes its own lock
        if self.progress and self.task is not None:
            self.progress.update(self.task, count=f"{self.frames} screenshots")

    def stage_finished(self, stage: str, detail: str = "") -> None:
        if self.progress and self.task is not None:
            self.progress.update(self.task, description=detail, count="", total=1, completed=1)
        elif not self.progress:
            self.console.print(f"{stage}: {detail} ({time.perf_counter() - self.started:.1f}s)", highlight=False)
        self.stage, self.task = None, None


class _CountingFrames:
    """The frame store, telling the listener of each screenshot stored: the CDP recorder has no callback."""

    def __init__(self, frames: Any, listener: RunListener) -> None:
        self._frames, self._listener = frames, listener

    def add(self, *args: Any, **kwargs: Any) -> Frame:
        frame = self._frames.add(*args, **kwargs)
        self._listener.frame_captured(frame)
        return frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self._frames, name)


def record_attached_browser(args: argparse.Namespace, runtime: Runtime, listener: RunListener) -> CaptureReport:
    """Follow the browser at ``args.cdp_url`` for ``args.seconds`` (Ctrl-C ends early) as `capture` does."""
    from agent.cli.capture import _capture_cdp  # the capture command's recorder, so both record alike

    listener.stage_started("capture", f"following {args.cdp_url}")
    result = _capture_cdp(args, runtime.settings, _CountingFrames(runtime.frames, listener))
    listener.stage_finished("capture", f"{result.frames_captured} screenshots, {result.frames_kept} kept")
    if result.frames_kept == 0:
        raise BrowserError(f"nothing was recorded from {args.cdp_url} in {result.seconds:g}s (session "
                           f"{result.session_id}); is a web page showing in that browser?")
    return result


def write_html_report(path: Path, runtime: Runtime, state: RunState) -> Path:
    """The timeline of screenshots, the summary with the screenshots it cites, and the products with photos."""
    from agent.report import write_report  # only --report needs it

    ids = [rec["product_id"] for rec in state["recommendations"]]
    products = {p.id: p for p in runtime.store.get(ids)}
    # Product photos exist on disk only for the shipped demo catalog the shop serves.
    image_dir = DEMO_IMAGES if runtime.shop_images == DEMO_IMAGES else None
    return write_report(path, dict(state), runtime.frames.frames(state["session_id"]), products, image_dir,
                        runtime.backends.as_dict())
