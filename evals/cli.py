"""`interarec eval --suite NAME --out DIR`: registered through the `interarec.commands` entry point, so the
agent's CLI finds it without importing evals."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from agent.cli import render
from agent.cli.common import EXIT_ERROR, EXIT_OK, UsageError, common_options, model_options, settings_from


def _finite(value: object) -> object:
    """NaN is not JSON; an undefined interval is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def cmd_eval(args: argparse.Namespace) -> int:
    from evals.report import main_table, write_reports
    from evals.run import SUITES, run_suite

    if args.suite not in SUITES:
        raise UsageError(f"unknown suite {args.suite!r}; choose one of: {', '.join(SUITES)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    settings = settings_from(args)
    doc = run_suite(SUITES[args.suite], settings, out, progress=lambda line: render.stderr.print(line, highlight=False),
                    only=args.only)
    (out / "metrics.json").write_text(json.dumps(_finite(doc), indent=1, default=str) + "\n", encoding="utf-8")
    paths = write_reports(doc, out)
    for line in main_table(doc):
        render.stdout.print(line, highlight=False, markup=False)
    failed = [t["key"] for t in doc["thresholds"] if not t["pass"]]
    render.stderr.print(f"wrote {out / 'metrics.json'}, {paths['markdown']} and {paths['html']}", highlight=False)
    if failed:
        render.stderr.print(f"[red]below threshold:[/red] {', '.join(failed)}", highlight=False)
        return EXIT_ERROR
    render.stderr.print(f"all {len(doc['thresholds'])} thresholds met", highlight=False)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    command = sub.add_parser("eval", parents=[common_options(), model_options()],
                             help="run an agent eval suite and write metrics.json and a report")
    command.add_argument("--suite", default="quick", help="quick (CI, a few minutes) or full")
    command.add_argument("--out", default="eval-results/latest", help="directory for metrics.json and the report")
    command.add_argument("--only", nargs="+", metavar="DATASET",
                         help="run only these datasets (synthetic, amazon-electronic, amazon-clothing, amazon-food)")
    command.set_defaults(func=cmd_eval)
