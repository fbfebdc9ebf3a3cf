"""`interarec demo`, `browse-and-recommend`, `recommend`, `summarize` and `personas`: from a persona, a browsing
script, a browser the user runs or a stored session to recommendations."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from agent.cli import render
from agent.cli.common import EXIT_OK, UsageError, browser_options, common_options, model_options, settings_from
from agent.wiring import build_runtime, open_frames, start_shop
from tools.capture.browse_script import load_script
from tools.capture.browser import origin_of, url_problem
from tools.capture.local_pages import LocalPages, local_file
from tools.capture.personas import DEMO_PERSONA, PERSONAS, Persona, pages_persona

SOURCES = (("persona", "--persona NAME"), ("script", "--script FILE"), ("cdp_url", "--cdp-url URL"),
           ("session", "--session ID"), ("url", "--url URL"))
DEFAULT_CDP_SECONDS = 60.0
# What `demo` and `recommend` lack of browse-and-recommend's flags, so all three share one path.
_NO_SOURCE = {"persona": None, "script": None, "url": None, "cdp_url": None, "seconds": None, "session": None,
              "report": None}


def _source(args: argparse.Namespace) -> Persona | None:
    """Check the one source and the flags that go with it before anything is built or started; the persona
    to browse as (a built-in one or a script), or None for --cdp-url and --session."""
    urls = args.url or []
    # --url with --persona or --script is the site they start at; alone, it is the pages to read.
    given = [flag for name, flag in SOURCES if getattr(args, name) is not None
             and not (name == "url" and (args.persona or args.script))]
    if len(given) != 1:
        raise UsageError(f"give exactly one source: {', '.join(flag for _, flag in SOURCES)}"
                         + (f" (got {' and '.join(flag.split()[0] for flag in given)})" if given else ""))
    if len(urls) > 1 and (args.persona or args.script):
        raise UsageError("with --persona or --script, give one --url: the site to start at")
    if args.persona or args.script:
        for url in urls:
            if (problem := url_problem(url)) is not None:
                raise UsageError(f"--url: {problem}")
    elif urls:
        args.url = urls = _openable_pages(urls)
    if args.seconds is not None and (args.cdp_url is None or args.seconds <= 0):
        raise UsageError("--seconds goes with --cdp-url and must be positive")
    if args.report is not None and not Path(args.report).parent.is_dir():
        raise UsageError(f"--report: the folder {Path(args.report).parent} does not exist")
    if args.cdp_url is not None and args.seconds is None:
        args.seconds = DEFAULT_CDP_SECONDS
    if args.persona is not None:
        if args.persona not in PERSONAS:
            raise UsageError(f"unknown persona {args.persona!r}; choose one of: {', '.join(PERSONAS)}")
        return PERSONAS[args.persona]
    if args.script is not None:
        return load_script(Path(args.script))  # a ScriptError names the file and line (exit 2)
    if urls:
        return pages_persona(urls)
    return None


def _openable_pages(urls: list[str]) -> list[str]:
    """The pages given by --url that can be opened: http(s) URLs, and files on disk (a path or a file: URL).
    Each other one is named on stderr and skipped, so the rest are still read; none left is a usage error."""
    kept = []
    for url in urls:
        file = local_file(url)
        if file is not None and file.is_file():
            kept.append(url)
        elif file is not None:
            render.stderr.print(f"--url {url}: no such file here (and not an http(s) or file: URL); skipped",
                                highlight=False, soft_wrap=True)
        elif (problem := url_problem(url)) is not None:
            render.stderr.print(f"--url: {problem}; skipped", highlight=False, soft_wrap=True)
        else:
            kept.append(url)
    if not kept:
        raise UsageError("--url: none of the pages can be opened (see above)")
    return kept


def _browse(args: argparse.Namespace, persona: Persona | None) -> int:
    from agent.cli.browse import StageProgress, record_attached_browser, write_html_report
    from agent.pipeline import browse_and_recommend, recommend_from_session

    started = time.perf_counter()
    settings = settings_from(args)
    if args.session is not None:
        _check_session(settings, args.session)
    runtime = build_runtime(settings)
    setup = time.perf_counter() - started
    extra: dict[str, Any] = {"persona": args.persona} if args.persona else {}
    label = persona.name if persona else f"session {args.session}" if args.session else args.cdp_url
    report = None
    try:
        with StageProgress(render.stderr) as progress:
            if persona is not None:
                source = f"script:{args.script}" if args.script else "pages" if persona.name == "pages" else None
                if args.url:  # a site of the user's own, or pages given by address (each origin allowed)
                    files = [file for url in args.url if (file := local_file(url)) is not None]
                    with LocalPages(files) as local:  # files on disk are served on 127.0.0.1 for the run
                        urls = [local.url_of(file) if (file := local_file(url)) else url for url in args.url]
                        if files:
                            persona = pages_persona(urls)
                        for url in urls:
                            if origin_of(url) not in runtime.browser_config.allowed_origins:
                                runtime.browser_config.allowed_origins.append(origin_of(url))
                        state = browse_and_recommend(runtime, persona, urls[0], listener=progress, source=source)
                else:
                    with start_shop(runtime) as shop:
                        state = browse_and_recommend(runtime, persona, shop.url, listener=progress, source=source)
            else:
                session_id, capture = args.session, None
                if args.cdp_url:
                    capture = record_attached_browser(args, runtime, progress)
                    session_id, extra["capture"] = capture.session_id, capture.model_dump()
                state = recommend_from_session(runtime, session_id, listener=progress)
                if capture:
                    state["timings"] = {"capture": capture.seconds, **state["timings"]}
        if args.report:
            report = write_html_report(Path(args.report), runtime, state)
    finally:
        runtime.close()
    if report is not None:
        extra["report"] = str(report)
    _emit(args, runtime, state, started, setup, label=label, **extra)
    if report is not None:
        render.stderr.print(f"report: {report}", highlight=False)
    return EXIT_OK


def _check_session(settings, session_id: str) -> None:  # noqa: ANN001
    frames = open_frames(settings)
    try:
        frames.session(session_id)  # unknown ids fail before the catalog and models are loaded
    finally:
        frames.close()


def _emit(args: argparse.Namespace, runtime, state: dict, started: float, setup: float, label: str,  # noqa: ANN001
          **extra: Any) -> None:
    timings = {"setup": round(setup, 3), **state["timings"]}
    timings["total"] = round(time.perf_counter() - started, 3)
    payload: dict[str, Any] = {
        "session_id": state["session_id"],
        **extra,
        "summary": state["summary"],
        "constraints": state["constraints"],
        "recommendations": state["recommendations"],
        "optimizer": state["optimizer"],
        "unmet": state["unmet"],
        "timings": timings,
        "backends": runtime.backends.as_dict(),
        "frames": len(state["frame_ids"]),
    }
    if "failed_steps" in state:
        payload["failed_steps"] = state["failed_steps"]
    if args.json:
        render.print_json(payload)
        return
    render.print_summary(state["summary"])
    render.print_recommendations(state["recommendations"], title=f"Top {len(state['recommendations'])} for "
                                 f"{label} (optimiser {state['optimizer']['status']})")
    for note in state["unmet"]:
        render.stdout.print(f"[yellow]note:[/yellow] {note}")
    for failure in state.get("failed_steps", []):
        render.stdout.print(f"[yellow]step failed:[/yellow] {failure}", highlight=False)
    render.print_timings(timings)
    render.stdout.print(f"session {state['session_id']}: {len(state['frame_ids'])} screenshots in "
                        f"{runtime.settings.frames_path}")


def cmd_recommend(args: argparse.Namespace) -> int:
    return _browse(args, None)


def cmd_summarize(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    frames = open_frames(settings)
    try:
        frames.session(args.session_id)  # unknown ids fail before any model is loaded
        runtime = build_runtime(settings)
        started = time.perf_counter()
        summary = runtime.summariser.summarise(runtime.frames.frames(args.session_id))
        seconds = round(time.perf_counter() - started, 3)
        runtime.close()
    finally:
        frames.close()
    if args.json:
        render.print_json({"session_id": args.session_id, "summary": summary.model_dump(), "seconds": seconds,
                           "backends": runtime.backends.as_dict()})
    else:
        render.print_summary(summary.model_dump())
        render.stdout.print(f"read in {seconds:.1f}s by {summary.summariser}", highlight=False)
    return EXIT_OK


def cmd_browse(args: argparse.Namespace) -> int:
    return _browse(args, _source(args))


def cmd_personas(args: argparse.Namespace) -> int:
    rows = [{"name": p.name, "description": p.description, "steps": len(p.steps), "categories": p.categories,
             "brands": p.brands, "budget": list(p.budget) if p.budget else None} for p in PERSONAS.values()]
    if args.json:
        render.print_json(rows)
    else:
        for row in rows:
            render.stdout.print(f"{row['name']:<16} {row['description']}", highlight=False)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    common, browser, model = common_options(), browser_options(), model_options()
    demo = sub.add_parser("demo", parents=[common, browser, model], help="browse the demo shop as a built-in persona")
    demo.set_defaults(func=cmd_browse, **{**_NO_SOURCE, "persona": DEMO_PERSONA})
    browse = sub.add_parser(
        "browse-and-recommend", parents=[common, browser, model],
        help="browse (or follow a browser, or take a session), summarise the screenshots, recommend",
        description="Give exactly one source: --persona, --script, --cdp-url, --session, or pages by --url.")
    options = [
        ("--persona", "NAME", f"one of: {', '.join(PERSONAS)} (built-in shoppers of the demo shop)"),
        ("--script", "FILE", "browse as a browsing script file says (see tools/capture/browse_script.py)"),
        ("--url", "URL", "alone: a page to read, http(s) or a saved file (repeat for more; each is opened, read top "
                         "to bottom, then the next); with --persona or --script: the site to start at (default: the "
                         "demo shop)"),
        ("--cdp-url", "URL", "follow a Chromium the user runs (http://127.0.0.1:9222) and record it"),
        ("--session", "ID", "a captured or imported session (`interarec sessions list`): no browsing"),
        ("--report", "FILE.html", "also write a page: screenshot timeline, summary with provenance, products"),
    ]
    for flag, metavar, text in options:
        browse.add_argument(flag, metavar=metavar, help=text, action="append" if flag == "--url" else "store")
    browse.add_argument("--seconds", metavar="N", type=float,
                        help=f"with --cdp-url: how long to follow it (default {DEFAULT_CDP_SECONDS:g})")
    browse.set_defaults(func=cmd_browse)
    recommend = sub.add_parser("recommend", parents=[common, model],
                               help="recommend from a session already captured or imported")
    recommend.add_argument("--session", required=True, help="a session id (`interarec sessions list`)")
    recommend.set_defaults(func=cmd_recommend, **{**_NO_SOURCE, "session": None})
    summarize = sub.add_parser("summarize", parents=[common, model],
                               help="summarise a session's screenshots along the preference keywords")
    summarize.add_argument("session_id")
    summarize.set_defaults(func=cmd_summarize)
    personas = sub.add_parser("personas", help="built-in scripted shoppers").add_subparsers(dest="action",
                                                                                          required=True)
    personas.add_parser("list", parents=[common]).set_defaults(func=cmd_personas)
