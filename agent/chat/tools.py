"""The chat agent's tools: what a chat model may ask for, and how each request is carried out.

Each tool has a name, a description and a pydantic argument model (sent to the model as its JSON schema), and a
handler that reads the conversation state and returns a result for the model plus the state it changes.
Handlers never trust the model: arguments are validated, products come only from the catalog, and every
constraint is enforced by the optimiser (tools/recommend/optimizer.py), not by the model's goodwill.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.chat.questions import example_requests, not_understood, type_question
from agent.wiring import Runtime, start_shop
from catalog.models import Product
from shop.server import DemoShop
from tools.capture.personas import DEMO_PERSONA, PERSONAS
from tools.recommend.candidates import SESSION_WEIGHT, retrieve, with_session_candidates, with_session_scores
from tools.recommend.catalog_terms import WEAK, CatalogTerms
from tools.recommend.explain import recommendations
from tools.recommend.hybrid import retrieve_request
from tools.recommend.lexical import LexicalIndex
from tools.recommend.optimizer import select_or_relax
from tools.recommend.preferences import PreferenceError, PreferenceUpdate, describe
from tools.recommend.requested import Asked, apply_request, in_catalog_currency, read_update, said_now
from tools.schemas import BehaviorSummary, Constraints, Recommendation
from tools.sessions.models import SessionModel, SessionModelError, load_model

NO_TYPE = "no product type yet"  # optimise's refusal; an answer that already asked for the type leaves it out
UNFILTERED_POOL = 150  # candidates retrieved without the hard filters, so an infeasible request can be diagnosed


class ToolError(ValueError):
    """A tool request that cannot be carried out; its message goes back to the model and the user."""


@dataclass
class ChatContext:
    """What the tools share for the length of a chat: the runtime and, once needed, the demo shop."""

    runtime: Runtime
    _shop: DemoShop | None = None
    _session_model: SessionModel | None = None
    _brands: list[str] | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def shop(self) -> DemoShop:
        if self._shop is None:
            self._shop = self._stack.enter_context(start_shop(self.runtime))
        return self._shop

    @property
    def session_model(self) -> SessionModel:
        """The session model re-ranking uses, loaded on first need."""
        if self._session_model is None:
            path = self.runtime.settings.session_model_file
            if not path.exists():
                raise ToolError(f"no session model at {path}: train one on a click log of this catalog with "
                                f"'interarec session-model train --data LOG --out {path}'")
            try:
                self._session_model = load_model(path)
            except SessionModelError as exc:
                raise ToolError(str(exc)) from exc
        return self._session_model

    @property
    def terms(self) -> CatalogTerms:
        """The catalog's categories, brands and price bands, for reading requests (the runtime's, built once)."""
        return self.runtime.catalog_terms

    @property
    def lexical(self) -> LexicalIndex:
        """BM25 over the catalog, for hybrid retrieval (the runtime's, built once)."""
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG: its lines would reach the chat
        return self.runtime.lexical

    @property
    def brands(self) -> list[str]:
        """The store's brands, read once per chat: reading them scans every product (0.3 s at 1,647)."""
        if self._brands is None:
            self._brands = self.runtime.store.brands()
        return self._brands

    def products(self, ids: list[str]) -> dict[str, Product]:
        return {p.id: p for p in self.runtime.store.get(list(ids))} if ids else {}

    def close(self) -> None:
        self._stack.close()
        self._shop = None


# -- argument models (their JSON schemas are what the chat model sees) ----------------------------------------
class _Args(BaseModel):
    """Arguments a model sends: an unknown one ('must_include') or a number that is not finite is an error, never
    silently dropped or passed on."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BrowseArgs(_Args):
    persona: str = Field(DEMO_PERSONA, description=f"scripted shopper, one of: {', '.join(PERSONAS)}")


class SessionArgs(_Args):
    session_id: str = Field(description="a captured or imported screenshot session id")


class SearchArgs(_Args):
    query: str = Field(min_length=1, description="what to look for")
    max_price: float | None = Field(None, gt=0)
    brand: str | None = None
    limit: int = Field(5, ge=1, le=20)


class OptimiseArgs(_Args):
    k: int | None = Field(None, ge=1, le=50, description="how many products (default: keep)")


class RerankArgs(_Args):
    weight: float = Field(SESSION_WEIGHT, ge=0, le=10,
                          description="how much the session model counts (0 turns session re-ranking off)")


class RankArgs(_Args):
    rank: int = Field(ge=1, description="the product's number in the list on show (#1 is the first)")


State = dict[str, Any]
Handler = Callable[[ChatContext, State, Any], tuple[dict[str, Any], State]]


@dataclass(frozen=True)
class ChatTool:
    name: str
    description: str
    args: type[BaseModel]
    handler: Handler

    def spec(self) -> dict[str, Any]:
        """The OpenAI function-calling description of this tool."""
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": schema}}


# -- handlers ------------------------------------------------------------------------------------------------
def _shown(state: State) -> list[Recommendation]:
    return [Recommendation.model_validate(r) for r in state.get("recommendations") or []]


def _summary_brief(summary: BehaviorSummary) -> dict[str, Any]:
    pc, prices = summary.product_characteristics, summary.price_range
    return {
        "types": [e.value for e in pc.types[:3]],
        "colours": [e.value for e in pc.colours[:3]],
        "brands": [e.value for e in summary.brand_preferences[:5]],
        "price_range": [prices.lowest, prices.highest, prices.currency],
        "search_queries": [e.value for e in summary.search_queries[:3]],
        "products_seen": len(summary.products_seen),
        "frames_read": summary.frames_read,
        "summariser": summary.summariser,
    }


def _after_summary(ctx: ChatContext, run: dict[str, Any]) -> tuple[dict[str, Any], State]:
    """A fresh summary resets the preferences to the ones read from the screens, and recommends."""
    summary = BehaviorSummary.model_validate(run["summary"])
    constraints = Constraints.model_validate(run["constraints"])
    state: State = {"session_id": run["session_id"], "summary": run["summary"],
                    "base_constraints": constraints.model_dump(), "constraints": constraints.model_dump(),
                    "viewed_product_ids": run.get("viewed_product_ids", []), "asked": None}
    result, update = optimise(ctx, state, OptimiseArgs())
    return {"session_id": run["session_id"], "frames": len(run["frame_ids"]),
            "summary": _summary_brief(summary), **result}, {**state, **update}


def browse(ctx: ChatContext, state: State, args: BrowseArgs) -> tuple[dict[str, Any], State]:
    from agent.pipeline import browse_and_recommend

    if args.persona not in PERSONAS:
        raise ToolError(f"unknown persona {args.persona!r}; choose one of: {', '.join(PERSONAS)}")
    run = browse_and_recommend(ctx.runtime, PERSONAS[args.persona], ctx.shop.url)
    return _after_summary(ctx, run)


def summarise_session(ctx: ChatContext, state: State, args: SessionArgs) -> tuple[dict[str, Any], State]:
    from agent.pipeline import recommend_from_session

    return _after_summary(ctx, recommend_from_session(ctx.runtime, args.session_id))


def search_catalog(ctx: ChatContext, state: State, args: SearchArgs) -> tuple[dict[str, Any], State]:
    from catalog.store import SearchFilters

    brands = (args.brand,) if args.brand else ()
    hits = ctx.runtime.store.search(args.query, SearchFilters(max_price=args.max_price, brands=brands),
                                    limit=args.limit)
    return {"query": args.query, "products": [
        {"product_id": h.product.id, "title": h.product.title, "brand": h.product.brand,
         "price": h.product.price, "currency": h.product.currency, "rating": h.product.rating,
         "category": h.product.leaf_category} for h in hits]}, {}


def optimise(ctx: ChatContext, state: State, args: OptimiseArgs) -> tuple[dict[str, Any], State]:
    if not state.get("constraints") and state.get("session_id"):  # a chat started on a captured session
        return summarise_session(ctx, state, SessionArgs(session_id=state["session_id"]))
    if not state.get("constraints"):
        example = f" (e.g. '{example_requests(ctx.terms)[0]}')" if ctx.runtime is not None else ""  # no catalog
        raise ToolError("there is nothing to go on yet: browse the shop first, name a session, or say what "
                        f"you are looking for{example}")
    constraints = Constraints.model_validate(state["constraints"])
    if args.k is not None:
        constraints.k = args.k
    if not (constraints.query or constraints.categories):
        raise ToolError(f"{NO_TYPE}: {type_question(ctx.terms)}")
    viewed = state.get("viewed_product_ids") or []
    store, settings = ctx.runtime.store, ctx.runtime.settings
    # The filtered pool holds the best matches; the unfiltered one lets the optimiser name what blocks a short list.
    notes: list[str] = []
    if state.get("asked"):  # the shopper said what they want: hybrid retrieval honours the words
        pool, notes = retrieve_request(store, ctx.lexical, constraints, Asked.model_validate(state["asked"]),
                                       exclude_ids=viewed, unfiltered_pool=UNFILTERED_POOL, turn=_turn(state))
    else:
        pool = retrieve(store, constraints, exclude_ids=viewed, unfiltered_pool=UNFILTERED_POOL)
    weight = state.get("session_weight") or 0.0
    if weight and viewed:  # the session-based variant: what other shoppers viewed with these products
        # as in the eval's interarec+session: the products the model scores best join the pool, under the filters
        scores = ctx.session_model.score(viewed)
        pool = with_session_candidates(store, pool, constraints, scores, exclude_ids=viewed)
        pool = with_session_scores(pool, scores, weight)
    # nothing fits every wish: the smallest relaxation is applied and said, never an empty list
    wishes = constraints
    selection, constraints, relaxed_by = select_or_relax(pool, constraints, time_limit_s=settings.solver_time_limit_s,
                                                         keep=said_now(constraints, _turn(state)))
    recs = recommendations(selection, constraints)
    report = selection.report
    if any(note.startswith("only ") for note in notes):  # the said terms explain the short list, not Constraints
        selection = type(selection)(selection.chosen, selection.choice_probability, report, [])
        report = report.model_copy(update={"relaxation": None})
    result = {
        "constraints": describe(constraints),
        "recommendations": [{"rank": r.rank, "product_id": r.product_id, "title": r.title, "brand": r.brand,
                             "price": r.price, "currency": r.currency, "score": r.score} for r in recs],
        "status": report.status,
        "unmet": selection.unmet,
        "notes": notes,
        "relaxation": report.relaxation.model_dump() if report.relaxation else None,
        "relaxed": relaxed_by,
        "session_weight": weight,
    }
    # the shopper's wishes are kept, not the relaxation that showed something this time: it holds for this
    # list only, and the next message starts again from what was asked
    return result, {"constraints": wishes.model_dump(), "recommendations": [r.model_dump() for r in recs],
                    "optimizer": report.model_dump()}


def rerank_with_session(ctx: ChatContext, state: State, args: RerankArgs) -> tuple[dict[str, Any], State]:
    if args.weight and not state.get("viewed_product_ids"):
        raise ToolError("no products of this session are known yet: browse first, or name a session")
    if args.weight:
        ctx.session_model  # noqa: B018 - fail now, with the reason, if there is no model
    result, update = optimise(ctx, {**state, "session_weight": args.weight}, OptimiseArgs())
    return result, {**update, "session_weight": args.weight}


def _turn(state: State) -> int:
    """The number of the shopper's current message in this thread."""
    return max(1, sum(getattr(m, "type", "") == "human" for m in state.get("messages") or []))


def _understood(parsed: Any) -> dict[str, Any]:
    skip = {"said", "nearest", "type_how"}
    return {k: v for k, v in parsed.model_dump().items() if k not in skip and v not in (None, False, [], "")}


def update_preferences(ctx: ChatContext, state: State, args: PreferenceUpdate) -> tuple[dict[str, Any], State]:
    fresh = Constraints(k=ctx.runtime.settings.k, max_per_brand=2)
    current = Constraints.model_validate(state["constraints"]) if state.get("constraints") else fresh
    base = Constraints.model_validate(state["base_constraints"]) if state.get("base_constraints") else None
    asked = Asked.model_validate(state["asked"]) if state.get("asked") else Asked()
    shown = _shown(state)
    parsed = read_update(args, ctx.terms)
    if parsed.reset and base is None:  # nothing was browsed: starting over is starting from nothing
        current, asked = fresh, Asked()
    parsed, currency_note = in_catalog_currency(parsed, ctx.runtime.catalog_currency)
    if currency_note and not parsed.understood() and not parsed.product_type:
        raise ToolError(currency_note[0].upper() + currency_note[1:])
    if parsed.type_how == "unknown" and parsed.type_similarity < WEAK and not parsed.understood():
        if not parsed.asks:
            raise ToolError(not_understood(parsed.said, ctx.terms))
        if parsed.type_similarity < NOTHING_LIKE:  # asked for, but the catalog sells nothing of the kind: say so
            raise ToolError(f"The catalog has nothing like '{parsed.product_type}': its nearest categories are "
                            f"{', '.join(parsed.nearest)}, far from it in meaning.")
    try:
        new, asked, changes, notes = apply_request(
            current, asked, parsed, base=base, shown=shown, brands=ctx.brands,
            products=ctx.products([r.product_id for r in shown]), terms=ctx.terms, turn=_turn(state))
    except PreferenceError as exc:
        if str(exc) == "no change was asked for" and parsed.said:
            near = parsed.nearest if parsed.product_type and parsed.type_similarity >= WEAK else None
            raise ToolError(not_understood(parsed.said, ctx.terms, near)) from exc
        raise ToolError(str(exc)) from exc
    result: dict[str, Any] = {"changes": changes, "notes": notes, "understood": _understood(parsed),
                              "constraints": describe(new)}
    if currency_note:
        result["notes"] = [*result["notes"], currency_note]
    if parsed.ignored:
        result["notes"] = [*result["notes"], f"I did not use '{' '.join(parsed.ignored)}'"]
    if parsed.type_how == "unknown" and parsed.nearest and parsed.type_similarity >= WEAK:
        # nearest categories this far in meaning ("water bottle" -> Sunglasses) would be a useless question
        result["question"] = f"Did you mean {', '.join(parsed.nearest[:-1])} or {parsed.nearest[-1]}?"
    elif not (new.categories or asked.product_type or asked.search_words or (base and (base.query or base.categories))):
        # a budget, a colour or a recipient alone: the list may show, but the type is what to ask for
        result["question"] = type_question(ctx.terms)
    return result, {"constraints": new.model_dump(), "asked": asked.model_dump()}


NOTHING_LIKE = 0.3  # a request this far in meaning from every category: the catalog has nothing of the kind


def _rank(state: State, rank: int) -> Recommendation:
    shown = _shown(state)
    if not shown:
        raise ToolError("nothing is on show yet: ask for recommendations first")
    if rank > len(shown):
        raise ToolError(f"there is no product #{rank}: the list has {len(shown)} (#1-#{len(shown)})")
    return shown[rank - 1]


def show_product(ctx: ChatContext, state: State, args: RankArgs) -> tuple[dict[str, Any], State]:
    rec = _rank(state, args.rank)
    product = ctx.products([rec.product_id]).get(rec.product_id)
    if product is None:
        raise ToolError(f"product {rec.product_id} is no longer in the catalog")
    return {"rank": rec.rank, "product_id": product.id, "title": product.title, "brand": product.brand,
            "price": product.price, "list_price": product.list_price, "currency": product.currency,
            "rating": product.rating, "rating_count": product.rating_count, "colour": product.colour,
            "category": " > ".join(product.category_path), "description": product.description[:400],
            "url": ctx.shop.product_url(product.id)}, {}


def explain_product(ctx: ChatContext, state: State, args: RankArgs) -> tuple[dict[str, Any], State]:
    rec = _rank(state, args.rank)
    constraints = Constraints.model_validate(state["constraints"])
    return {"rank": rec.rank, "product_id": rec.product_id, "title": rec.title, "brand": rec.brand,
            "reasons": rec.reasons, "choice_probability": rec.score, "constraints": describe(constraints)}, {}


TOOLS: dict[str, ChatTool] = {t.name: t for t in [
    ChatTool("browse", "Browse the demo shop in headless Chromium as a scripted shopper, read the screenshots "
             "into a preference summary and recommend.", BrowseArgs, browse),
    ChatTool("summarise_session", "Read the screenshots of a captured or imported session into a preference "
             "summary and recommend.", SessionArgs, summarise_session),
    ChatTool("search_catalog", "Search the product catalog by meaning (does not change the recommendations).",
             SearchArgs, search_catalog),
    ChatTool("optimise", "Choose and rank products with the OR-Tools MNL optimiser under the current "
             "preferences.", OptimiseArgs, optimise),
    ChatTool("update_preferences", "Change the shopper's preferences. Pass the shopper's message verbatim as "
             "'request' (it is read by rules that know the catalog: product type, colour, material, who it is for, "
             "occasion, brands in or out, price such as 'under 1500', 'around 2k', 'more premium', 'cheaper', "
             "rating, how many, more like #N, start over); structured fields may add to it. Call optimise "
             "afterwards.", PreferenceUpdate,
             update_preferences),
    ChatTool("rerank_with_session", "Re-rank with a session model trained on other shoppers' click logs: "
             "products often viewed with the ones in this session move up (weight 0 turns it off).", RerankArgs,
             rerank_with_session),
    ChatTool("show_product", "Details of product #N of the list on show.", RankArgs, show_product),
    ChatTool("explain_product", "Why product #N was recommended, citing the screenshots.", RankArgs,
             explain_product),
]}


def run_tool(ctx: ChatContext, state: State, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], State]:
    """Validate the model's arguments and run the tool; every failure becomes a ToolError with a reason."""
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolError(f"no tool named {name!r}; tools: {', '.join(TOOLS)}")
    try:
        args = tool.args.model_validate(arguments or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        raise ToolError(f"bad arguments for {name}: {problems}") from exc
    return tool.handler(ctx, state, args)
