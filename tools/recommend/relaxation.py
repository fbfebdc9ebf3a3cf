"""The optimiser's hard constraints, checked per product, and the smallest relaxation that yields K products.

Rule (docs/recommending.md, "Utilities and the optimiser"): when fewer than K products satisfy every hard
constraint, or the must-include list cannot hold, each relaxable constraint gets a ladder of steps, least relaxed
first:

* ``max_price`` up / ``min_price`` down / ``min_rating`` down to exactly the value of the next product it
  would admit (dropped only when unpriced or unrated products are needed); ``max_per_brand`` up by one;
* ``include_brands`` / ``categories``: add the brands / leaf categories holding the most excluded products
  first, or drop the list; ``exclude_brands`` / ``exclude_colours`` / ``must_exclude`` / ``must_include``:
  remove the values that exclude (or block) the most products first.

A step's cost is its relative change: |new - old| / old; values removed / values listed; adding i values to a
list of n costs i / (n + i) (at most MAX_ADDED values are added, else the list is dropped); dropping a list
costs 1. The cheapest single-constraint step that yields K wins;
then the cheapest pair; then every constraint relaxed and tightened back one by one. If even that gives
N < K, ``k`` is lowered to N. Each check is exact: it counts the products a feasible list could hold.
List ladders are ordered greedily (most products first), so a list change is the smallest along that order.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass

from tools.schemas import Candidate, Constraints, Relaxation

# Per-product constraints, in the order Constraints declares them; then the ones on the whole list.
PRODUCT_CONSTRAINTS = ("categories", "min_price", "max_price", "include_brands", "exclude_brands", "min_rating",
                       "must_exclude", "exclude_colours")
ORDER = PRODUCT_CONSTRAINTS + ("max_per_brand", "must_include", "k")
MAX_ADDED = 3  # a suggestion names at most this many brands or categories to add
_LISTS = {"categories", "include_brands", "exclude_brands", "must_exclude", "exclude_colours", "must_include"}


def _fold(values) -> set[str]:
    return {v.casefold() for v in values or ()}


def brand_key(c: Candidate) -> str:
    """The per-brand cap's group: products without a brand are each their own group."""
    return (c.brand or f"(no brand) {c.product_id}").casefold()


class HardFilter:
    """The per-product hard constraints of one Constraints, case-insensitive where they name things."""

    def __init__(self, c: Constraints):
        self.c, self.categories, self.colours = c, _fold(c.categories), _fold(c.exclude_colours)
        self.include, self.exclude, self.excluded_ids = _fold(c.include_brands), _fold(c.exclude_brands), \
            set(c.must_exclude)

    def violations(self, x: Candidate) -> set[str]:
        c, out = self.c, set()
        if self.categories and not _fold(x.category_path) & self.categories:
            out.add("categories")
        if c.min_price is not None and (x.price is None or x.price < c.min_price):
            out.add("min_price")
        if c.max_price is not None and (x.price is None or x.price > c.max_price):
            out.add("max_price")
        if self.include and (x.brand or "").casefold() not in self.include:
            out.add("include_brands")
        if x.brand and x.brand.casefold() in self.exclude:
            out.add("exclude_brands")
        if c.min_rating is not None and (x.rating is None or x.rating < c.min_rating):
            out.add("min_rating")  # an unrated product cannot show it meets a minimum
        if x.product_id in self.excluded_ids:
            out.add("must_exclude")
        if x.colour and x.colour.casefold() in self.colours:  # unknown colour passes
            out.add("exclude_colours")
        return out

    def ok(self, x: Candidate) -> bool:
        return not self.violations(x)


def reachable(pool: list[Candidate], c: Constraints, all_ids: set[str] | None = None) -> int:
    """How many products a feasible list can hold from ``pool`` (which passes the filters); -1 when the
    must-include products (those among ``all_ids``) cannot all be shown with the brand cap and k."""
    ids = {x.product_id for x in pool}
    must = [i for i in c.must_include if all_ids is None or i in all_ids]
    if any(i not in ids for i in must) or len(set(must)) > c.k:
        return -1
    if not c.max_per_brand:
        return len(pool)
    by_id = {x.product_id: x for x in pool}
    if max(Counter(brand_key(by_id[i]) for i in set(must)).values(), default=0) > c.max_per_brand:
        return -1
    return sum(min(n, c.max_per_brand) for n in Counter(brand_key(x) for x in pool).values())


