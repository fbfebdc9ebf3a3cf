"""Playing the scenarios through the chat agent (the same graph, tools and optimiser as ``interarec chat``) and
scoring each turn's shown list.

One runtime per catalog, with its own embedded Chroma store under the cache folder; one chat thread per
scenario. Before timing, each catalog is warmed up once (the embedding model, the BM25 index, the catalog's
terms) so the latency is a turn's, not the process start's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from agent.chat.graph import build_chat_graph
from agent.chat.session import ChatError, ChatSession
from agent.chat.tools import ChatContext
from agent.settings import Settings, load_settings
from agent.wiring import build_chat_model, build_runtime, chat_backend_name
from catalog.models import Product
from catalog.store import SearchFilters
from evals.relevance import catalogs
from evals.relevance.scenarios import Scenario
from evals.relevance.scoring import TurnScore, score_turn

log = logging.getLogger(__name__)
MAX_STEPS = 12


@dataclass
class RunInfo:
    models: dict[str, str] = field(default_factory=dict)
    catalogs: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def settings_for(cache: Path, catalog: str, **flags: Any) -> Settings:
    folder = cache / catalog
    return load_settings(data_dir=folder, catalog_dir=folder / "catalog", **flags)


def _warm_up(ctx: ChatContext) -> float:
    started = time.perf_counter()
    ctx.terms.by_meaning("warm up")
    ctx.lexical.search("warm up")
    ctx.runtime.store.search("warm up", SearchFilters(), limit=5)
    ctx.brands  # noqa: B018 - the store's brand list is read once per chat, at its first request
    return time.perf_counter() - started


def run(scenarios: list[Scenario], cache: Path, flags: dict[str, Any] | None = None,
        on_turn: Callable[[TurnScore], None] = lambda _: None) -> tuple[list[TurnScore], RunInfo]:
    """Every turn of every scenario, scored; ``flags`` are settings (e.g. an OpenAI-compatible endpoint)."""
    scores: list[TurnScore] = []
    info = RunInfo()
    for name in dict.fromkeys(s.catalog for s in scenarios):
        mine = [s for s in scenarios if s.catalog == name]
        try:
            products = catalogs.products(name)
        except catalogs.CatalogMissing as exc:
            info.skipped[name] = str(exc)
            continue
        settings = settings_for(cache, name, **(flags or {}))
        started = time.perf_counter()
        runtime = build_runtime(settings, products)
        ctx = ChatContext(runtime)
        try:
            info.catalogs[name] = {"products": len(products), "data": catalogs.DATA[name],
                                   "store": str(settings.catalog_path),
                                   "build_s": round(time.perf_counter() - started, 1),
                                   "warm_up_s": round(_warm_up(ctx), 1)}
            info.models = {**runtime.backends.as_dict(), "chat_model": chat_backend_name(settings)}
            info.models.pop("summariser", None), info.models.pop("browser", None)
            graph = build_chat_graph(ctx, build_chat_model(settings), InMemorySaver())
            by_id = {p.id: p for p in products}
            for scenario in mine:
                scores += _play(scenario, graph, by_id, on_turn)
        finally:
            ctx.close()
            runtime.close()
    return scores, info


def _play(scenario: Scenario, graph: Any, products: dict[str, Product],
          on_turn: Callable[[TurnScore], None]) -> list[TurnScore]:
    chat = ChatSession(graph, f"relevance-{scenario.id}", MAX_STEPS)
    previous: list[Product] | None = None
    out = []
    for number, (turn, expect) in enumerate(zip(scenario.turns, scenario.expectations()), start=1):
        started = time.perf_counter()
        try:
            played = chat.ask(turn.say)
        except ChatError as exc:  # a model that loops past the step limit: the turn failed, the eval goes on
            score = score_turn(scenario.id, number, turn.say, expect, [], previous, time.perf_counter() - started)
            score.failures.append(f"turn failed: {str(exc)[:160]}")
            out.append(score)
            on_turn(score)
            continue
        shown = [products[r["product_id"]] for r in played.recommendations if r["product_id"] in products]
        score = score_turn(scenario.id, number, turn.say, expect, shown, previous, played.seconds)
        if not played.recommendations:
            score.failures.append(f"nothing shown; answer: {played.answer[:160]}")
        out.append(score)
        on_turn(score)
        previous = shown
    return out
