"""InteraRec and its text-only counterpart as eval methods, on the product's own code path.

Each case is browsed once in Chromium (``capture``); the methods then read those frames (or the weblog titles,
or both), build the summary, turn it into constraints by the product's rules and let the optimiser rank K
products. Ablations reuse the same frames: the first fraction of the unique screenshots (data volume), and the
input modality (screens, text, both).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from agent.wiring import Runtime
from evals.cases import EvalCase
from tools.capture.session import browse_session
from tools.perception.readings import summarise_readings
from tools.perception.screen_reader import OfflineScreenReader
from tools.recommend.candidates import (
    BASE_QUERY_WEIGHT,
    LEXICAL_WEIGHT,
    SEEN_BRAND_WEIGHT,
    SEEN_POOL,
    SESSION_POOL,
    SESSION_WEIGHT,
    TYPE_WEIGHT,
    retrieve,
    retrieve_seen,
    with_session_candidates,
    with_session_scores,
)
from tools.recommend.constraints import (
    constraints_from_summary,
    inferred_types,
    resolved_policy,
    seen_brands,
    seen_queries,
)
from tools.recommend.lexical import index_for
from tools.recommend.optimizer import select
from tools.schemas import BehaviorSummary, Frame
from tools.sessions.models import SessionModel

CATEGORY_POLICIES = ("hard", "soft", "auto")  # the summary's type a filter, a score term, or a filter when dominant
QUERIES = ("seen", "type")  # the catalog query: every title seen (recency-weighted), or the strongest type only
SOFT_CATEGORY_WEIGHT = 1.0
TEXT_ONLY_NAME = "text-only: weblog titles through the offline reader's rules (no screenshots)"


@dataclass
class Capture:
    session_id: str
    frames: list[Frame]  # the unique screenshots, in order
    seconds: float


@dataclass
class Details:
    """What a method saw and spent on its last case (for the attribute scores and latency)."""

    summary: BehaviorSummary | None = None
    timings: dict[str, float] = field(default_factory=dict)
    frames_used: int = 0


def capture(runtime: Runtime, case: EvalCase, shop_url: str) -> Capture:
    """Browse the case's session on the shop once; every screenshot-based method reads these frames."""
    started = time.perf_counter()
    session_id = runtime.frames.new_session(source=f"eval:{case.case_id}")
    browse_session(runtime.browser_config, runtime.frames, session_id, shop_url, case.persona,
                   pace_s=runtime.settings.pace_s)
    frames = [f for f in runtime.frames.frames(session_id) if f.duplicate_of is None]
    return Capture(session_id, frames, round(time.perf_counter() - started, 3))