def relaxed(c: Constraints, changes: dict[str, object]) -> Constraints:
    """``c`` with a relaxation's changes applied (None drops a constraint)."""
    update = {name: ([] if value is None and name in _LISTS else value) for name, value in changes.items()}
    return c.model_copy(update=update)


@dataclass(frozen=True)
class _Step:
    value: object
    cost: float


class _Search:
    def __init__(self, candidates: list[Candidate], c: Constraints, keep: frozenset[str] = frozenset()):
        self.c, self.all_ids, self.keep = c, {x.product_id for x in candidates}, keep
        check = HardFilter(c)
        judged = [(x, check.violations(x)) for x in candidates]
        self.base = [x for x, v in judged if not v]  # pass every filter
        self.failing = [(x, v) for x, v in judged if v]  # with the names of the filters they fail
        self.currency = candidates[0].currency if candidates else "INR"

    def reach(self, changes: dict[str, object]) -> int:
        c = relaxed(self.c, changes)
        check, names = HardFilter(c), set(changes)
        pool = self.base + [x for x, v in self.failing if v <= names and check.ok(x)]
        return reachable(pool, c, self.all_ids)

    def active(self) -> list[str]:
        c = self.c
        names = [n for n in PRODUCT_CONSTRAINTS if getattr(c, n) not in (None, []) and n not in self.keep]
        return names + [n for n in ("max_per_brand", "must_include") if getattr(c, n) and n not in self.keep]

    def steps(self, name: str, among: frozenset[str]) -> list[_Step]:
        """Ladder for ``name``, from the products that fail only constraints in ``among``."""
        old = getattr(self.c, name)
        hit = [x for x, v in self.failing if name in v and v <= among]
        must = set(self.c.must_include)  # values that unblock a must-include product come first
        if name in ("max_price", "min_price", "min_rating"):
            attr = "rating" if name == "min_rating" else "price"
            known = {getattr(x, attr) for x in hit} - {None}
            values = sorted(known, reverse=name != "max_price")
            steps = [_Step(v, abs(v - old) / old if old else 1.0) for v in values]
            if any(getattr(x, attr) is None for x in hit):
                steps.append(_Step(None, max([1.0] + [s.cost for s in steps]) + 1e-9))
            return steps
        if name == "max_per_brand":
            everyone = self.base + [x for x, _ in self.failing]
            largest = max(Counter(brand_key(x) for x in everyone).values(), default=old)
            return [_Step(v, (v - old) / old) for v in range(old + 1, largest + 1)]
        if name in ("include_brands", "categories"):  # widen: add what holds the most excluded products
            keys, shown, needed = Counter(), {}, set()  # casefolded value -> products, first spelling seen
            for x in hit:
                value = x.brand if name == "include_brands" else x.category_path[-1]
                if value:
                    keys[value.casefold()] += 1
                    shown.setdefault(value.casefold(), value)
                    if x.product_id in must:
                        needed.add(value.casefold())
            added = [shown[k] for k in sorted(keys, key=lambda k: (k not in needed, -keys[k], k))]
            # adding i values to a list of n costs i / (n + i), below dropping the list (1); past MAX_ADDED values
            # "any brand" (or category) is the simpler suggestion
            return [_Step(old + added[:i], i / (len(old) + i)) for i in range(1, min(len(added), MAX_ADDED) + 1)] \
                + [_Step(None, 1.0)]
        if name == "must_include":
            return self._must_steps()
        field = {"exclude_brands": "brand", "exclude_colours": "colour", "must_exclude": "product_id"}[name]
        counts = Counter((getattr(x, field) or "").casefold() for x in hit)
        needed = {(getattr(x, field) or "").casefold() for x in hit if x.product_id in must}
        order = sorted(old, key=lambda v: (v.casefold() not in needed, -counts[v.casefold()], v.casefold()))
        order = [v for v in order if counts[v.casefold()]]
        return [_Step([v for v in old if v not in order[:i]] or None, i / len(old))
                for i in range(1, len(order) + 1)]

    def _must_steps(self) -> list[_Step]:
        """Drop the must-include products that break a filter, then the ones over the brand cap, then the rest
        (highest ids first)."""
        must = list(dict.fromkeys(self.c.must_include))
        failing = {x.product_id for x, _ in self.failing}
        by_id = {x.product_id: x for x in self.base}
        seen: defaultdict[str, int] = defaultdict(int)
        over = set()
        for i in sorted(i for i in must if i in by_id):
            seen[brand_key(by_id[i])] += 1
            if self.c.max_per_brand and seen[brand_key(by_id[i])] > self.c.max_per_brand:
                over.add(i)
        order = sorted(sorted(must, reverse=True), key=lambda i: (i not in failing, i not in over))
        return [_Step([i for i in must if i not in order[:n]] or None, n / len(must)) for n in range(1, len(must))] \
            + [_Step(None, 1.0)]

    def cheapest(self, target: int) -> dict[str, object] | None:
        """Smallest relaxation reaching ``target``: one constraint, else a pair, else all tightened greedily."""
        if self.reach({}) >= target:
            return {}
        names, best = self.active(), None
        for name in names:
            steps = self.steps(name, frozenset({name}))
            i = self.first(steps, name, {}, target)
            if i is not None and (best is None or steps[i].cost < best[0]):
                best = (steps[i].cost, {name: steps[i].value})
        if best:
            return best[1]
        for a, b in itertools.combinations(names, 2):
            among = frozenset({a, b})
            steps_a, steps_b = self.steps(a, among), self.steps(b, among)
            for step in steps_a:
                if best and step.cost >= best[0]:
                    break
                j = self.first(steps_b, b, {a: step.value}, target)
                if j is not None and (best is None or step.cost + steps_b[j].cost < best[0]):
                    best = (step.cost + steps_b[j].cost, {a: step.value, b: steps_b[j].value})
        if best:
            return best[1]
        everything = frozenset(names)
        ladders = {n: self.steps(n, everything) for n in names}
        changes = {n: s[-1].value for n, s in ladders.items() if s}
        if self.reach(changes) < target:
            return None
        for name, steps in ladders.items():  # tighten each back as far as the others allow
            rest = {n: v for n, v in changes.items() if n != name}
            if self.reach(rest) >= target:
                changes = rest
                continue
            i = self.first(steps, name, rest, target)
            changes = {**rest, name: steps[i].value}
        return changes

    def first(self, steps: list[_Step], name: str, fixed: dict[str, object], target: int) -> int | None:
        """Index of the first step of ``name`` that reaches ``target`` with ``fixed`` applied too. Steps only
        loosen, so reaching is monotone along the ladder: binary search."""
        def good(i: int) -> bool:
            return self.reach({**fixed, name: steps[i].value}) >= target

        if not steps or not good(len(steps) - 1):
            return None
        lo, hi = 0, len(steps) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if good(mid) else (mid + 1, hi)
        return lo

    def ceiling(self) -> int:
        """Products a list could hold with every relaxable constraint at its loosest."""
        everything = frozenset(self.active())
        return self.reach({n: s[-1].value for n in everything if (s := self.steps(n, everything))})


