"""`interarec eval --suite NAME --out DIR`: registered through the `interarec.commands` entry point, so the
agent's CLI finds it without importing evals."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agent.cli import render
from agent.cli.common import EXIT_ERROR, EXIT_OK, UsageError, common_options, model_options, settings_from
from evals.stats import json_finite as _finite


def cmd_lcrec(args: argparse.Namespace) -> int:
    """`--dataset lcrec:PATH`: the real-shopper experiment on an LC-Rec folder (docs/real-shoppers.md)."""
    from evals.datasets import lcrec
    from evals.lcrec_run import LCREC_SUITES, run_lcrec
    from evals.report import lcrec_markdown, lcrec_table

    kind, _, path = args.dataset.partition(":")
    if kind != "lcrec" or not path:
        raise UsageError(f"unknown --dataset {args.dataset!r}; use lcrec:PATH (a folder with one *.item.json and "
                         "one *.inter.json)")
    if args.suite not in LCREC_SUITES:
        raise UsageError(f"unknown suite {args.suite!r} for an LC-Rec dataset; "
                         f"choose one of: {', '.join(LCREC_SUITES)}")
    if args.users is not None and args.users < 1:
        raise UsageError(f"--users must be at least 1, got {args.users}")
    if args.pages is not None and args.pages < 1:
        raise UsageError(f"--pages must be at least 1, got {args.pages}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    if not Path(path).is_absolute() and not Path(path).exists():
        from catalog.shared_data import shared_data_root

        # a folder name of the shared data (``$INTERAREC_SHARED_DATA`` or shared/data beside the checkout)
        root = shared_data_root()
        if root is not None and (root / path).is_dir():
            path = str(root / path)
    try:
        data = lcrec.load(path)
    except lcrec.LcrecError as exc:
        raise UsageError(str(exc)) from None
    settings = settings_from(args)
    doc = run_lcrec(LCREC_SUITES[args.suite], data, settings, split=args.split, users=args.users, seed=args.seed,
                    pages=args.pages, progress=lambda line: render.stderr.print(line, highlight=False, markup=False),
                    frames_per_page=args.frames_per_page, modalities=args.modalities)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(_finite(doc), indent=1, default=str) + "\n", encoding="utf-8")
    (out / "report.md").write_text(lcrec_markdown(doc) + "\n", encoding="utf-8")
    for line in lcrec_table(doc):
        render.stdout.print(line, highlight=False, markup=False)
    render.stderr.print(f"wrote {out / 'metrics.json'} and {out / 'report.md'}", highlight=False)
    if doc.get("thresholds_note"):
        render.stderr.print(doc["thresholds_note"], highlight=False, markup=False)
        return EXIT_OK
    failed = [t["key"] for t in doc["thresholds"] if not t["pass"]]
    if failed:
        render.stderr.print(f"[red]below threshold:[/red] {', '.join(failed)}", highlight=False)
        return EXIT_ERROR
    render.stderr.print(f"all {len(doc['thresholds'])} thresholds met", highlight=False)
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from evals.report import main_table, write_reports
    from evals.run import SUITES, run_suite

    if args.dataset:
        return cmd_lcrec(args)
    if args.split != "test" or args.users is not None or args.pages is not None or args.frames_per_page \
            or args.modalities:
        raise UsageError("--split, --users, --pages, --frames-per-page and --modalities apply to --dataset "
                         "lcrec:PATH only")
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
    command.add_argument("--dataset", metavar="lcrec:PATH",
                         help="run the real-shopper experiment on an LC-Rec folder instead of the built-in datasets "
                              "(suites: quick, full, baselines; docs/real-shoppers.md)")
    command.add_argument("--split", choices=("valid", "test"), default="test",
                         help="with --dataset: score the last item (test) or the one before it (valid, for tuning)")
    command.add_argument("--users", type=int, help="with --dataset: users to sample (default: the suite's)")
    command.add_argument("--seed", type=int, default=0, help="with --dataset: the user sample's seed")
    command.add_argument("--pages", type=int, help="with --dataset: history pages InteraRec browses (default 5)")
    command.add_argument("--frames-per-page", choices=("top", "scroll", "all"),
                         help="with --dataset, the frames ablation: each page also scrolled twice by a viewport, "
                              "InteraRec reading its top frame, top + one scroll, or all (default: one frame)")
    command.add_argument("--modalities", action="store_true",
                         help="with --dataset, the modality ablation: also InteraRec on OCR of the screenshots "
                              "(text layer ignored) and on the weblog titles only (interarec-ocr, interarec-metadata)")
    command.set_defaults(func=cmd_eval)
