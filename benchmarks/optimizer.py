"""Optimiser solve time (tools.recommend.optimizer.select, Dinkelbach) for 100, 1,000 and 10,000 synthetic candidates at
K = 10 with every hard constraint active, for each objective mode.

    python -m benchmarks.optimizer [--repeats 20] [--out bench-results/optimizer.json]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from pathlib import Path

from benchmarks.common import percentile, write_results
from tools.recommend.optimizer import select
from tools.schemas import Candidate, Constraints

SIZES = (100, 1_000, 10_000)
MODES = ("relevance", "revenue", "mixed")
K = 10
BRANDS = [f"Brand{i:02d}" for i in range(40)]
CATEGORIES = ["Wrist Watches", "Smart Watches", "Clocks", "Straps"]
COLOURS = ["black", "silver", "gold", "blue", "red", "brown"]


def instance(n: int, mode: str, seed: int) -> tuple[list[Candidate], Constraints]:
    """Seeded candidates like a catalog's (lognormal prices, skewed ratings) and constraints using every kind."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        price = round(math.exp(rng.gauss(7.3, 0.7)), 0)  # median about ₹1,500
        rating = None if rng.random() < 0.1 else round(min(5.0, max(1.0, rng.gauss(4.0, 0.5))), 1)
        utility = math.exp(2.0 * rng.uniform(0.2, 0.9) + 0.3 * ((rating or 3.0) - 3.0) / 2.0)
        rows.append((f"p{i:05d}", rng.choice(BRANDS), price, rating, rng.choice(COLOURS),
                     rng.choice(CATEGORIES), utility))
    constraints = Constraints(
        k=K, categories=["Wrist Watches", "Smart Watches"], min_price=500, max_price=4000,
        include_brands=BRANDS[:30], exclude_brands=BRANDS[:3], min_rating=3.5, max_per_brand=2,
        exclude_colours=["red"], objective=mode, revenue_weight=0.5,
    )
    top = constraints.max_price
    candidates = [
        Candidate(product_id=pid, title=f"Watch {pid}", brand=brand, price=price, currency="INR",
                  category_path=["Watches", category], rating=rating, colour=colour, similarity=0.5,
                  utility=utility, value={"relevance": 1.0, "revenue": price,
                                          "mixed": 0.5 + 0.5 * price / top}[mode])
        for pid, brand, price, rating, colour, category, utility in rows
    ]
    allowed = [c for c in candidates if not _breaks(c, constraints)]
    picks = rng.sample(allowed, 2)  # must-include: two admissible products of different brands
    while picks[0].brand == picks[1].brand:
        picks = rng.sample(allowed, 2)
    excluded = rng.sample([c.product_id for c in candidates], max(1, n // 100))
    return candidates, constraints.model_copy(update={
        "must_include": [p.product_id for p in picks],
        "must_exclude": [i for i in excluded if i not in {p.product_id for p in picks}]})


def _breaks(c: Candidate, k: Constraints) -> bool:
    return (c.price < k.min_price or c.price > k.max_price or c.rating is None or c.rating < k.min_rating
            or c.category_path[-1] not in k.categories or c.brand not in k.include_brands
            or c.brand in k.exclude_brands or c.colour in k.exclude_colours)


def measure(repeats: int = 20, sizes: tuple[int, ...] = SIZES, echo: bool = False) -> dict:
    """Solve ``repeats`` seeded instances per size and objective mode; ``echo`` prints a line per mode."""
    select(*instance(100, "relevance", 0))  # warm-up: imports and SCIP's first load are not solve time
    results = {}
    if echo:
        print(f"{'candidates':>10}{'mode':>11}{'passed':>8}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}{'optimal':>9}")
    for n in sizes:
        everything = []
        per_mode = {}
        for mode in MODES:
            times, optimal, passed = [], 0, []
            for seed in range(repeats):
                candidates, constraints = instance(n, mode, seed)
                started = time.perf_counter()
                result = select(candidates, constraints)
                times.append((time.perf_counter() - started) * 1000)
                optimal += result.report.status == "OPTIMAL" and len(result.chosen) == K
                passed.append(result.report.candidates)  # meet every per-product constraint
            per_mode[mode] = {"median_ms": round(statistics.median(times), 1),
                              "p95_ms": round(percentile(times, 0.95), 1), "max_ms": round(max(times), 1),
                              "optimal": optimal, "runs": len(times), "passed_filters": statistics.median(passed)}
            everything += times
            row = per_mode[mode]
            if echo:
                print(f"{n:>10}{mode:>11}{row['passed_filters']:>8g}{row['median_ms']:>11}{row['p95_ms']:>9}"
                      f"{row['max_ms']:>9}{optimal:>6}/{len(times)}")
        results[str(n)] = {"median_ms": round(statistics.median(everything), 1),
                           "p95_ms": round(percentile(everything, 0.95), 1), "modes": per_mode}
        if echo:
            print(f"{n:>10}{'all':>11}{'':>8}{results[str(n)]['median_ms']:>11}{results[str(n)]['p95_ms']:>9}")
    rows = [{"stage": "optimiser (OR-Tools, K = 10)", "measure": f"solve, {int(n):,} candidates",
             "median": r["median_ms"], "p95": r["p95_ms"], "unit": "ms"} for n, r in results.items()]
    return {"k": K, "method": "dinkelbach", "repeats": repeats, "target": "p95 <= 200 ms at 1,000",
            "constraints": "price band, categories, include/exclude brands, min rating, 2 per brand, "
                           "exclude colours, 2 must-include, 1% must-exclude",
            "sizes": results, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="seeded instances per size and objective mode")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure(args.repeats, echo=True)
    print(f"wrote {write_results('optimizer', result, args.out)}")


if __name__ == "__main__":
    main()
