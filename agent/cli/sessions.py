"""`interarec sessions list|show|export|delete|import`: the screenshot sessions in the frame store."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.table import Table

from agent.cli import render
from agent.cli.common import EXIT_OK, common_options, settings_from
from agent.wiring import forget_readings, open_frames
from tools.capture.frame_io import export_session, import_folder
from tools.capture.frames import FrameStore


def _when(timestamp: float | None) -> str:
    return "-" if timestamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _open(args: argparse.Namespace) -> FrameStore:
    return open_frames(settings_from(args))


def cmd_list(args: argparse.Namespace) -> int:
    frames = _open(args)
    try:
        sessions = frames.sessions()
    finally:
        frames.close()
    if args.json:
        render.print_json([s.model_dump() for s in sessions])
        return EXIT_OK
    if not sessions:
        render.stdout.print("no sessions")
        return EXIT_OK
    table = Table(title=f"{len(sessions)} session(s)", title_justify="left")
    for column in ("id", "created", "source", "status", "frames", "kept", "duplicates"):
        table.add_column(column, overflow="fold", justify="right" if column in ("frames", "kept", "duplicates")
                         else "left")
    for s in sessions:
        table.add_row(s.session_id, _when(s.created_at), s.source, s.status, str(s.frames), str(s.kept),
                      str(s.duplicates))
    render.stdout.print(table)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    frames = _open(args)
    try:
        session = frames.session(args.session_id)
        rows = frames.frames(args.session_id)
    finally:
        frames.close()
    if args.json:
        render.print_json({"session": session.model_dump(), "frames": [f.model_dump() for f in rows]})
        return EXIT_OK
    render.stdout.print(
        f"session [bold]{session.session_id}[/bold] ({session.source}), {session.status}; created "
        f"{_when(session.created_at)}, ended {_when(session.ended_at)}; {session.frames} frames, "
        f"{session.kept} kept, {session.duplicates} duplicates" + (f"; {session.note}" if session.note else ""),
        highlight=False)
    table = Table(title_justify="left")
    for column in ("#", "time", "reason", "url", "title", "scroll", "duplicate of"):
        table.add_column(column, overflow="fold")
    for f in rows:
        table.add_row(str(f.sequence), _when(f.captured_at), f.reason or "-", f.url or "-", f.title or "-",
                      str(f.scroll_y), f.duplicate_of or "")
    render.stdout.print(table)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    frames = _open(args)
    try:
        report = export_session(frames, args.session_id, Path(args.dest))
    finally:
        frames.close()
    if args.json:
        render.print_json(report.as_dict())
    else:
        render.stdout.print(f"exported {len(report.files)} image(s) and the metadata of {report.frames} frame(s) "
                            f"of {report.session_id} to {report.dest}", highlight=False)
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    frames = _open(args)
    try:
        removed = frames.delete_session(args.session_id, forget=forget_readings(settings_from(args)))
    finally:
        frames.close()
    if args.json:
        render.print_json({"session_id": args.session_id, "deleted": True, "files_removed": removed})
    else:
        render.stdout.print(f"deleted session {args.session_id}; {removed} image file(s) removed "
                            "(files other sessions use are kept)", highlight=False)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    frames = _open(args)
    try:
        report = import_folder(frames, Path(args.folder))
    finally:
        frames.close()
    for name, reason in report.skipped:
        render.stderr.print(f"[yellow]skipped[/yellow] {name}: {reason}", highlight=False)
    if args.json:
        render.print_json(report.as_dict())
    else:
        render.stdout.print(report.session_id, highlight=False)
        render.stdout.print(f"{report.imported} imported ({report.kept} kept, {report.duplicates} duplicates), "
                            f"{len(report.skipped)} skipped", highlight=False)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    common = common_options()
    sessions = sub.add_parser("sessions", help="screenshot sessions: list, show, export, delete, import")
    actions = sessions.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common], help="every session with its frame counts").set_defaults(
        func=cmd_list)
    show = actions.add_parser("show", parents=[common], help="one session and its frames")
    show.add_argument("session_id", metavar="ID")
    show.set_defaults(func=cmd_show)
    export = actions.add_parser("export", parents=[common],
                                help="copy a session's kept frames and frames.jsonl into a new folder")
    export.add_argument("session_id", metavar="ID")
    export.add_argument("dest", metavar="DIR", help="a folder that does not exist yet or is empty")
    export.set_defaults(func=cmd_export)
    delete = actions.add_parser("delete", parents=[common],
                                help="remove a session's rows and the image files no other session uses")
    delete.add_argument("session_id", metavar="ID")
    delete.set_defaults(func=cmd_delete)
    imp = actions.add_parser("import", parents=[common], help="make a session from a folder of PNG/JPEG files")
    imp.add_argument("folder", metavar="DIR")
    imp.set_defaults(func=cmd_import)
