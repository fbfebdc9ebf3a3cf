"""`interarec demo`, `browse-and-recommend` and `personas`: browse as a persona and recommend."""

from __future__ import annotations

import argparse
import time
from typing import Any

from agent import render
from agent.cli_common import EXIT_OK, UsageError, browser_options, common_options, model_options, settings_from
from agent.wiring import build_runtime, open_frames, start_shop
from tools.personas import DEMO_PERSONA, PERSONAS


def _run_persona(args: argparse.Namespace, persona_name: str) -> int:
    from agent.pipeline import browse_and_recommend

    if persona_name not in PERSONAS:
        raise UsageError(f"unknown persona {persona_name!r}; choose one of: {', '.join(PERSONAS)}")
    persona = PERSONAS[persona_name]
    started = time.perf_counter()
    render.stderr.print(f"[bold]InteraRec[/bold]: persona [cyan]{persona.name}[/cyan] - {persona.description}")
    runtime = build_runtime(settings_from(args))
    setup = time.perf_counter() - started
    render.stderr.print(f"summariser: {runtime.backends.summariser}")
    try:
        with start_shop(runtime) as shop:
            render.stderr.print(f"demo shop at {shop.url}; browsing in headless Chromium ...")
            state = browse_and_recommend(runtime, persona, shop.url)
    finally:
        runtime.close()
    _emit(args, runtime, state, started, setup, label=persona.name, persona=persona.name)
    return EXIT_OK


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
    if args.json:
        render.print_json(payload)
        return
    render.print_summary(state["summary"])
    render.print_recommendations(state["recommendations"], title=f"Top {len(state['recommendations'])} for "
                                 f"{label} (optimiser {state['optimizer']['status']})")
    for note in state["unmet"]:
        render.stdout.print(f"[yellow]note:[/yellow] {note}")
    render.print_timings(timings)
    render.stdout.print(f"session {state['session_id']}: {len(state['frame_ids'])} screenshots in "
                        f"{runtime.settings.frames_path}")


def cmd_recommend(args: argparse.Namespace) -> int:
    from agent.pipeline import recommend_from_session

    started = time.perf_counter()
    settings = settings_from(args)
    frames = open_frames(settings)
    try:
        frames.session(args.session)  # unknown ids fail before the catalog and models are loaded
    finally:
        frames.close()
    runtime = build_runtime(settings)
    setup = time.perf_counter() - started
    render.stderr.print(f"summariser: {runtime.backends.summariser}")
    try:
        state = recommend_from_session(runtime, args.session)
    finally:
        runtime.close()
    _emit(args, runtime, state, started, setup, label=f"session {args.session}")
    return EXIT_OK


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


def cmd_demo(args: argparse.Namespace) -> int:
    return _run_persona(args, DEMO_PERSONA)


def cmd_browse(args: argparse.Namespace) -> int:
    return _run_persona(args, args.persona)


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
    demo.set_defaults(func=cmd_demo)
    browse = sub.add_parser("browse-and-recommend", parents=[common, browser, model],
                            help="browse as a persona, summarise the screenshots, recommend")
    browse.add_argument("--persona", required=True, help=f"one of: {', '.join(PERSONAS)}")
    browse.set_defaults(func=cmd_browse)
    recommend = sub.add_parser("recommend", parents=[common, model],
                               help="recommend from a session already captured or imported")
    recommend.add_argument("--session", required=True, help="a session id (`interarec sessions list`)")
    recommend.set_defaults(func=cmd_recommend)
    summarize = sub.add_parser("summarize", parents=[common, model],
                               help="summarise a session's screenshots along the preference keywords")
    summarize.add_argument("session_id")
    summarize.set_defaults(func=cmd_summarize)
    personas = sub.add_parser("personas", help="built-in scripted shoppers").add_subparsers(dest="action",
                                                                                          required=True)
    personas.add_parser("list", parents=[common]).set_defaults(func=cmd_personas)
