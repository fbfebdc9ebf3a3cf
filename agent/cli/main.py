"""`interarec`: parse, build, call, render. Results go to stdout (table or --json), progress to stderr.

Each command group lives in its own module with a ``register(subparsers)`` function.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points

from agent.checkpointer import CheckpointError
from agent.cli import capture as cli_capture
from agent.cli import catalog as cli_catalog
from agent.cli import chat as cli_chat
from agent.cli import models as cli_models
from agent.cli import run as cli_run
from agent.cli import serve as cli_serve
from agent.cli import session_model as cli_session_model
from agent.cli import sessions as cli_sessions
from agent.cli import watch as cli_watch
from agent.cli import worker as cli_worker
from agent.cli.common import EXIT_ERROR, EXIT_USAGE, UsageError
from agent.settings import SettingsError
from catalog.ingest import IngestError
from catalog.store import CatalogError
from tools.capture.browse_script import ScriptError
from tools.capture.browser import BrowserError
from tools.capture.frames import FrameStoreError
from tools.perception.summariser import SummariserError
from tools.recommend.optimizer import OptimizerError

COMMAND_MODULES = [cli_run, cli_watch, cli_chat, cli_capture, cli_catalog, cli_sessions, cli_session_model,
                   cli_serve, cli_worker, cli_models]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interarec", description="Screenshot-based recommendations (InteraRec)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    # Commands of packages that build on agent/ (evals) are found by entry point, never imported from here.
    for entry in entry_points(group="interarec.commands"):
        entry.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except (UsageError, IngestError, SettingsError, FrameStoreError, ScriptError) as exc:
        print(f"interarec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (BrowserError, CatalogError, CheckpointError, OptimizerError, SummariserError) as exc:
        print(f"interarec: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interarec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
