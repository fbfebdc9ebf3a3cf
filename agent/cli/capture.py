"""`interarec capture`: record a browsing session into the screenshot database, from a persona, a browsing
script, or a Chromium the user already runs (attached over CDP)."""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from agent.cli import render
from agent.cli.common import EXIT_ERROR, EXIT_OK, UsageError, browser_options, common_options, settings_from
from agent.wiring import browser_config, open_frames, start_demo_shop
from tools.capture.browse_script import ScriptError, load_script
from tools.capture.browser import url_problem
from tools.capture.personas import PERSONAS
from tools.capture.session import CaptureReport, capture_script


def _capture_cdp(args: argparse.Namespace, settings, frames) -> CaptureReport:  # noqa: ANN001
    from tools.capture.browser import CaptureStats
    from tools.capture.cdp_recorder import record_cdp
    from tools.capture.session import report

    source = f"cdp:{args.cdp_url}"
    session_id = frames.new_session(source)
    started = time.monotonic()
    render.stderr.print(f"recording the attached browser for {args.seconds:g}s (Ctrl-C stops) ...")
    stop = threading.Event()
    stats = CaptureStats()
    try:
        stats = record_cdp(args.cdp_url, frames, session_id, args.seconds, rate_hz=settings.capture_rate_hz,
                           allowed_origins=list(settings.allowed_origins) or None, stop=stop,
                           redact_personal=settings.redact_personal_details)
    except KeyboardInterrupt:
        stop.set()
    finally:
        frames.end_session(session_id, "complete")
    return report(frames, session_id, source, stats, started, "complete")


def cmd_capture(args: argparse.Namespace) -> int:
    if args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    chosen = [name for name in ("persona", "script", "cdp_url") if getattr(args, name)]
    if len(chosen) != 1:
        raise UsageError("give exactly one of --persona NAME, --script FILE or --cdp-url URL")
    if args.persona and args.persona not in PERSONAS:
        raise UsageError(f"unknown persona {args.persona!r}; choose one of: {', '.join(PERSONAS)}")
    if args.url is not None and (problem := url_problem(args.url)) is not None:
        raise UsageError(f"--url: {problem}")
    persona = None
    if args.script:
        try:
            persona = load_script(Path(args.script))
        except ScriptError as exc:
            raise UsageError(str(exc)) from exc
    settings = settings_from(args)
    frames = open_frames(settings)
    try:
        if args.cdp_url:
            result = _capture_cdp(args, settings, frames)
        else:
            persona = persona or PERSONAS[args.persona]
            config = browser_config(settings)
            if args.url:  # a script against a site of the user's own
                result = capture_script(config, frames, persona, args.url, args.seconds, settings.pace_s,
                                        source=f"script:{args.script}")
            else:
                with start_demo_shop() as shop:
                    render.stderr.print(f"demo shop at {shop.url}; capturing {persona.name} for {args.seconds:g}s")
                    result = capture_script(config, frames, persona, shop.url, args.seconds, settings.pace_s,
                                            source=f"script:{args.script}" if args.script else None)
    finally:
        frames.close()
    if args.json:
        render.print_json(result.model_dump())
    else:
        render.stdout.print(
            f"session {result.session_id} ({result.status}): {result.frames_captured} screenshots in "
            f"{result.seconds:.1f}s, {result.frames_kept} kept, {result.duplicates} duplicates, "
            f"{result.blank} blank, {result.loading} loading; database {result.database}", highlight=False)
        for failure in result.failed_steps:
            render.stdout.print(f"[yellow]step failed:[/yellow] {failure}", highlight=False)
    if result.status != "complete":
        render.stderr.print(f"[red]session interrupted[/red]: {result.note}; the frames captured so far are kept")
        return EXIT_ERROR
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    capture = sub.add_parser("capture", parents=[common_options(), browser_options()],
                             help="record a browsing session as screenshots")
    capture.add_argument("--persona", help=f"a built-in shopper: {', '.join(PERSONAS)}")
    capture.add_argument("--script", help="a browsing script file (see tools/capture/browse_script.py)")
    capture.add_argument("--url", help="with --script: the site to start at (default: the demo shop)")
    capture.add_argument("--cdp-url", help="attach to a running Chromium (http://127.0.0.1:9222) and record it")
    capture.add_argument("--seconds", type=float, default=60.0, help="how long to capture (default 60)")
    capture.set_defaults(func=cmd_capture)
