"""The local chat model's answers, written from templates over the tool results of the turn."""

from __future__ import annotations

from typing import Any

from agent.chat.tools import NO_TYPE
from tools.recommend.explain import money

ToolResult = tuple[str, dict[str, Any], bool]  # tool name, its JSON result, whether it failed


def _price(item: dict[str, Any]) -> str:
    return "no price" if item.get("price") is None else money(item["price"], item.get("currency", "INR"))


def _product_line(item: dict[str, Any]) -> str:
    brand = f" ({item['brand']})" if item.get("brand") else ""
    prefix = f"#{item['rank']} " if "rank" in item else "- "
    return f"{prefix}{item['title']}{brand}, {_price(item)}"


def _recommendations(result: dict[str, Any]) -> list[str]:
    items = result.get("recommendations") or []
    lines = []
    if result.get("relaxed"):  # nothing fitted every wish: say what was relaxed before what it shows
        lines.append(f"Nothing fits everything you asked for: {result['relaxed']} Shown with that change:")
    if items:
        lines.append(f"Top {len(items)} for {result['constraints']} (optimiser {result['status']}):")
        lines.extend(_product_line(item) for item in items)
    else:
        lines.append(f"No product fits {result['constraints']}.")
    lines.extend(f"Note: {note}." for note in result.get("notes") or [])
    relaxation = result.get("relaxation")
    if relaxation:
        lines.append(relaxation["message"])
    elif result.get("unmet"):
        lines.extend(f"Note: {note}" for note in result["unmet"])
    return lines


def _summary(result: dict[str, Any]) -> list[str]:
    brief = result["summary"]
    low, high, currency = brief["price_range"]
    band = f", {money(low, currency)}-{money(high, currency)}" if low is not None and high is not None else ""
    looked_at = ", ".join(brief["types"][:2]) or "nothing I could name"
    brands = f"; brands seen: {', '.join(brief['brands'][:3])}" if brief["brands"] else ""
    return [f"From {result['frames']} screenshots of session {result['session_id']} ({brief['summariser']}): "
            f"you looked at {looked_at}{band}{brands}."]


def _product(result: dict[str, Any]) -> list[str]:
    rating = f", rated {result['rating']:.1f}/5" if result.get("rating") is not None else ""
    colour = f", colour {result['colour']}" if result.get("colour") else ""
    return [f"#{result['rank']} {result['title']}", f"Brand {result.get('brand') or 'unknown'}, {_price(result)}"
            f"{rating}{colour}", f"Category: {result['category']}", f"In the shop: {result['url']}"]


def _explanation(result: dict[str, Any]) -> list[str]:
    lines = [f"Why #{result['rank']} {result['title']}:"]
    lines.extend(f"- {reason}" for reason in result["reasons"])
    lines.append(f"- its choice probability in this list is {result['choice_probability']:.2f} "
                 f"(MNL model; preferences: {result['constraints']})")
    return lines


def _search(result: dict[str, Any]) -> list[str]:
    if not result["products"]:
        return [f"Nothing in the catalog matches '{result['query']}'."]
    return [f"Catalog matches for '{result['query']}':", *(_product_line(p) for p in result["products"])]


def answer(results: list[ToolResult]) -> str:
    """One answer for the turn's tool results, in the order they ran."""
    lines: list[str] = []
    questions: list[str] = []
    for name, result, failed in results:
        if failed:
            error = result.get("error", "")
            if error.startswith(NO_TYPE):  # not a failure to report: the one thing to ask for
                questions.append(error.split(": ", 1)[-1])
            elif "skipped" not in result:
                said_as_is = error.startswith(("I did not understand", "The catalog "))  # answers, not failures
                lines.append(error if said_as_is else f"I could not do that: {error}")
            continue
        if name in ("browse", "summarise_session"):
            lines += _summary(result) + _recommendations(result)
        elif name == "update_preferences":
            lines.append("Understood: " + "; ".join(result["changes"]) + ".")
            lines.extend(f"Note: {note}." for note in result.get("notes") or [])
            if result.get("question"):
                questions.append(result["question"])
        elif name == "optimise":
            lines += _recommendations(result)
        elif name == "rerank_with_session":
            weight = result.get("session_weight") or 0
            lines.append(f"Re-ranked with the session model (weight {weight:g}): products other shoppers viewed "
                         "with yours move up." if weight else "Session re-ranking is off.")
            lines += _recommendations(result)
        elif name == "show_product":
            lines += _product(result)
        elif name == "explain_product":
            lines += _explanation(result)
        elif name == "search_catalog":
            lines += _search(result)
    lines += questions[:1]  # one question at a time
    return "\n".join(lines) or "Done."
