"""Trajectory evals for the chat agent: YAML scenarios of user turns (evals/scenarios/), each with the tool calls
expected and the constraints that must hold from then on.

Per turn: ``strict`` (the tool names in order, and any expected arguments, match), ``unordered`` (the same
tools, in any order), ``constraints held`` (every recommendation after the turn honours every constraint asked
for so far: ``max_price``, ``min_rating``, ``exclude_brands``, ``cheaper`` than the list before, ``count``;
``reset`` forgets them) and ``answer_contains``. Scenarios run on the demo catalog with the configured chat model.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from langgraph.checkpoint.memory import InMemorySaver

from agent.chat.graph import build_chat_graph
from agent.chat.session import ChatSession
from agent.chat.tools import ChatContext
from agent.settings import Settings
from agent.wiring import build_chat_model, build_runtime, chat_backend_name
from tools.recommend.preferences import CHEAPER_FACTOR

SCENARIOS = Path(__file__).parent / "scenarios"


def load_scenarios(folder: Path = SCENARIOS) -> list[dict[str, Any]]:
    scenarios = []
    for path in sorted(folder.glob("*.yaml")):
        scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(scenario, dict) or not scenario.get("turns"):
            raise ValueError(f"{path}: a scenario needs a name and a list of turns")
        scenarios.append(scenario)
    return scenarios


def _violations(holds: dict[str, Any], recs: list[dict], ratings: dict[str, float | None]) -> list[str]:
    problems = []
    prices = [r["price"] for r in recs if r.get("price") is not None]
    if "max_price" in holds and any(p > holds["max_price"] for p in prices):
        problems.append(f"a price above {holds['max_price']}")
    if "min_rating" in holds and any((ratings.get(r["product_id"]) or 0) < holds["min_rating"] for r in recs):
        problems.append(f"a rating below {holds['min_rating']}")
    excluded = {b.casefold() for b in holds.get("exclude_brands", [])}
    if any((r.get("brand") or "").casefold() in excluded for r in recs):
        problems.append("an excluded brand")
    if "cheaper_than" in holds and any(p > holds["cheaper_than"] + 1e-6 for p in prices):
        problems.append(f"a price above the 'cheaper' budget {holds['cheaper_than']:.0f}")
    if holds.get("count") and len(recs) != holds["count"]:
        problems.append(f"{len(recs)} products instead of {holds['count']}")
    if not recs and holds:
        problems.append("no products")
    return problems


def _run_scenario(chat: ChatSession, scenario: dict[str, Any], ratings: Callable[[list[str]], dict]) -> list[dict]:
    holds: dict[str, Any] = {}
    previous: list[dict] = []
    results = []
    for number, turn in enumerate(scenario["turns"], start=1):
        done = chat.ask(turn["user"])
        called = [c["name"] for c in done.tool_calls]
        expected = list(turn.get("tools", []))
        args_ok = all(any(c["name"] == name and all(c["args"].get(k) == v for k, v in want.items())
                          for c in done.tool_calls) for name, want in (turn.get("args") or {}).items())
        asked = dict(turn.get("hold") or {})
        if asked.pop("reset", False):
            holds = {}
        if asked.pop("cheaper", False):
            prices = [r["price"] for r in previous if r.get("price") is not None]
            holds["cheaper_than"] = CHEAPER_FACTOR * statistics.median(prices) if prices else 0.0
        for key, value in asked.items():
            holds[key] = sorted(set(holds.get(key, [])) | set(value)) if isinstance(value, list) else value
        recs = done.recommendations
        problems = _violations(holds, recs, ratings([r["product_id"] for r in recs])) if holds else []
        wanted_text = turn.get("answer_contains")
        results.append({
            "scenario": scenario["name"], "turn": number, "user": turn["user"], "expected": expected,
            "called": called, "strict": called == expected and args_ok,
            "unordered": Counter(called) == Counter(expected), "constraints_held": not problems,
            "problems": problems,
            "answer_ok": wanted_text is None or wanted_text.casefold() in done.answer.casefold(),
            "seconds": done.seconds,
        })
        previous = recs or previous
    return results


def run_scenarios(settings: Settings, progress: Callable[[str], None] = lambda _: None,
                  scenarios: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every scenario in its own thread on the demo catalog; returns per-turn results and their means."""
    scenarios = scenarios if scenarios is not None else load_scenarios()
    runtime = build_runtime(settings)
    ctx = ChatContext(runtime)
    saver = InMemorySaver()
    graph = build_chat_graph(ctx, build_chat_model(settings), saver)

    def ratings(ids: list[str]) -> dict[str, float | None]:
        return {p.id: p.rating for p in runtime.store.get(ids)} if ids else {}

    turns: list[dict] = []
    try:
        for scenario in scenarios:
            chat = ChatSession(graph, f"eval-{scenario['name']}", settings.chat_max_steps)
            turns += _run_scenario(chat, scenario, ratings)
            progress(f"trajectories: {scenario['name']} done")
    finally:
        ctx.close()
        runtime.close()
    summary = {key: round(sum(t[key] for t in turns) / len(turns), 4) if turns else 0.0
               for key in ("strict", "unordered", "constraints_held", "answer_ok")}
    summary = {"strict_match": summary["strict"], "unordered_match": summary["unordered"],
               "constraints_held": summary["constraints_held"], "answers_ok": summary["answer_ok"],
               "turns": len(turns), "scenarios": len(scenarios)}
    return {"chat_model": chat_backend_name(settings), "summary": summary, "turns": turns}
