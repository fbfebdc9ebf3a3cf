"""Select and order K products under a multinomial-logit (MNL) choice model, exactly, with OR-Tools.

The constrained MNL problem  max_S R(S) = sum_{i in S} r_i v_i / (v_0 + sum_{j in S} v_j)  is solved two ways
(README, "Optimiser"):

* ``dinkelbach`` (default): the revenue level lambda is raised until no feasible set beats it. Each step solves
  the *linear* 0-1 program  max_S sum_{i in S} (r_i - lambda) v_i  under the same constraints with SCIP, and
  sets lambda = R(S). It stops when the best value is <= lambda * v_0 (S is then optimal). This is the
  parametric view behind the authors' binary search; it takes a handful of milliseconds.
* ``milp``: the Charnes-Cooper linearisation: binary x_i (shown), w0 = 1 / (v_0 + sum v_j x_j) (the no-choice
  probability) and y_i = w0 x_i, so v_i y_i is product i's choice probability. Exact too, but the big-M rows
  make SCIP slow past a few dozen candidates; kept as an independent check.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from tools.schemas import Candidate, Constraints, OptimizerReport

log = logging.getLogger(__name__)

_TIE_BREAK = 1e-7  # objective bonus that decreases with product id order: a unique, deterministic optimum


class OptimizerError(RuntimeError):
    """The solver failed for a reason other than the constraints (missing backend, time out)."""


@dataclass(frozen=True)
class Selection:
    chosen: list[Candidate]  # best first
    choice_probability: dict[str, float]
    report: OptimizerReport
    unmet: list[str]  # human-readable reasons when fewer than K products could be chosen


_STATUS = {
    pywraplp.Solver.OPTIMAL: "OPTIMAL",
    pywraplp.Solver.FEASIBLE: "FEASIBLE",
    pywraplp.Solver.INFEASIBLE: "INFEASIBLE",
    pywraplp.Solver.UNBOUNDED: "UNBOUNDED",
    pywraplp.Solver.NOT_SOLVED: "NOT_SOLVED",
}
_MAX_DINKELBACH_STEPS = 50


def _new_solver(time_limit_s: float) -> pywraplp.Solver:
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:
        raise OptimizerError("OR-Tools was built without SCIP; reinstall ortools")
    solver.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    solver.SetNumThreads(1)
    return solver


def _add_set_constraints(solver: pywraplp.Solver, x: dict, pool: list[Candidate], k: int,
                         constraints: Constraints) -> None:
    """Cardinality, must-include and the per-brand cap: the constraints on which products are shown."""
    count = sum(x.values())
    solver.Add(count == k if constraints.selection == "ranking" else count <= k)
    for product_id in constraints.must_include:
        if product_id in x:
            solver.Add(x[product_id] == 1)
    if constraints.max_per_brand:
        by_brand: dict[str, list[str]] = defaultdict(list)
        for c in pool:
            by_brand[(c.brand or f"(no brand) {c.product_id}").casefold()].append(c.product_id)
        for ids in by_brand.values():
            if len(ids) > constraints.max_per_brand:
                solver.Add(sum(x[i] for i in ids) <= constraints.max_per_brand)


def _mnl_value(chosen: list[Candidate], v0: float) -> float:
    return sum(c.value * c.utility for c in chosen) / (v0 + sum(c.utility for c in chosen))


def _dinkelbach(pool: list[Candidate], k: int, constraints: Constraints, v0: float,
                deadline: float) -> tuple[str, list[Candidate]]:
    level, best = 0.0, None
    n = len(pool)
    for _ in range(_MAX_DINKELBACH_STEPS):
        solver = _new_solver(max(0.001, deadline - time.perf_counter()))
        x = {c.product_id: solver.BoolVar(f"x[{c.product_id}]") for c in pool}
        _add_set_constraints(solver, x, pool, k, constraints)
        solver.Maximize(sum(((c.value - level) * c.utility + _TIE_BREAK * (n - idx) / n) * x[c.product_id]
                            for idx, c in enumerate(pool)))
        status = solver.Solve()
        if status != pywraplp.Solver.OPTIMAL:
            return _STATUS.get(status, f"STATUS_{status}"), best or []
        chosen = [c for c in pool if x[c.product_id].solution_value() > 0.5]
        gain = sum((c.value - level) * c.utility for c in chosen) - level * v0
        if best is not None and gain <= 1e-9 * max(1.0, abs(level)):
            return "OPTIMAL", best
        best, level = chosen, _mnl_value(chosen, v0)
    return "FEASIBLE", best or []  # not converged within the step bound: the best set found so far


def select(
    candidates: list[Candidate],
    constraints: Constraints,
    no_choice_utility: float = 1.0,
    time_limit_s: float = 5.0,
    method: str = "dinkelbach",
) -> Selection:
    """Choose K candidates maximising the MNL objective under the constraints' K, brand cap and id lists."""
    started = time.perf_counter()
    mode = f"{constraints.selection}/{constraints.objective}"
    pool = sorted(
        (c for c in candidates if c.product_id not in set(constraints.must_exclude)), key=lambda c: c.product_id
    )
    unmet: list[str] = []
    missing = sorted(set(constraints.must_include) - {c.product_id for c in pool})
    if missing:
        unmet.append(f"must-include product(s) not among the candidates: {', '.join(missing)}")
    k = min(constraints.k, len(pool))
    if k < constraints.k:
        unmet.append(f"only {len(pool)} candidate(s) passed the filters, fewer than k={constraints.k}")
    if constraints.max_per_brand and constraints.selection == "ranking":
        # The brand cap bounds how many products can be shown at all; ask for no more than that.
        per_brand = defaultdict(int)
        for c in pool:
            per_brand[(c.brand or f"(no brand) {c.product_id}").casefold()] += 1
        reachable = sum(min(n, constraints.max_per_brand) for n in per_brand.values())
        if reachable < k:
            unmet.append(f"at most {constraints.max_per_brand} per brand allows only {reachable} of the "
                         f"{k} products ({len(per_brand)} brand(s) among the candidates)")
            k = reachable
    if not pool:
        report = OptimizerReport(
            status="NO_CANDIDATES", objective_value=0.0, solve_seconds=0.0, mode=mode, candidates=0,
            no_choice_weight=1.0,
        )
        return Selection([], {}, report, unmet)

    v0 = no_choice_utility
    n = len(pool)
    if method == "dinkelbach":
        status_name, chosen = _dinkelbach(pool, k, constraints, v0, started + time_limit_s)
        return _finish(chosen, status_name, v0, started, mode + "/dinkelbach", n, unmet)
    if method != "milp":
        raise ValueError(f"unknown optimiser method {method!r}; use 'dinkelbach' or 'milp'")
    solver = _new_solver(time_limit_s)
    x = {c.product_id: solver.BoolVar(f"x[{c.product_id}]") for c in pool}
    y = {c.product_id: solver.NumVar(0.0, 1.0 / v0, f"y[{c.product_id}]") for c in pool}
    w0 = solver.NumVar(0.0, 1.0 / v0, "w0")

    solver.Add(v0 * w0 + sum(c.utility * y[c.product_id] for c in pool) == 1.0)
    for c in pool:
        i = c.product_id
        solver.Add(y[i] <= w0)
        solver.Add(y[i] <= x[i] * (1.0 / v0))
        solver.Add(y[i] >= w0 - (1 - x[i]) * (1.0 / v0))
    _add_set_constraints(solver, x, pool, k, constraints)
    objective = sum(c.value * c.utility * y[c.product_id] for c in pool)
    objective += sum(_TIE_BREAK * (n - idx) / n * x[c.product_id] for idx, c in enumerate(pool))
    solver.Maximize(objective)
    status = solver.Solve()
    status_name = _STATUS.get(status, f"STATUS_{status}")
    if status == pywraplp.Solver.NOT_SOLVED:
        raise OptimizerError(f"solver stopped with status {status_name} after {time.perf_counter() - started:.2f}s")
    chosen = [c for c in pool if status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
              and x[c.product_id].solution_value() > 0.5]
    return _finish(chosen, status_name, v0, started, mode + "/milp", n, unmet)


