"""The local chat model's understanding: common shopping requests, recognised by rules, turned into tool calls.

It knows a fixed set of phrasings (docs/chat.md); anything else gets an honest "I did not understand" with
examples. ``plan`` returns the tool calls for one user message, or a reply when no tool is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tools.capture.personas import DEMO_PERSONA, PERSONAS
from tools.perception.parsing import find_colours
from tools.recommend.candidates import SESSION_WEIGHT

HELP = (
    "I am InteraRec's local chat model: deterministic rules, not an LLM, so I understand these kinds of "
    "requests:\n"
    "  browse as watch-buyer | recommend from session <id> | looking for <something>\n"
    "  cheaper | under 2000 | over 500 | only <brand> | not <brand> | in black | another colour | not red\n"
    "  rated 4+ | show 10 | more like #2 | why #1 | show #3 | search <words> | start over | help\n"
    "  rerank with my session | without my session (session-based re-ranking from other shoppers' clicks)\n"
    f"Personas: {', '.join(PERSONAS)}. For free-form conversation configure an OpenAI-compatible chat model "
    "(INTERAREC_OPENAI_BASE_URL and INTERAREC_CHAT_MODEL)."
)

_NUMBER = r"(?:₹|rs\.?|inr)?\s*(\d[\d,]*(?:\.\d+)?)\s*(k\b)?"
_MAX_PRICE = re.compile(rf"\b(?:under|below|less than|cheaper than|up to|upto|at most|max(?:imum)?|budget(?: is)?"
                        rf"(?: now)?(?: of)?|within)\s*{_NUMBER}")
_MIN_PRICE = re.compile(rf"\b(?:over|above|more than|at least|from|min(?:imum)?|starting at)\s*{_NUMBER}"
                        r"(?!\s*(?:stars?|\+|or more stars))")
_RATING = re.compile(r"\b(?:rated|rating|ratings?(?: of)?)\s*(?:at least|above|over|of)?\s*(\d(?:\.\d)?)"
                     r"|\b(\d(?:\.\d)?)\s*(?:\+|stars?\b|or more stars)")
_RANK = r"(?:#|no\.?\s*|number\s*)?(\d{1,2})\b"
_WHY = re.compile(rf"\bwhy\b.*?{_RANK}|\bexplain\b.*?{_RANK}")
_SHOW = re.compile(rf"\b(?:show|details?(?: of| for)?|tell me about|open|more about)\s+(?:me\s+)?(?:product\s+)?"
                   rf"#\s*(\d{{1,2}})\b|\b(?:details?|info)\s+(?:of|on|for|about)\s+{_RANK}")
_LIKE = re.compile(rf"\b(?:more like|similar to|like)\s+(?:product\s+)?{_RANK}")
_COUNT = re.compile(r"\b(?:show(?: me)?|top|give me|list)\s+(\d{1,2})\b(?!\s*(?:stars?|\+))|\b(\d{1,2})\s+"
                    r"(?:products|options|items|results|suggestions)\b")
_ONLY = re.compile(r"\bonly\s+(?:the\s+)?(?:brands?\s+)?(.+)")
_NOT = re.compile(r"\b(?:not|no|no more|without|except|exclude|forget|hide|drop)\s+(?:the\s+)?(?:brands?\s+)?"
                  r"(.+)")
_LOOKING = re.compile(r"\b(?:looking for|look for|i want|i need|find me|recommend(?: me)?|suggest)\s+(?:some\s+|"
                      r"an?\s+|a few\s+)?(.+)")
_SEARCH = re.compile(r"^\s*(?:search|find)(?: for)?\s+(.+)")
_RERANK = re.compile(r"\bre-?rank|\b(?:use|with|using|without)\s+(?:my|the|this)\s+session\b|"
                     r"\bsession[- ]based\b|\bsession (?:re-?ranking|model)\b")
_SESSION = re.compile(r"\bsession\s+([A-Za-z0-9][A-Za-z0-9_.:-]*)")
_CLAUSE_END = re.compile(r"\s*(?:,|;|\band\b|\bplease\b|\bbut\b|\bthen\b|\.|!|\?|\bunder\b|\bbelow\b|\bover\b)")
_FILLER = {"one", "ones", "brand", "brands", "any", "more", "thanks", "thank you"}


@dataclass
class Plan:
    """Tool calls to make (in order), or a reply to give directly."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reply: str = ""


