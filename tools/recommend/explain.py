"""Turn the optimiser's selection into ranked Recommendations, each with reasons that cite screenshots."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.schemas import Constraints, Recommendation

if TYPE_CHECKING:  # the solver (OR-Tools) is not loaded for formatting money at CLI start
    from tools.recommend.optimizer import Selection


def _said_turns(frame_ids: list[str]) -> list[int]:
    """The messages a term was typed in ("said:N" provenance), when it was typed rather than viewed."""
    return sorted({int(f.split(":", 1)[1]) for f in frame_ids if f.startswith("said:")})


def _as_said(turns: list[int]) -> str:
    return f", as you said (message {', '.join(map(str, turns))})"


def _cite(frame_ids: list[str]) -> str:
    frame_ids = [f for f in frame_ids if not f.startswith("said:")]
    if not frame_ids:
        return ""
    numbers = sorted({int(f.rsplit(":", 1)[1]) for f in frame_ids if ":" in f})
    shown = ", ".join(f"#{n}" for n in numbers[:4]) + (" ..." if len(numbers) > 4 else "")
    return f" (screenshots {shown})"


def money(amount: float, currency: str) -> str:
    symbol = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}.get(currency, f"{currency} ")
    return f"{symbol}{amount:,.0f}"


def recommendations(selection: Selection, constraints: Constraints) -> list[Recommendation]:
    result = []
    for rank, candidate in enumerate(selection.chosen, start=1):
        reasons = []
        for match, frames in candidate.matches.items():
            turns = _said_turns(frames)
            if match == "price in your range" and candidate.price is not None:
                band = f"{money(constraints.min_price or 0, candidate.currency)}-" \
                       f"{money(constraints.max_price or 0, candidate.currency)}"
                reasons.append(f"{money(candidate.price, candidate.currency)} is within your {band} band"
                               + (_as_said(turns) if turns else _cite(frames)))
            elif match == "price within your budget" and candidate.price is not None:
                reasons.append(f"{money(candidate.price, candidate.currency)} is within your budget of up to "
                               f"{money(constraints.max_price or 0, candidate.currency)}" + _as_said(turns))
            elif match.startswith("session: "):  # from the session model, not from a screenshot
                reasons.append(match.removeprefix("session: "))
            elif turns:  # typed by the shopper: cited as said, never as viewed
                reasons.append(f"{match}{_as_said(turns)}")
            else:
                reasons.append(f"matches the {match} you viewed" + _cite(frames))
        if candidate.rating is not None:
            reasons.append(f"rated {candidate.rating:.1f}/5")
        reasons.append(f"semantic match {candidate.similarity:.2f} to '{constraints.query}'")
        result.append(Recommendation(
            rank=rank, product_id=candidate.product_id, title=candidate.title, brand=candidate.brand,
            price=candidate.price, currency=candidate.currency,
            score=round(selection.choice_probability[candidate.product_id], 6), reasons=reasons,
        ))
    return result
