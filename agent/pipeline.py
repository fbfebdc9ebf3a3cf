"""Browse-and-recommend as a LangGraph graph: browse -> summarise -> constrain -> recommend.

State is plain data (ids, dicts, numbers); screenshots stay on disk and travel as frame ids.
"""

from __future__ import annotations

import difflib
import time
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agent.wiring import Runtime
from tools.capture.personas import Persona
from tools.capture.session import browse_session
from tools.recommend.candidates import RETRIEVAL_POOL, retrieve, retrieve_seen
from tools.recommend.constraints import constraints_from_summary, inferred_types, seen_brands, seen_queries
from tools.recommend.explain import recommendations
from tools.recommend.optimizer import select
from tools.schemas import BehaviorSummary, Candidate, Constraints, Frame, SeenProduct

SEEN_TITLE_SIMILARITY = 0.9  # a catalog title this close to a title read off a screen is "already viewed"
# The type inferred from browsing is a score term unless it dominates the browsing (docs/real-shoppers.md)
CATEGORY_POLICY = "auto"


class RunState(TypedDict, total=False):
    session_id: str
    frame_ids: list[str]
    failed_steps: list[str]
    summary: dict[str, Any]
    constraints: dict[str, Any]
    viewed_product_ids: list[str]
    recommendations: list[dict[str, Any]]
    optimizer: dict[str, Any]
    unmet: list[str]
    timings: dict[str, float]


class RunListener:
    """Told how a run goes, for progress displays (the nodes call it); this base ignores everything."""

    def stage_started(self, stage: str, detail: str = "") -> None:
        pass

    def frame_captured(self, frame: Frame) -> None:
        pass

    def stage_finished(self, stage: str, detail: str = "") -> None:
        pass


def _timed(state: RunState, stage: str, started: float) -> dict[str, float]:
    return {**state.get("timings", {}), stage: round(time.perf_counter() - started, 3)}


def viewed_ids(runtime: Runtime, seen: list[SeenProduct], known: dict[str, str | None] | None = None) -> list[str]:
    """Catalog ids of products the shopper already opened, matched by the title read off the screen. ``known``
    (title -> id or None) remembers the titles looked up before, for callers that ask again and again."""
    known = {} if known is None else known
    for product in seen:
        if product.title in known:
            continue
        known[product.title] = None
        for hit in runtime.store.search(product.title, limit=3):
            ratio = difflib.SequenceMatcher(None, hit.product.title.casefold(), product.title.casefold()).ratio()
            if ratio >= SEEN_TITLE_SIMILARITY:
                known[product.title] = hit.product.id
                break
    ids = [known[p.title] for p in seen if known[p.title]]
    return sorted(set(ids))


def build_graph(runtime: Runtime, persona: Persona | None = None, shop_url: str | None = None, *,
                listener: RunListener | None = None):
    """The full pipeline, or (without a persona) from summarise on, for a session already captured."""
    settings = runtime.settings
    listener = listener or RunListener()

    def browse(state: RunState) -> RunState:
        started = time.perf_counter()
        listener.stage_started("browse", f"{persona.name} at {shop_url}")
        run = browse_session(runtime.browser_config, runtime.frames, state["session_id"], shop_url, persona,
                             pace_s=settings.pace_s, on_frame=listener.frame_captured)
        failed = f", {len(run.failed_steps)} step(s) failed" if run.failed_steps else ""
        listener.stage_finished("browse", f"{len(run.frames)} screenshots{failed}")
        return {"frame_ids": [f.frame_id for f in run.frames], "failed_steps": run.failed_steps,
                "timings": _timed(state, "browse", started)}

    def summarise(state: RunState) -> RunState:
        started = time.perf_counter()
        frames = runtime.frames.frames(state["session_id"])
        if "frame_ids" in state:
            wanted = set(state["frame_ids"])
            frames = [f for f in frames if f.frame_id in wanted]
        # Summarisers report no per-frame progress, so the display can only say how many they have to read.
        listener.stage_started("summarise", f"{sum(f.duplicate_of is None for f in frames)} distinct screenshots")
        summary = runtime.summariser.summarise(frames)
        listener.stage_finished("summarise", f"{summary.frames_read} screenshots read")
        return {"summary": summary.model_dump(), "frame_ids": [f.frame_id for f in frames],
                "timings": _timed(state, "summarise", started)}

    def constrain(state: RunState) -> RunState:
        started = time.perf_counter()
        listener.stage_started("constrain")
        summary = BehaviorSummary.model_validate(state["summary"])
        constraints = browsed_constraints(runtime, summary)
        listener.stage_finished("constrain", ", ".join(constraints.categories) or "no category")
        return {
            "constraints": constraints.model_dump(),
            "viewed_product_ids": viewed_ids(runtime, summary.products_seen),
            "timings": _timed(state, "constrain", started),
        }

    def recommend(state: RunState) -> RunState:
        started = time.perf_counter()
        listener.stage_started("recommend", f"top {settings.k}")
        constraints = Constraints.model_validate(state["constraints"])
        viewed = state.get("viewed_product_ids", [])
        candidates = browsed_candidates(runtime, constraints, BehaviorSummary.model_validate(state["summary"]), viewed)
        retrieved = time.perf_counter()
        selection = select(candidates, constraints, time_limit_s=settings.solver_time_limit_s)
        timings = _timed(state, "optimise", retrieved)
        timings["retrieve"] = round(retrieved - started, 3)
        recs = [r.model_dump() for r in recommendations(selection, constraints)]
        listener.stage_finished("recommend", f"{len(recs)} products, optimiser {selection.report.status}")
        return {
            "recommendations": recs,
            "optimizer": selection.report.model_dump(),
            "unmet": constraints.notes + selection.unmet,
            "timings": timings,
        }

    graph = StateGraph(RunState)
    for name, node in (("summarise", summarise), ("constrain", constrain), ("recommend", recommend)):
        graph.add_node(name, node)
    if persona is not None:
        graph.add_node("browse", browse)
        graph.add_edge(START, "browse")
        graph.add_edge("browse", "summarise")
    else:
        graph.add_edge(START, "summarise")
    graph.add_edge("summarise", "constrain")
    graph.add_edge("constrain", "recommend")
    graph.add_edge("recommend", END)
    return graph.compile()


