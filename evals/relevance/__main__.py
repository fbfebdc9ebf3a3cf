"""``python -m evals.relevance --split dev|test|all [--sample N] [--quick] --out DIR``: play the relevance
scenarios through the chat agent, print the figures per split and catalog, write ``relevance.json``.

``--quick`` plays a fixed sample (QUICK: 7 dev and 7 test scenarios of the demo catalog) and exits 1 when a
figure of the sample misses its target; so does ``--check`` for any split. Offline by default: the local chat
model, the embedded store under ``--cache`` (built on first use).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evals.relevance.catalogs import default_cache
from evals.relevance.runner import run
from evals.relevance.scenarios import load_scenarios, split, test_ids
from evals.relevance.scoring import THRESHOLDS, below, summarise

# The quick sample: 7 demo-catalog scenarios of each split, spread evenly over it in file order (``sample``), chosen
# at 1606805 and fixed here so that adding scenarios does not change it. Demo only: from a clean cache its store
# embeds in ~55 s on 2 cores, amazon-in's in ~100 s, and the quick run must stay under 2 minutes.
QUICK = ("fk-mug-mom", "fk-curtain-polyester", "fk-bedsheet-cotton", "fk-face-care", "my-tshirt-boyfriend",
         "my-perfume-gf", "my-dress-niece",  # dev
         "fk-cup-synonym", "fk-wristwatch-son", "fk-blanket-winter", "fk-showpieces-cheap", "my-sneakers-white",
         "my-purse-synonym", "my-nike-cap")  # test
# The quick sample's floors, from the full figures at c7e0936 (docs/chat-relevance.md, "The quick eval"): the
# issue's targets, except refinements: the sample has 6 refinement turns, and the full test split misses 1 in 13,
# so the sample may miss one (5/6 = 0.833) where the full split still meets 0.90.
QUICK_THRESHOLDS = {**THRESHOLDS, "refinements_honoured": 0.80}
FIGURES = ("category_precision@5", "attribute_satisfaction@5", "budget_violations", "brand_violations",
           "refinements_honoured", "latency_p50_s", "latency_p95_s")


def sample(scenarios: list, n: int) -> list:
    """``n`` scenarios spread evenly over the list, the same ones every run."""
    if n <= 0 or n >= len(scenarios):
        return scenarios
    step = len(scenarios) / n
    return [scenarios[int(i * step)] for i in range(n)]


def _cell(value) -> str:
    return "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def table(groups: dict[str, dict], thresholds: dict = THRESHOLDS) -> str:
    header = ["group", "scen.", "turns", *FIGURES]
    rows = [[name, str(s["scenarios"]), str(s["turns"]), *(_cell(s.get(f)) for f in FIGURES)]
            for name, s in groups.items()]
    rows.append(["target", "", "", *(_cell(thresholds.get(f)) for f in FIGURES)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [header, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.relevance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="dev")
    parser.add_argument("--sample", type=int, default=0, help="play N scenarios of the split, spread evenly")
    parser.add_argument("--quick", action="store_true",
                        help=f"a fixed sample of {len(QUICK)} dev and test scenarios; exit 1 below targets")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its target")
    parser.add_argument("--catalog", action="append", help="only scenarios of this catalog (repeatable)")
    parser.add_argument("--cache", type=Path, default=None, help="where the catalog stores live")
    parser.add_argument("--out", type=Path, default=None, help="folder for relevance.json")
    parser.add_argument("--verbose", action="store_true", help="print every failing turn")
    args = parser.parse_args(argv)
    from evals.run import git_revision

    started = time.perf_counter()
    name = "quick" if args.quick else args.split
    chosen = split(load_scenarios(), "all" if args.quick else args.split)
    if args.quick:
        chosen = [s for s in chosen if s.id in QUICK]
    if args.catalog:
        chosen = [s for s in chosen if s.catalog in args.catalog]
    chosen = sample(chosen, args.sample)
    cache = args.cache or default_cache()
    frozen = set(test_ids())

    def show(score) -> None:
        if args.verbose and score.failures:
            print(f"  {score.scenario} #{score.turn} {score.said!r}: {'; '.join(score.failures[:4])}", file=sys.stderr)

    scores, info = run(chosen, cache, on_turn=show)
    groups: dict[str, dict] = {"quick": summarise(scores)} if args.quick and scores else {}
    for split_name in ("dev", "test"):
        mine = [s for s in scores if (s.scenario in frozen) == (split_name == "test")]
        if mine:
            groups[split_name] = summarise(mine)
            for catalog in info.catalogs:
                ids = {c.id for c in chosen if c.catalog == catalog}
                part = [s for s in mine if s.scenario in ids]
                if part:
                    groups[f"{split_name}/{catalog}"] = summarise(part)
    thresholds = QUICK_THRESHOLDS if args.quick else THRESHOLDS
    print(table(groups, thresholds))
    judged = groups.get(name if name in ("quick", "dev") else "test", {})
    missed = below(judged, thresholds) if judged else ["no turns were played"]
    doc = {"suite": "relevance", "split": name, "quick": args.quick, "sample": len(chosen),
           "revision": git_revision(), "thresholds": thresholds, "settings": {"cache": str(cache),
           "catalog_filter": args.catalog, "scenarios": [s.id for s in chosen]},
           "models": info.models, "catalogs": info.catalogs, "skipped": info.skipped, "figures": groups,
           "missed": missed, "seconds": round(time.perf_counter() - started, 1),
           "turns": [s.as_dict() for s in scores]}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "relevance.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                                 encoding="utf-8")
    if missed:
        print("below target: " + "; ".join(missed))
    print(f"{len(chosen)} scenarios, {len(scores)} turns, {doc['seconds']:.0f} s; revision "
          f"{doc['revision']['commit'][:12]}{' (dirty)' if doc['revision']['dirty'] else ''}")
    return 1 if (args.quick or args.check) and missed else 0


if __name__ == "__main__":
    sys.exit(main())
