"""Scripted shoppers: named browsing scripts over the demo shop, with the noise of real browsing
(an irrelevant click, going back, scrolling, dwelling)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Action = Literal["home", "goto", "search", "category", "price_filter", "open_result", "scroll", "back", "dwell"]


class Step(BaseModel):
    action: Action
    text: str = ""  # search terms or category slug
    index: int = 0  # which result to open (0 = first)
    amount: float = 0  # pixels to scroll, seconds to dwell, or the price filter's low end
    upper: float = 0  # the price filter's high end


class Persona(BaseModel):
    name: str
    description: str
    steps: list[Step] = Field(min_length=1)


def _s(action: Action, text: str = "", index: int = 0, amount: float = 0, upper: float = 0) -> Step:
    return Step(action=action, text=text, index=index, amount=amount, upper=upper)


PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in [
        Persona(
            name="watch-buyer",
            description="Looks for an analog wrist watch for about ₹500-1,500; glances at a mug on the way.",
            steps=[
                _s("home"), _s("search", "analog watch for men"), _s("price_filter", amount=500, upper=1500),
                _s("open_result", index=0), _s("scroll", amount=450), _s("back"),
                _s("open_result", index=2), _s("dwell", amount=1.0), _s("back"),
                _s("category", "coffee-mugs"), _s("back"),  # noise: a look at another category
                _s("open_result", index=4), _s("scroll", amount=450), _s("back"),
                _s("open_result", index=5),
            ],
        ),
        Persona(
            name="mug-gifter",
            description="Wants a printed ceramic coffee mug as a gift, ₹200-450.",
            steps=[
                _s("home"), _s("category", "coffee-mugs"), _s("price_filter", amount=200, upper=450),
                _s("open_result", index=0), _s("back"), _s("open_result", index=1), _s("scroll", amount=400),
                _s("back"), _s("open_result", index=3), _s("back"), _s("open_result", index=6),
            ],
        ),
        Persona(
            name="sneaker-fan",
            description="Browses casual shoes, ₹1,000-3,000.",
            steps=[
                _s("home"), _s("search", "casual shoes"), _s("price_filter", amount=1000, upper=3000),
                _s("open_result", index=0), _s("back"), _s("open_result", index=1), _s("scroll", amount=400),
                _s("back"), _s("open_result", index=2), _s("back"), _s("open_result", index=3),
            ],
        ),
    ]
}

DEMO_PERSONA = "watch-buyer"