def browsed_constraints(runtime: Runtime, summary: BehaviorSummary) -> Constraints:
    """The optimiser's constraints from a browsing summary (browse-and-recommend, a session, live mode)."""
    settings, categories = runtime.settings, runtime.catalog_categories
    return constraints_from_summary(summary, k=settings.k, price_tolerance=settings.price_tolerance,
                                    catalog_currency=runtime.catalog_currency, catalog_categories=categories,
                                    category_policy=CATEGORY_POLICY,
                                    nearest_categories=nearest_categories(runtime, summary, categories))


def browsed_candidates(runtime: Runtime, constraints: Constraints, summary: BehaviorSummary,
                       viewed: list[str]) -> list[Candidate]:
    """The candidates from what the shopper saw; when too few fit, the filtered and unfiltered pool together, so
    the optimiser can see what the filters exclude and relax (never an empty answer while the catalog has some)."""
    candidates = seen_candidates(runtime, constraints, summary, viewed)
    if len(candidates) < constraints.k:
        candidates = retrieve(runtime.store, constraints, exclude_ids=viewed, unfiltered_pool=RETRIEVAL_POOL)
    return candidates


def seen_candidates(runtime: Runtime, constraints: Constraints, summary: BehaviorSummary,
                    viewed: list[str]) -> list[Candidate]:
    """The catalog query from what the shopper saw: every title read (newest weighted most) by meaning and by
    words, brands seen and browsed types as score terms (tools/recommend/candidates.py ``retrieve_seen``)."""
    return retrieve_seen(runtime.store, constraints, seen_queries(summary), exclude_ids=viewed,
                         types=inferred_types(summary), lexical=runtime.lexical,
                         brands=seen_brands(summary))


def nearest_categories(runtime: Runtime, summary: BehaviorSummary, categories: set[str]) -> list[str]:
    """The catalog's categories nearest the summary's type when that type is none of them (lexicon, then meaning),
    so the answer can name them; empty when the type is a category or there is no type."""
    types = summary.product_characteristics.types
    if not types or types[0].value.casefold() in {c.casefold() for c in categories}:
        return []
    match = runtime.catalog_terms.resolve_type(types[0].value)
    return match.categories or match.nearest


def browse_and_recommend(runtime: Runtime, persona: Persona, shop_url: str, *, listener: RunListener | None = None,
                         source: str | None = None) -> RunState:
    """Browse ``shop_url`` as ``persona`` (a built-in shopper or a browsing script) into a new session, then
    summarise and recommend. ``source`` labels the session (default ``persona:NAME``)."""
    session_id = runtime.frames.new_session(source=source or f"persona:{persona.name}")
    graph = build_graph(runtime, persona, shop_url, listener=listener)
    return graph.invoke({"session_id": session_id, "timings": {}}, {"recursion_limit": 10})


def recommend_from_session(runtime: Runtime, session_id: str, *, listener: RunListener | None = None) -> RunState:
    """Summarise the frames of a session already in the database (captured, imported) and recommend."""
    runtime.frames.session(session_id)  # an unknown id fails here, with a message naming the command to list them
    graph = build_graph(runtime, listener=listener)
    return graph.invoke({"session_id": session_id, "timings": {}}, {"recursion_limit": 10})