def must_include_conflict(candidates: list[Candidate], c: Constraints) -> list[str]:
    """Names of the constraints that stop the must-include products (those among the candidates) being shown."""
    by_id = {x.product_id: x for x in candidates}
    must = [by_id[i] for i in dict.fromkeys(c.must_include) if i in by_id]
    check = HardFilter(c)
    names = set().union(*(check.violations(x) for x in must)) if must else set()
    if c.max_per_brand and max(Counter(brand_key(x) for x in must).values(), default=0) > c.max_per_brand:
        names.add("max_per_brand")
    if len(must) > c.k:
        names.add("k")
    return [n for n in ORDER if n in names]


def relax(candidates: list[Candidate], c: Constraints, keep: frozenset[str] = frozenset()) -> Relaxation:
    """Why fewer than k products can be shown, and the smallest change to the constraints that shows k.
    The constraints named in ``keep`` (e.g. the one just asked for) are relaxed only when nothing else helps."""
    search = _Search(candidates, c, keep)
    if keep and search.ceiling() <= 0:
        search = _Search(candidates, c)
    now = search.reach({})
    blocked = must_include_conflict(candidates, c)
    target = min(c.k, search.ceiling())
    search.c = c.model_copy(update={"k": max(target, 1)})  # from here on, must-include products fit the target
    if target <= 0:
        return Relaxation(feasible=len(search.base), conflicts=blocked, changes={},
                          message="No candidates to choose from; widen the search query.")
    changes = search.cheapest(target) or {}
    if target < c.k:
        changes["k"] = target
    conflicts = set(changes) | set(blocked) | ({"must_include"} if blocked else set())
    if c.max_per_brand and search.reach({"max_per_brand": None}) > max(now, 0):
        conflicts.add("max_per_brand")
    after = search.reach({n: v for n, v in changes.items() if n != "k"})
    text = _join([_describe(n, v, c, search.currency) for n, v in changes.items()])
    if blocked:
        must = [i for i in c.must_include if i in search.all_ids]
        every = "all " if len(must) > 1 else ""
        lead = (f"{_count(len(must), 'must-include product')} ({', '.join(must)}) cannot {every}be shown with "
                + _join([_LABELS[n] for n in blocked]))
    elif target < c.k:
        lead = f"Even with every constraint relaxed only {target} of the candidates fit, fewer than k={c.k}"
    else:
        qualifier = _qualifier(changes, c, search.currency)
        lead = f"No product{qualifier} matches" if now <= 0 else \
            f"Only {_count(now, 'product')}{qualifier} " + ("matches" if now == 1 else "match")
    return Relaxation(feasible=len(search.base), conflicts=[n for n in ORDER if n in conflicts], changes=changes,
                      message=f"{lead}; {text} gives {after}.")


