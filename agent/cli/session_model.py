"""`interarec session-model train|evaluate`: next-item session models (SKNN, V-SKNN, STAN, popularity) on the
Diginetica sample or another item-views file in its format, saved under DATA_DIR/session-models/."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from agent.cli import render
from agent.cli.common import EXIT_OK, UsageError, common_options, settings_from
from tools.sessions.data import SessionDataError, SessionDataset, diginetica_split
from tools.sessions.models import MODELS, SessionModelError, evaluate, load_model, make_model


def _dataset(data: str) -> SessionDataset:
    try:
        if data == "diginetica":
            return diginetica_split()
        return diginetica_split(Path(data), name=Path(data).stem)
    except SessionDataError as exc:
        raise UsageError(str(exc)) from None


def _data_name(data: str) -> str:
    return data if data == "diginetica" else Path(data).stem


def _default_file(args: argparse.Namespace, model: str) -> Path:
    return settings_from(args).data_dir / "session-models" / f"{model}-{_data_name(args.data)}.json"


def cmd_train(args: argparse.Namespace) -> int:
    dataset = _dataset(args.data)
    path = Path(args.out) if args.out else _default_file(args, args.model)
    model = make_model(args.model)
    started = time.perf_counter()
    model.fit(dataset.train)
    seconds = time.perf_counter() - started
    try:
        model.save(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    result = {"model": model.name, "params": model.params(), "data": dataset.name, "file": str(path),
              "train_sessions": len(model.sessions or ()), "items": len(model.items),
              "test_cases": len(dataset.test_cases), "train_seconds": seconds, "stats": dataset.stats}
    if args.json:
        render.print_json(result)
    else:
        render.stdout.print(f"trained {model.name} on {dataset.name}: {result['train_sessions']} sessions, "
                            f"{result['items']} items in {seconds:.3f}s; saved to {path}", highlight=False)
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise UsageError(f"--k must be at least 1, got {args.k}")
    path = Path(args.file) if args.file else _default_file(args, args.model or "vsknn")
    if not path.exists():
        hint = "" if args.file else (f"; run `interarec session-model train --model {args.model or 'vsknn'} "
                                     f"--data {args.data}` first")
        raise UsageError(f"no session model at {path}{hint}")
    started = time.perf_counter()
    try:
        model = load_model(path)
    except SessionModelError as exc:
        raise UsageError(str(exc)) from None
    load_seconds = time.perf_counter() - started
    dataset = _dataset(args.data)
    metrics = evaluate(model, dataset.test_cases, k=args.k)
    result: dict[str, Any] = {"model": model.name, "params": model.params(), "file": str(path),
                              "data": dataset.name, **metrics, "load_seconds": load_seconds}
    if args.json:
        render.print_json(result)
    else:
        k = args.k
        render.stdout.print(f"{model.name} on {dataset.name} ({metrics['n']} test cases): HR@{k} "
                            f"{metrics[f'hr@{k}']:.4f}, MRR@{k} {metrics[f'mrr@{k}']:.4f}; "
                            f"evaluated in {metrics['seconds']:.3f}s (loaded in {load_seconds:.3f}s)",
                            highlight=False)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    common = common_options()
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", default="diginetica", metavar="diginetica|PATH",
                      help="the shared Diginetica sample (default) or an item-views CSV in its format")
    group = sub.add_parser("session-model", help="next-item session models: train, evaluate (HR@20, MRR@20)")
    actions = group.add_subparsers(dest="action", required=True)
    train = actions.add_parser("train", parents=[common, data], help="train a model and save it")
    train.add_argument("--model", choices=sorted(MODELS), default="vsknn", help="default vsknn")
    train.add_argument("--out", metavar="FILE",
                       help="where to save it (default DATA_DIR/session-models/<model>-<data>.json)")
    train.set_defaults(func=cmd_train)
    ev = actions.add_parser("evaluate", parents=[common, data], help="load a saved model and score the test cases")
    source = ev.add_mutually_exclusive_group()
    source.add_argument("--model", choices=sorted(MODELS),
                        help="the model saved by train at its default place (default vsknn)")
    source.add_argument("--file", metavar="FILE", help="a model file written by train")
    ev.add_argument("--k", type=int, default=20, help="the cut-off of HR@K and MRR@K (default 20)")
    ev.set_defaults(func=cmd_evaluate)
