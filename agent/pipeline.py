"""Browse-and-recommend as a LangGraph graph: browse -> summarise -> constrain -> recommend.

State is plain data (ids, dicts, numbers); screenshots stay on disk and travel as frame ids.
"""

from __future__ import annotations

import difflib
import time
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agent.wiring import Runtime
from tools.browser import BrowserGone, ShopperBrowser
from tools.candidates import retrieve
from tools.constraints import constraints_from_summary
from tools.explain import recommendations
from tools.optimizer import select
from tools.personas import Persona
from tools.schemas import BehaviorSummary, Constraints, SeenProduct
from tools.shopper import run_persona

SEEN_TITLE_SIMILARITY = 0.9  # a catalog title this close to a title read off a screen is "already viewed"


class RunState(TypedDict, total=False):
    session_id: str
    frame_ids: list[str]
    summary: dict[str, Any]
    constraints: dict[str, Any]
    viewed_product_ids: list[str]
    recommendations: list[dict[str, Any]]
    optimizer: dict[str, Any]
    unmet: list[str]
    timings: dict[str, float]


def _timed(state: RunState, stage: str, started: float) -> dict[str, float]:
    return {**state.get("timings", {}), stage: round(time.perf_counter() - started, 3)}


def _viewed_ids(runtime: Runtime, seen: list[SeenProduct]) -> list[str]:
    """Catalog ids of products the shopper already opened, matched by the title read off the screen."""
    ids = []
    for product in seen:
        for hit in runtime.store.search(product.title, limit=3):
            ratio = difflib.SequenceMatcher(None, hit.product.title.casefold(), product.title.casefold()).ratio()
            if ratio >= SEEN_TITLE_SIMILARITY:
                ids.append(hit.product.id)
                break
    return sorted(set(ids))


def build_graph(runtime: Runtime, persona: Persona | None = None, shop_url: str | None = None):
    """The full pipeline, or (without a persona) from summarise on, for a session already captured."""
    settings = runtime.settings

    def browse(state: RunState) -> RunState:
        started = time.perf_counter()
        try:
            with ShopperBrowser(runtime.browser_config, runtime.frames, state["session_id"]) as browser:
                frames = run_persona(browser, shop_url, persona, pace_s=settings.pace_s).frames
        except BrowserGone as exc:
            runtime.frames.end_session(state["session_id"], "interrupted", str(exc).splitlines()[0])
            raise
        runtime.frames.end_session(state["session_id"], "complete")
        return {"frame_ids": [f.frame_id for f in frames], "timings": _timed(state, "browse", started)}

    def summarise(state: RunState) -> RunState:
        started = time.perf_counter()
        frames = runtime.frames.frames(state["session_id"])
        if "frame_ids" in state:
            wanted = set(state["frame_ids"])
            frames = [f for f in frames if f.frame_id in wanted]
        summary = runtime.summariser.summarise(frames)
        return {"summary": summary.model_dump(), "frame_ids": [f.frame_id for f in frames],
                "timings": _timed(state, "summarise", started)}

    def constrain(state: RunState) -> RunState:
        started = time.perf_counter()
        summary = BehaviorSummary.model_validate(state["summary"])
        constraints = constraints_from_summary(summary, k=settings.k, price_tolerance=settings.price_tolerance)
        return {
            "constraints": constraints.model_dump(),
            "viewed_product_ids": _viewed_ids(runtime, summary.products_seen),
            "timings": _timed(state, "constrain", started),
        }

    def recommend(state: RunState) -> RunState:
        started = time.perf_counter()
        constraints = Constraints.model_validate(state["constraints"])
        candidates = retrieve(runtime.store, constraints, exclude_ids=state.get("viewed_product_ids", []))
        retrieved = time.perf_counter()
        selection = select(candidates, constraints, time_limit_s=settings.solver_time_limit_s)
        timings = _timed(state, "optimise", retrieved)
        timings["retrieve"] = round(retrieved - started, 3)
        return {
            "recommendations": [r.model_dump() for r in recommendations(selection, constraints)],
            "optimizer": selection.report.model_dump(),
            "unmet": selection.unmet,
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


def browse_and_recommend(runtime: Runtime, persona: Persona, shop_url: str) -> RunState:
    session_id = runtime.frames.new_session(source=f"persona:{persona.name}")
    graph = build_graph(runtime, persona, shop_url)
    return graph.invoke({"session_id": session_id, "timings": {}}, {"recursion_limit": 10})


def recommend_from_session(runtime: Runtime, session_id: str) -> RunState:
    """Summarise the frames of a session already in the database (captured, imported) and recommend."""
    runtime.frames.session(session_id)  # an unknown id fails here, with a message naming the command to list them
    return build_graph(runtime).invoke({"session_id": session_id, "timings": {}}, {"recursion_limit": 10})