def _finish(chosen: list[Candidate], status_name: str, v0: float, started: float, mode: str, n: int,
            unmet: list[str]) -> Selection:
    """Order the chosen set and report; choice probabilities follow from the MNL model in closed form."""
    elapsed = time.perf_counter() - started
    if status_name == "INFEASIBLE" or not chosen:
        if status_name == "INFEASIBLE":
            unmet.append("the brand cap and must-include list cannot all hold with k products")
        report = OptimizerReport(status=status_name, objective_value=0.0, solve_seconds=elapsed, mode=mode,
                                 candidates=n, no_choice_weight=1.0)
        return Selection([], {}, report, unmet)
    denominator = v0 + sum(c.utility for c in chosen)
    probability = {c.product_id: c.utility / denominator for c in chosen}
    # Order the shown products by their expected contribution r_i * P(i | S), ties by product id.
    chosen = sorted(chosen, key=lambda c: (-round(c.value * probability[c.product_id], 12), c.product_id))
    report = OptimizerReport(
        status=status_name, objective_value=_mnl_value(chosen, v0), solve_seconds=elapsed, mode=mode,
        candidates=n, no_choice_weight=v0 / denominator,
    )
    log.debug("optimiser: %s, %d of %d chosen in %.3fs", status_name, len(chosen), n, elapsed)
    return Selection(chosen, probability, report, unmet)
