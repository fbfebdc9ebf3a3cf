"""The local chat model's understanding: which tool a shopper's message needs, by rules.

Requests about the catalog (what to find, for whom, colours, budget, brands, "cheaper", "more like #2", "start
over", ...) are passed verbatim to ``update_preferences(request=...)``, whose parser knows the catalog's
categories and brands (tools/recommend/request.py), so the local model and an LLM get the same reading. The rest
(browse, a session, why #N, show #N, search, re-ranking, help) are recognised here. ``plan`` returns the tool
calls for one user message, or a reply when no tool is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tools.capture.personas import DEMO_PERSONA, PERSONAS
from tools.recommend.candidates import SESSION_WEIGHT

# Free sentences first: what a new user types. The same lines end `interarec chat --help` (EXAMPLES).
EXAMPLES = (
    "Say what you want in your own words, in any order; each message refines the one before:\n"
    "  black leather wallet for my dad, under 1500    a first request: type, colour, material, who for, budget\n"
    "  brown and more premium                         change the colour, move up to the pricier third\n"
    "  cheaper | between 500 and 900 | around 2k      the budget\n"
    "  not Titan | only Puma | any colour | rated 4+  brands, colours, rating\n"
    "  more like #2 | show 10 | start over            a product on show, how many, forget it all\n"
    "  why #1 | show #3                               why a product is on the list, its details\n"
    "  search <words>                                 a look-up that keeps the list\n"
    "  browse as watch-buyer | recommend from session <id> | rerank with my session | without my session"
)
HELP = (
    "I am InteraRec's local chat model: deterministic rules, not an LLM. " + EXAMPLES + "\n"
    f"Personas: {', '.join(PERSONAS)}. With an OpenAI-compatible chat model configured (INTERAREC_OPENAI_BASE_URL "
    "and INTERAREC_CHAT_MODEL) it reads your messages and passes your words to the same request parser."
)

_RANK = r"(?:#|no\.?\s*|number\s*)?(\d{1,2})\b"
_WHY = re.compile(rf"\bwhy\b.*?{_RANK}|\bexplain\b.*?{_RANK}")
_SHOW = re.compile(rf"\b(?:show|details?(?: of| for)?|tell me about|open|more about)\s+(?:me\s+)?(?:product\s+)?"
                   rf"#\s*(\d{{1,2}})\b|\b(?:details?|info)\s+(?:of|on|for|about)\s+{_RANK}")
_SEARCH = re.compile(r"^\s*(?:search|look up)(?: for)?\s+(.+)")
_RERANK = re.compile(r"\bre-?rank|\b(?:use|with|using|without)\s+(?:my|the|this)\s+session\b|"
                     r"\bsession[- ]based\b|\bsession (?:re-?ranking|model)\b")
_SESSION = re.compile(r"\bsession\s+([A-Za-z0-9][A-Za-z0-9_.:-]*)")
_AGAIN = re.compile(r"(?:please\s+)?(?:recommend|suggest|again|show me|what else|options|more options|"
                    r"show (?:me )?(?:the )?(?:list|recommendations)|go|ok|okay)(?:\s+(?:something|some|please|again))?"
                    r"[.!?]*")
_LIKE = re.compile(r"\b(?:more like|similar to|like)\s+(?:product\s+)?#?\s*\d")


@dataclass
class Plan:
    """Tool calls to make (in order), or a reply to give directly."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    reply: str = ""


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
    if _AGAIN.fullmatch(text):
        return Plan(calls=[("optimise", {})])
    # everything else is a request in the shopper's words, read with the catalog's vocabulary by the tool
    return Plan(calls=[("update_preferences", {"request": message.strip()}), ("optimise", {})])