def _amount(match: re.Match) -> float:
    value = float(match.group(1).replace(",", ""))
    return value * 1000 if match.group(2) else value


def _clause(text: str) -> str:
    """The words up to the next clause break: 'titan and under 2000' -> 'titan'."""
    words = _CLAUSE_END.split(text, maxsplit=1)[0].strip()
    return "" if words in _FILLER else words


def _preferences(text: str) -> dict[str, Any]:
    update: dict[str, Any] = {}
    if re.search(r"\b(?:cheaper|less expensive|too (?:expensive|pricey)|lower price)\b", text) \
            and not _MAX_PRICE.search(text):
        update["cheaper"] = True
    if found := _MAX_PRICE.search(text):
        update["max_price"] = _amount(found)
    if found := _MIN_PRICE.search(text):
        update["min_price"] = _amount(found)
    if found := _RATING.search(text):
        update["min_rating"] = float(found.group(1) or found.group(2))
    if found := _COUNT.search(text):
        update["k"] = int(found.group(1) or found.group(2))
    if re.search(r"\b(?:another|other|different)\s+colou?rs?\b", text):
        update["another_colour"] = True
    if found := _LIKE.search(text):
        update["like_rank"] = int(found.group(1))
    if found := _ONLY.search(text):
        name = _clause(found.group(1))
        colours = find_colours(name)
        if colours:
            update["prefer_colours"] = colours
        elif name:
            update["only_brands"] = [name]
    for found in _NOT.finditer(text):
        name = _clause(found.group(1))
        colours = find_colours(name)
        if colours:
            update.setdefault("exclude_colours", []).extend(colours)
        elif name and not re.match(r"(?:too|so|that|very|cheaper|expensive)\b", name):
            update.setdefault("exclude_brands", []).append(name)
    if "prefer_colours" not in update and "exclude_colours" not in update and "another_colour" not in update:
        wanted = re.search(r"\b(?:in|something|prefer|some)\s+([a-z ]+)", text)
        colours = find_colours(wanted.group(1)) if wanted else []
        if colours:
            update["prefer_colours"] = colours
    if re.search(r"\b(?:start over|start again|reset|from scratch)\b", text):
        update = {"reset": True}
    return update


def plan(message: str) -> Plan:
    """The tool calls (or the reply) for one user message."""
    text = " ".join(message.lower().split())
    if not text or re.fullmatch(r"(?:help|\?|what can you do\??|hi|hello)", text):
        return Plan(reply=HELP)
    persona = next((name for name in PERSONAS if name in text), None)
    if persona or re.search(r"\bbrowse\b", text):
        return Plan(calls=[("browse", {"persona": persona or DEMO_PERSONA})])
    if _RERANK.search(text):
        off = re.search(r"\b(?:without|stop|no|off|don't|do not)\b", text)
        return Plan(calls=[("rerank_with_session", {"weight": 0.0 if off else SESSION_WEIGHT})])
    if found := _SESSION.search(message):
        return Plan(calls=[("summarise_session", {"session_id": found.group(1)})])
    if found := _WHY.search(text):
        return Plan(calls=[("explain_product", {"rank": int(found.group(1) or found.group(2))})])
    if (found := _SHOW.search(text)) and not _LIKE.search(text):
        return Plan(calls=[("show_product", {"rank": int(found.group(1) or found.group(2))})])
    if found := _SEARCH.search(text):
        return Plan(calls=[("search_catalog", {"query": found.group(1).strip(" ?.!")})])
    update = _preferences(text)
    if found := _LOOKING.search(text):
        query = _clause(found.group(1))
        if query and not update.get("reset"):
            update["query"] = query
    if update:
        return Plan(calls=[("update_preferences", update), ("optimise", {})])
    if re.search(r"\b(?:recommend|suggest|again|show me|what else|options)\b", text):
        return Plan(calls=[("optimise", {})])
    return Plan(reply=f"Sorry, I did not understand {message.strip()!r}.\n{HELP}")
