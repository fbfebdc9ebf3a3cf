"""A capture session from start to end: open the browser, play the script for at most N seconds while
capturing, keep capturing what is on screen until the time is up, and close the session in the database
as complete, or as interrupted when the browser dies (every frame already captured is kept)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from tools.capture.browser import BrowserConfig, BrowserGone, CaptureStats, ShopperBrowser
from tools.capture.frames import FrameStore
from tools.capture.personas import Persona
from tools.capture.shopper import ScriptRun, run_persona
from tools.schemas import Frame

log = logging.getLogger(__name__)


class CaptureReport(BaseModel):
    session_id: str
    source: str
    status: str = Field(description="complete or interrupted")
    note: str = ""
    seconds: float
    frames_captured: int = Field(description="screenshots taken")
    frames_kept: int = Field(description="stored as new pixels")
    duplicates: int = Field(description="stored as references to an earlier frame")
    blank: int = 0
    loading: int = 0
    masked_fields: int = 0
    text_layers: int = Field(default=0, description="screenshots whose text layer was read")
    text_layer_failed: int = Field(default=0, description="screenshots stored without one: the read failed")
    redacted_lines: int = Field(default=0, description="runs of personal details blurred and dropped")
    failed_steps: list[str] = Field(default_factory=list)
    database: str


def report(frames: FrameStore, session_id: str, source: str, stats: CaptureStats, started: float,
           status: str, note: str = "", failed_steps: list[str] | None = None) -> CaptureReport:
    return CaptureReport(
        session_id=session_id, source=source, status=status, note=note,
        seconds=round(time.monotonic() - started, 2), frames_captured=stats.captured, frames_kept=stats.kept,
        duplicates=stats.duplicates, blank=stats.blank, loading=stats.loading, masked_fields=stats.masked_fields,
        text_layers=stats.text_layers, text_layer_failed=stats.text_layer_failed, redacted_lines=stats.redacted_lines,
        failed_steps=failed_steps or [], database=str(frames.database_path),
    )


def capture_script(
    config: BrowserConfig,
    frames: FrameStore,
    persona: Persona,
    start_url: str,
    seconds: float,
    pace_s: float = 0.5,
    source: str | None = None,
) -> CaptureReport:
    """Browse ``persona``'s steps from ``start_url`` for ``seconds``, capturing at ``config.rate_hz``."""
    source = source or f"persona:{persona.name}"
    session_id = frames.new_session(source)
    started = time.monotonic()
    deadline = started + seconds
    browser = ShopperBrowser(config, frames, session_id)
    status, note, failed = "complete", "", []
    try:
        with browser:
            run = run_persona(browser, start_url, persona, pace_s=pace_s, deadline=deadline)
            failed = run.failed_steps
            browser.idle(max(0.0, deadline - time.monotonic()))  # the shopper keeps looking until the end
    except (BrowserGone, OSError) as exc:  # a dead browser or a full disk: keep what was captured, say why
        status, note = "interrupted", str(exc).splitlines()[0]
        log.warning("session %s interrupted: %s", session_id, note)
    except BaseException as exc:  # anything else (Ctrl-C, a bug) still leaves the session marked, then goes on up
        status, note = "interrupted", (str(exc).splitlines() or [type(exc).__name__])[0]
        raise
    finally:
        frames.end_session(session_id, status, note)
    return report(frames, session_id, source, browser.stats, started, status, note, failed)


def browse_session(config: BrowserConfig, frames: FrameStore, session_id: str, shop_url: str, persona: Persona,
                   pace_s: float = 0.5, on_frame: Callable[[Frame], None] | None = None) -> ScriptRun:
    """Play ``persona`` once into an open session and end it: complete, or interrupted (then re-raised) when
    anything stops it; every frame already captured is kept either way."""
    try:
        with ShopperBrowser(config, frames, session_id) as browser:
            run = run_persona(browser, shop_url, persona, on_frame=on_frame, pace_s=pace_s)
    except BaseException as exc:  # a dead browser, a full disk, Ctrl-C: the session is not left "running"
        frames.end_session(session_id, "interrupted", (str(exc).splitlines() or [type(exc).__name__])[0])
        raise
    frames.end_session(session_id, "complete")
    return run
