"""Select and order K products under a multinomial-logit (MNL) choice model, exactly, with OR-Tools.

The constrained MNL problem  max_S R(S) = sum_{i in S} r_i v_i / (v_0 + sum_{j in S} v_j)  is solved two ways
(docs/recommending.md, "Utilities and the optimiser"), after every per-product hard constraint has been applied
(tools/recommend/relaxation.py) and with K, the per-brand cap and the must-include list as constraints of the model:

* ``dinkelbach`` (default): the revenue level lambda is raised until no feasible set beats it. Each step solves
  the *linear* 0-1 program  F(lambda) = max_S sum_{i in S} (r_i - lambda) v_i - lambda v_0  with SCIP and sets
  lambda = R(S); it stops when F(lambda) <= 0 (S is then optimal). The model is built once; steps only change
  objective coefficients. A greedy pass gives a feasible starting set, hence a lower bound lo <= lambda*.
* ``milp``: the Charnes-Cooper linearisation: binary x_i (shown), w0 = 1 / (v_0 + sum v_j x_j) (the no-choice
  probability) and y_i = w0 x_i. Exact up to SCIP's tolerances, slow past a few dozen candidates; a check.

Ties: among the sets within a relative 1e-9 of the optimum, the one with the largest sum of (n - rank of its
product ids) is chosen: lower ids win. This is a second SCIP pass on the binary model with F(lambda*) >= -tol
as a constraint and that integer objective, so no tie bonus has to survive solver tolerances.

Dominance pruning (dinkelbach only, exact). With c_i(lambda) = (r_i - lambda) v_i, lambda* lies in [lo, hi],
hi = max r_i. Say j dominates i when c_j >= c_i at both lo and hi (so on all of [lo, hi], c being linear in
lambda) and either c_j(lo) > c_i(lo) or j's id is smaller. If i has at least m = min(K, cap) dominators of its
own brand (m = K over all products when there is no cap), i is dropped before the model is built: an optimal
set holding i leaves out one of those dominators (else it would hold m + 1 products of the brand, or K + 1),
and swapping it in keeps every constraint, does not lower F(lambda*), and strictly lowers the id ranks unless
it strictly raises F. So the chosen optimal set never holds i. Must-include products are never dropped.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from tools.recommend.relaxation import HardFilter, brand_key, must_include_conflict, reachable, relax, relaxed
from tools.schemas import Candidate, Constraints, OptimizerReport, Relaxation

log = logging.getLogger(__name__)

METHODS = ("dinkelbach", "milp")
_TIE_TOLERANCE = 1e-9  # sets this close to the optimum (relative) count as tied
_MAX_DINKELBACH_STEPS = 50


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


@dataclass(frozen=True)
class _Problem:
    pool: list[Candidate]  # pass every per-product constraint; sorted by product id
    k: int
    ranking: bool  # exactly k shown (else at most k)
    must: frozenset[str]
    cap: int | None
    v0: float

    def tie_weight(self) -> dict[str, int]:
        return {c.product_id: len(self.pool) - rank for rank, c in enumerate(self.pool)}


def _new_solver(deadline: float) -> pywraplp.Solver:
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:
        raise OptimizerError("OR-Tools was built without SCIP; reinstall ortools")
    solver.SetNumThreads(1)
    _set_time_limit(solver, deadline)
    return solver


def _set_time_limit(solver: pywraplp.Solver, deadline: float) -> None:
    solver.SetTimeLimit(max(1, int((deadline - time.perf_counter()) * 1000)))


def _add_set_constraints(solver: pywraplp.Solver, x: dict, pool: list[Candidate], problem: _Problem) -> None:
    """Cardinality, must-include and the per-brand cap: the constraints on which products are shown."""
    count = sum(x.values())
    solver.Add(count == problem.k if problem.ranking else count <= problem.k)
    for product_id in sorted(problem.must & set(x)):
        solver.Add(x[product_id] == 1)
    if problem.cap:
        by_brand: dict[str, list[str]] = defaultdict(list)
        for c in pool:
            by_brand[brand_key(c)].append(c.product_id)
        for ids in by_brand.values():
            if len(ids) > problem.cap:
                solver.Add(sum(x[i] for i in ids) <= problem.cap)


def _mnl_value(chosen: list[Candidate], v0: float) -> float:
    return sum(c.value * c.utility for c in chosen) / (v0 + sum(c.utility for c in chosen))


class _Binary:
    """The 0-1 model over x: built once, re-solved with new objective coefficients."""

    def __init__(self, pool: list[Candidate], problem: _Problem, deadline: float):
        self.pool, self.problem = pool, problem
        self.solver = _new_solver(deadline)
        self.x = {c.product_id: self.solver.BoolVar(f"x[{c.product_id}]") for c in pool}
        _add_set_constraints(self.solver, self.x, pool, problem)
        self.params = pywraplp.MPSolverParameters()
        self.params.SetDoubleParam(pywraplp.MPSolverParameters.PRIMAL_TOLERANCE, 1e-9)

    def solve(self, coefficients: list[float], deadline: float) -> tuple[int, list[Candidate]]:
        objective = self.solver.Objective()
        for c, coefficient in zip(self.pool, coefficients):
            objective.SetCoefficient(self.x[c.product_id], coefficient)
        objective.SetMaximization()
        _set_time_limit(self.solver, deadline)
        status = self.solver.Solve(self.params)
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            return status, []
        return status, [c for c in self.pool if self.x[c.product_id].solution_value() > 0.5]

    def tie_break(self, level: float, best: list[Candidate], deadline: float) -> list[Candidate]:
        """Among the sets worth at least ``level`` (less the tie tolerance), the one with the lowest id ranks."""
        v0 = self.problem.v0
        gain = [(c.value - level) * c.utility for c in self.pool]
        tolerance = _TIE_TOLERANCE * max(1.0, level * (v0 + sum(c.utility for c in best)))
        scale = max([abs(g) for g in gain] + [level * v0, 1e-12])  # keep the row's numbers near 1
        self.solver.Add(sum(g / scale * self.x[c.product_id] for c, g in zip(self.pool, gain))
                        >= (level * v0 - tolerance) / scale)
        weight = self.problem.tie_weight()
        status, chosen = self.solve([float(weight[c.product_id]) for c in self.pool], deadline)
        # The solver's feasibility tolerance could let a worse set through; keep the first answer then.
        if status != pywraplp.Solver.OPTIMAL or _mnl_value(chosen, v0) < level - 10 * _TIE_TOLERANCE * max(1, level):
            return best
        return chosen


def _greedy(problem: _Problem, level: float) -> list[Candidate]:
    """A feasible set, good for the linear objective sum (r_i - level) v_i: must-include products, then the
    best gains the brand cap allows. Only a starting point and a lower bound; SCIP decides."""
    def gain(c: Candidate) -> float:
        return (c.value - level) * c.utility

    chosen = [c for c in problem.pool if c.product_id in problem.must]
    per_brand = Counter(brand_key(c) for c in chosen)
    for c in sorted(problem.pool, key=lambda c: (-gain(c), c.product_id)):
        if len(chosen) >= problem.k or (not problem.ranking and gain(c) <= 0):
            break
        if c.product_id in problem.must or (problem.cap and per_brand[brand_key(c)] >= problem.cap):
            continue
        chosen.append(c)
        per_brand[brand_key(c)] += 1
    return chosen


def _start(problem: _Problem) -> tuple[list[Candidate], float]:
    best = _greedy(problem, 0.0)
    level = _mnl_value(best, problem.v0)
    for _ in range(8):
        trial = _greedy(problem, level)
        value = _mnl_value(trial, problem.v0)
        if value <= level:
            break
        best, level = trial, value
    return best, level


def _prune(problem: _Problem, lo: float) -> list[Candidate]:
    """Drop products with m dominators in their group (module docstring); exact."""
    hi = max(c.value for c in problem.pool)
    m = min(problem.k, problem.cap) if problem.cap else problem.k
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for c in problem.pool:
        groups[brand_key(c) if problem.cap else ""].append(c)
    keep = []
    for members in groups.values():
        tops: list[float] = []  # the m largest c(hi) among products before this one in (-c(lo), id) order
        for c in sorted(members, key=lambda c: (-(c.value - lo) * c.utility, c.product_id)):
            at_hi = (c.value - hi) * c.utility
            if len(tops) < m or tops[0] < at_hi or c.product_id in problem.must:
                keep.append(c)
            if len(tops) < m:
                heapq.heappush(tops, at_hi)
            elif at_hi > tops[0]:
                heapq.heapreplace(tops, at_hi)
    return sorted(keep, key=lambda c: c.product_id)


def _dinkelbach(problem: _Problem, deadline: float) -> tuple[str, list[Candidate], int]:
    best, level = _start(problem)
    pool = _prune(problem, level)
    model = _Binary(pool, problem, deadline)
    v0 = problem.v0
    for _ in range(_MAX_DINKELBACH_STEPS):
        status, chosen = model.solve([(c.value - level) * c.utility for c in pool], deadline)
        if status != pywraplp.Solver.OPTIMAL:
            return "FEASIBLE", best, len(pool)  # out of time: the best set so far, not proven optimal
        gain = sum((c.value - level) * c.utility for c in chosen) - level * v0
        if gain <= _TIE_TOLERANCE * max(1.0, level * (v0 + sum(c.utility for c in chosen))):
            return "OPTIMAL", model.tie_break(level, best, deadline), len(pool)
        best, level = chosen, _mnl_value(chosen, v0)
    return "FEASIBLE", best, len(pool)  # not converged within the step bound


def _milp(problem: _Problem, deadline: float) -> tuple[str, list[Candidate], int]:
    pool, v0 = problem.pool, problem.v0
    solver = _new_solver(deadline)
    x = {c.product_id: solver.BoolVar(f"x[{c.product_id}]") for c in pool}
    y = {c.product_id: solver.NumVar(0.0, 1.0 / v0, f"y[{c.product_id}]") for c in pool}
    w0 = solver.NumVar(0.0, 1.0 / v0, "w0")
    solver.Add(v0 * w0 + sum(c.utility * y[c.product_id] for c in pool) == 1.0)
    for c in pool:
        i = c.product_id
        solver.Add(y[i] <= w0)
        solver.Add(y[i] <= x[i] * (1.0 / v0))
        solver.Add(y[i] >= w0 - (1 - x[i]) * (1.0 / v0))
    _add_set_constraints(solver, x, pool, problem)
    solver.Maximize(sum(c.value * c.utility * y[c.product_id] for c in pool))
    status = solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        raise OptimizerError(f"solver stopped with status {_STATUS.get(status, status)}; "
                             "raise the time limit or use method='dinkelbach'")
    chosen = [c for c in pool if x[c.product_id].solution_value() > 0.5]
    if status == pywraplp.Solver.OPTIMAL:
        chosen = _Binary(pool, problem, deadline).tie_break(_mnl_value(chosen, v0), chosen, deadline)
    return _STATUS[status], chosen, len(pool)


def select(
    candidates: list[Candidate],
    constraints: Constraints,
    no_choice_utility: float = 1.0,
    time_limit_s: float = 5.0,
    method: str = "dinkelbach",
    keep: frozenset[str] = frozenset(),
) -> Selection:
    """Choose K candidates maximising the MNL objective under every hard constraint of ``constraints``.

    Candidates that break a per-product constraint are left out. When fewer than K can be shown, the list is
    shorter; when the must-include list cannot hold, it is empty with status INFEASIBLE. Either way
    ``report.relaxation`` names the conflicting constraints and the smallest change that yields K, and
    ``unmet`` says why in words; the relaxation leaves the constraints named in ``keep`` alone when it can."""
    if method not in METHODS:
        raise ValueError(f"unknown optimiser method {method!r}; use 'dinkelbach' or 'milp'")
    started = time.perf_counter()
    deadline = started + time_limit_s
    mode = f"{constraints.selection}/{constraints.objective}/{method}"
    unique: dict[str, Candidate] = {}
    for c in candidates:
        unique.setdefault(c.product_id, c)  # first copy wins when pools are merged
    check = HardFilter(constraints)
    pool = sorted((c for c in unique.values() if check.ok(c)), key=lambda c: c.product_id)
    unmet: list[str] = []
    absent = [i for i in dict.fromkeys(constraints.must_include) if i not in unique]
    if absent:
        unmet.append(f"must-include product(s) not among the candidates: {', '.join(absent)}")
    blocked = must_include_conflict(list(unique.values()), constraints)
    reach = max(0, reachable(pool, constraints.model_copy(update={"must_include": []})))
    ranking = constraints.selection == "ranking"
    if len(pool) < constraints.k:
        unmet.append(f"only {len(pool)} candidate(s) passed the filters, fewer than k={constraints.k}")
    elif reach < constraints.k and ranking:  # an assortment may be shorter than k by design
        brands = len({brand_key(c) for c in pool})
        unmet.append(f"at most {constraints.max_per_brand} per brand allows only {reach} of the {constraints.k} "
                     f"products ({brands} brand(s) among the candidates)")
    relaxation = None
    if blocked or len(pool) < constraints.k or (reach < constraints.k and ranking):
        relaxation = relax(list(unique.values()), constraints, keep)
        unmet.append(relaxation.message)
    if blocked:
        return _empty("INFEASIBLE", started, mode, len(pool), unmet, relaxation)
    if not pool:
        return _empty("NO_CANDIDATES", started, mode, 0, unmet, relaxation)
    problem = _Problem(pool=pool, k=min(constraints.k, reach) if ranking else constraints.k, ranking=ranking,
                       must=frozenset(constraints.must_include) & set(unique), cap=constraints.max_per_brand,
                       v0=no_choice_utility)
    solve = _dinkelbach if method == "dinkelbach" else _milp
    status, chosen, modelled = solve(problem, deadline)
    if not chosen:  # only an assortment can be empty: every product would lower the expected value
        unmet.append("no product raises the expected value above showing nothing")
    if status != "OPTIMAL":
        unmet.append(f"the solver stopped at its {time_limit_s:g} s time limit: the list is the best found, "
                     "not proven optimal")
    log.debug("optimiser: %s, %d of %d candidates passed, %d modelled", status, len(pool), len(unique), modelled)
    return _finish(chosen, status, no_choice_utility, started, mode, len(pool), unmet, relaxation)


def select_or_relax(candidates: list[Candidate], constraints: Constraints, **options) -> tuple[
        Selection, Constraints, str | None]:
    """``select``; when it can show nothing but the smallest relaxation would show products, the list under that
    relaxation instead: (selection, the constraints it honours, the relaxation's message, None when none was
    needed). An empty answer is left only when the candidates hold nothing of the kind at all."""
    selection = select(candidates, constraints, **options)
    relaxation = selection.report.relaxation
    if selection.chosen or relaxation is None or not relaxation.changes:
        return selection, constraints, None
    loosened = relaxed(constraints, relaxation.changes)
    again = select(candidates, loosened, **options)
    if not again.chosen:
        return selection, constraints, None
    return again, loosened, relaxation.message


def _empty(status: str, started: float, mode: str, n: int, unmet: list[str],
           relaxation: Relaxation | None) -> Selection:
    report = OptimizerReport(status=status, objective_value=0.0, solve_seconds=time.perf_counter() - started,
                             mode=mode, candidates=n, no_choice_weight=1.0, relaxation=relaxation)
    return Selection([], {}, report, unmet)


def _finish(chosen: list[Candidate], status: str, v0: float, started: float, mode: str, n: int,
            unmet: list[str], relaxation: Relaxation | None) -> Selection:
    """Order the chosen set and report; choice probabilities follow from the MNL model in closed form."""
    denominator = v0 + sum(c.utility for c in chosen)
    probability = {c.product_id: c.utility / denominator for c in chosen}
    # Order the shown products by their expected contribution r_i * P(i | S), ties by product id.
    chosen = sorted(chosen, key=lambda c: (-round(c.value * probability[c.product_id], 12), c.product_id))
    report = OptimizerReport(
        status=status, objective_value=_mnl_value(chosen, v0), solve_seconds=time.perf_counter() - started,
        mode=mode, candidates=n, no_choice_weight=v0 / denominator, relaxation=relaxation,
    )
    return Selection(chosen, probability, report, unmet)