def _money(amount: float, currency: str) -> str:
    symbol = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}.get(currency, f"{currency} ")
    return f"{symbol}{amount:,.0f}"


_LABELS = {"categories": "the category", "min_price": "the minimum price", "max_price": "the budget",
           "include_brands": "the brand list", "exclude_brands": "the excluded brands",
           "min_rating": "the minimum rating", "must_exclude": "the excluded products",
           "exclude_colours": "the excluded colours", "max_per_brand": "the brand cap", "k": "k"}


def _join(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _qualifier(changes: dict[str, object], c: Constraints, currency: str) -> str:
    if len(changes) != 1:
        return " meeting all your constraints"
    name = next(iter(changes))
    return {"max_price": f" under {_money(c.max_price or 0, currency)}",
            "min_price": f" from {_money(c.min_price or 0, currency)} up",
            "min_rating": f" rated {c.min_rating or 0:g} or more", "max_per_brand": f" at {c.max_per_brand} per brand",
            "include_brands": f" from {', '.join(c.include_brands)}", "categories": f" in {', '.join(c.categories)}",
            }.get(name, " meeting all your constraints")


def _describe(name: str, value: object, c: Constraints, currency: str) -> str:
    old = getattr(c, name)
    if name in ("include_brands", "categories"):
        what = "brand" if name == "include_brands" else "category"
        return f"allowing any {what}" if value is None else f"adding {', '.join(value[len(old):])}"
    if name in ("exclude_brands", "exclude_colours", "must_exclude", "must_include"):
        gone = [v for v in old if v not in (value or [])]
        return ("not requiring " if name == "must_include" else "no longer excluding ") + ", ".join(gone)
    if value is None:
        return {"max_price": "dropping the budget", "min_price": "dropping the minimum price",
                "min_rating": "accepting unrated products", "max_per_brand": "dropping the brand cap"}[name]
    return {"max_price": f"raising the budget to {_money(value, currency)}",
            "min_price": f"lowering the minimum price to {_money(value, currency)}",
            "min_rating": f"lowering the minimum rating to {value:g}", "max_per_brand": f"allowing {value} per brand",
            "k": f"asking for {value} instead of {c.k}"}[name]
