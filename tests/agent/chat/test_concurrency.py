"""Twenty chats at once on one agent graph and one SQLite checkpointer, as `interarec chat` builds them: each
thread keeps its own memory, preferences, screenshots and recommendations, and nothing leaks between them.

Even threads start on a screenshot session of their own (its category cites their own screenshot) and say
"under N", "not <brand of #1>", "why #1"; odd threads start from nothing: "looking for ...", "under N", "why #1".
Budgets differ per thread, so a preference that crossed threads would show."""

from __future__ import annotations

import io
import json
import threading

import numpy as np
import pytest
from PIL import Image

from agent.chat.graph import build_chat_graph
from agent.chat.local_model import LocalChatModel
from agent.chat.session import ChatSession
from agent.chat.tools import ChatContext
from agent.checkpointer import close_checkpointer, open_checkpointer
from agent.settings import load_settings
from agent.wiring import build_runtime
from catalog.files import DEMO_PRODUCTS, load_products
from tools.schemas import Constraints

THREADS = 20
CATEGORIES = {  # leaf category -> (what an odd thread looks for, lowest budget)
    "Wrist Watches": ("analog wrist watch", 900),
    "Coffee Mugs": ("printed coffee mug", 300),
    "Deodorants": ("deodorant for men", 400),
    "Showpieces": ("decorative showpiece", 900),
    "Blankets, Quilts & Dohars": ("double bed blanket", 1200),
}


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    settings = load_settings(data_dir=tmp_path_factory.mktemp("concurrency-data"))
    products = [p for p in load_products(DEMO_PRODUCTS) if p.category_path[-1] in CATEGORIES]
    runtime = build_runtime(settings, products=products)
    ctx = ChatContext(runtime)
    checkpointer = open_checkpointer(settings)
    yield runtime, build_chat_graph(ctx, LocalChatModel(), checkpointer), products
    ctx.close()
    close_checkpointer(checkpointer)
    runtime.close()


def test_twenty_chats_at_once_keep_their_own_memory_screenshots_and_recommendations(agent, tmp_path):
    runtime, graph, products = agent
    category_of = {p.id: p.category_path[-1] for p in products}
    plans = []
    for i in range(THREADS):
        category = list(CATEGORIES)[i % len(CATEGORIES)]
        words, lowest = CATEGORIES[category]
        plan = {"thread": f"t-{i:02d}", "category": category, "words": words, "budget": lowest + 7 * i,
                "transcript": tmp_path / f"t-{i:02d}.jsonl", "seeded": i % 2 == 0}
        if plan["seeded"]:  # a screenshot session of its own: i + 1 frames, the category read off the last
            session = runtime.frames.new_session(f"test:{plan['thread']}")
            for n in range(i + 1):
                runtime.frames.add(session, _png(1000 * i + n))
            plan["session"], plan["cited"] = session, f"{session}:{i}"
        plans.append(plan)

    barrier = threading.Barrier(THREADS)
    results: dict[str, dict] = {}

    def converse(plan: dict) -> None:
        try:
            chat = ChatSession(graph, plan["thread"], 12, plan["transcript"])
            if plan["seeded"]:
                seeded = Constraints(k=5, query=plan["words"], categories=[plan["category"]], max_per_brand=2,
                                     provenance={"categories": [plan["cited"]]}).model_dump()
                chat.seed(session_id=plan["session"], constraints=seeded, base_constraints=seeded)
            barrier.wait(timeout=60)
            if plan["seeded"]:
                first = chat.ask(f"under {plan['budget']}")
                plan["excluded"] = first.recommendations[0]["brand"]
                messages = [f"under {plan['budget']}", f"not {plan['excluded']}", "why #1"]
                chat.ask(messages[1])
            else:
                messages = [f"looking for {plan['words']}", f"under {plan['budget']}", "why #1"]
                chat.ask(messages[0])
                chat.ask(messages[1])
            why = chat.ask("why #1")
            results[plan["thread"]] = {"state": chat.state, "why": why, "messages": messages}
        except BaseException as exc:  # reported below, per thread
            results[plan["thread"]] = {"error": repr(exc)}

    workers = [threading.Thread(target=converse, args=(plan,)) for plan in plans]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
    assert not any(worker.is_alive() for worker in workers)
    assert {t: r["error"] for t, r in results.items() if "error" in r} == {}

    for plan in plans:
        result = results[plan["thread"]]
        state, why = result["state"], result["why"]
        constraints, recs = state["constraints"], state["recommendations"]
        # its own conversation, and only it
        assert [m.content for m in state["messages"] if m.type == "human"] == result["messages"]
        turns = [json.loads(line) for line in plan["transcript"].read_text().splitlines()]
        assert [(t["thread"], t["turn"], t["user"]) for t in turns] == [
            (plan["thread"], n, text) for n, text in enumerate(result["messages"], start=1)]
        # its own preferences, and recommendations that keep them
        assert constraints["max_price"] == plan["budget"]
        assert recs and all(r["price"] <= plan["budget"] for r in recs)
        if plan["seeded"]:
            assert state["session_id"] == plan["session"]
            assert constraints["categories"] == [plan["category"]]
            assert constraints["exclude_brands"] == [plan["excluded"]]
            assert all(category_of[r["product_id"]] == plan["category"] for r in recs)
            assert all(r["brand"] != plan["excluded"] for r in recs)
            # its own screenshots: the category reason cites this thread's screenshot, and no other; the budget
            # cites the turn it was said in
            assert constraints["provenance"] == {"categories": [plan["cited"]], "price": ["said:1"]}
            assert f"(screenshots #{int(plan['cited'].rsplit(':', 1)[1])})" in why.answer
        else:
            assert state.get("session_id") is None
            assert all(cited.startswith("said:") for cites in constraints["provenance"].values() for cited in cites)
            # the words it asked for, not another thread's (the request parser reorders them, drops "for")
            assert constraints["query"] and set(constraints["query"].split()) <= set(plan["words"].split())
            assert constraints["exclude_brands"] == []
            assert "screenshots #" not in why.answer
        assert why.tool_calls == [{"name": "explain_product", "args": {"rank": 1}, "status": "success"}]
        assert recs[0]["title"] in why.answer