class InteraRecMethod:
    """Summary (screens, text or both) -> constraints -> Chroma candidates -> OR-Tools ranking of K. The defaults
    are the product's own path (agent/pipeline.py): the query from the titles seen, the browsed type soft;
    ``query="type"`` / ``category_policy="hard"`` are the earlier strongest-type query and filter."""

    def __init__(self, runtime: Runtime, captures: dict[str, Capture], modality: str = "screens",
                 frame_fraction: float = 1.0, name: str | None = None, session_model: SessionModel | None = None,
                 session_weight: float = SESSION_WEIGHT, category_policy: str = "auto", query: str = "seen",
                 pool: int = SEEN_POOL, type_weight: float = TYPE_WEIGHT, base_weight: float = BASE_QUERY_WEIGHT,
                 seen_limit: int | None = None, lexical_weight: float = LEXICAL_WEIGHT,
                 brand_weight: float = SEEN_BRAND_WEIGHT, reader=None,
                 session_pool: int = SESSION_POOL) -> None:
        if modality not in ("screens", "text", "both"):
            raise ValueError(f"unknown modality {modality!r}")
        if category_policy not in CATEGORY_POLICIES:
            raise ValueError(f"unknown category policy {category_policy!r}")
        if query not in QUERIES:
            raise ValueError(f"unknown query {query!r}")
        self.category_policy, self.query, self.pool = category_policy, query, pool
        self.type_weight, self.base_weight, self.seen_limit = type_weight, base_weight, seen_limit
        self.lexical_weight, self.brand_weight = lexical_weight, brand_weight
        self.reader = reader  # another summariser than the runtime's (the modality ablation's OCR-only reader)
        self.runtime, self.captures = runtime, captures
        self.modality, self.frame_fraction = modality, frame_fraction
        self.session_model, self.session_weight = session_model, session_weight
        self.session_pool = session_pool  # the session model's best products added to the seen-title pool
        self.name = name or ("interarec" if modality == "screens" else f"interarec-{modality}")
        self.last = Details()

    def fit(self, train_sessions: list[list[str]]) -> None:
        """InteraRec reads the current session only; its session-based variant learns from the click log."""
        if self.session_model is not None:
            self.session_model.fit(train_sessions)

    def _summary(self, case: EvalCase) -> tuple[BehaviorSummary, int]:
        reader = self.reader or self.runtime.summariser
        if not isinstance(reader, OfflineScreenReader) and self.modality != "screens":
            raise ValueError("the text and both modalities need the offline reader's title rules")
        frames: list[Frame] = []
        if self.modality in ("screens", "both"):
            unique = self.captures[case.case_id].frames
            frames = unique[:max(1, round(len(unique) * self.frame_fraction))] if unique else []
        if self.modality == "screens":
            return reader.summarise(frames), len(frames)
        readings = [reader.read_frame(f) for f in frames]
        readings += [reader.read_title(f"log:{i}", title) for i, title in enumerate(case.viewed_titles, start=1)]
        label = TEXT_ONLY_NAME if self.modality == "text" else f"{reader.name} + weblog titles"
        return summarise_readings(readings, label), len(frames)

    def recommend(self, case: EvalCase, k: int) -> list[str]:
        started = time.perf_counter()
        summary, used = self._summary(case)
        summarised = time.perf_counter()
        settings = self.runtime.settings
        if self.query == "seen":  # the product's query from what the shopper saw (tools/recommend)
            constraints = constraints_from_summary(summary, k=k, price_tolerance=settings.price_tolerance,
                                                   category_policy=self.category_policy)
            limit = {"limit": self.seen_limit} if self.seen_limit else {}
            policy = resolved_policy(summary, self.category_policy)
            types = inferred_types(summary, **limit) if policy == "soft" else None
            lexical = index_for(self.runtime.shop_products) if self.lexical_weight > 0 else None
            candidates = retrieve_seen(self.runtime.store, constraints, seen_queries(summary, **limit),
                                       exclude_ids=list(case.viewed_ids), pool=self.pool, types=types,
                                       type_weight=self.type_weight, base_weight=self.base_weight,
                                       lexical=lexical, lexical_weight=self.lexical_weight,
                                       brands=seen_brands(summary, **limit), brand_weight=self.brand_weight)
            if self.session_model is not None and self.session_pool:  # what other shoppers viewed next, too
                candidates = with_session_candidates(
                    self.runtime.store, candidates, constraints, self.session_model.score(list(case.viewed_ids)),
                    exclude_ids=list(case.viewed_ids), n=self.session_pool, types=types,
                    type_weight=self.type_weight, brands=seen_brands(summary, **limit), brand_weight=self.brand_weight)
            return self._rank(case, summary, used, constraints, candidates, started, summarised)
        constraints = constraints_from_summary(summary, k=k, price_tolerance=settings.price_tolerance)
        if self.category_policy == "soft" and constraints.categories:
            # The summary's type as a score term instead of a filter: the query still carries it, and products
            # of that category get the same attraction factor as the best session score (exp(weight)).
            wanted = {c.casefold() for c in constraints.categories}
            constraints = constraints.model_copy(update={"categories": []})
            candidates = retrieve(self.runtime.store, constraints, exclude_ids=list(case.viewed_ids))
            in_type = {c.product_id: float(bool(wanted & {x.casefold() for x in c.category_path})) for c in candidates}
            candidates = with_session_scores(candidates, in_type, SOFT_CATEGORY_WEIGHT)
        else:
            candidates = retrieve(self.runtime.store, constraints, exclude_ids=list(case.viewed_ids))
        return self._rank(case, summary, used, constraints, candidates, started, summarised)

    def _rank(self, case, summary, used, constraints, candidates, started, summarised) -> list[str]:
        settings = self.runtime.settings
        if self.session_model is not None:  # the session-based re-ranking variant
            scores = self.session_model.score(list(case.viewed_ids), [c.product_id for c in candidates])
            candidates = with_session_scores(candidates, scores, self.session_weight)
        retrieved = time.perf_counter()
        selection = select(candidates, constraints, time_limit_s=settings.solver_time_limit_s)
        done = time.perf_counter()
        self.last = Details(summary, {"summarise": summarised - started, "retrieve": retrieved - summarised,
                                      "optimise": done - retrieved}, used)
        return [c.product_id for c in selection.chosen]
