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
    # What the persona is after (documentation and eval ground truth; the pipeline never reads these).
    categories: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    budget: tuple[float, float] | None = None


def _s(action: Action, text: str = "", index: int = 0, amount: float = 0, upper: float = 0) -> Step:
    return Step(action=action, text=text, index=index, amount=amount, upper=upper)


PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in [
        Persona(
            name="watch-buyer",
            description="Looks for an analog wrist watch for about ₹500-1,500; glances at coffee mugs on the way.",
            categories=["Wrist Watches"], budget=(500, 1500),
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
            description="Wants a printed ceramic coffee mug as a gift, ₹200-450; likes Prithish and Rockmantra.",
            categories=["Coffee Mugs"], brands=["Prithish", "Rockmantra"], budget=(200, 450),
            steps=[
                _s("home"), _s("category", "coffee-mugs"), _s("price_filter", amount=200, upper=450),
                _s("open_result", index=0), _s("back"), _s("open_result", index=1), _s("scroll", amount=400),
                _s("back"), _s("category", "wall-decor-clocks"), _s("back"),  # noise
                _s("open_result", index=3), _s("back"), _s("open_result", index=6),
            ],
        ),
        Persona(
            name="perfume-lover",
            description="Compares men's deodorants and perfumes around ₹250-450.",
            categories=["Fragrances"], budget=(250, 450),
            steps=[
                _s("home"), _s("search", "perfume deodorant"), _s("price_filter", amount=250, upper=450),
                _s("open_result", index=0), _s("dwell", amount=1.0), _s("back"), _s("open_result", index=1),
                _s("back"), _s("open_result", index=0), _s("back"),  # back to the first: a comparison
                _s("open_result", index=3), _s("scroll", amount=400),
            ],
        ),
        Persona(
            name="bedroom-refresh",
            description="Shops for a double bedsheet set, ₹800-1,500, and looks at Raymond.",
            categories=["Bed Linen"], brands=["Raymond"], budget=(800, 1500),
            steps=[
                _s("home"), _s("category", "bed-linen"), _s("price_filter", amount=800, upper=1500),
                _s("open_result", index=0), _s("scroll", amount=500), _s("back"), _s("open_result", index=1),
                _s("back"), _s("search", "watch"), _s("back"),  # noise: an unrelated search
                _s("open_result", index=2), _s("back"), _s("open_result", index=4),
            ],
        ),
    ]
}

DEMO_PERSONA = "watch-buyer"


def pages_persona(urls: list[str], scrolls: int = 12, dwell_s: float = 0.6) -> Persona:
    """A shopper who opens each page in turn and reads it: the top, then scrolling down ``scrolls`` times,
    dwelling a little at each position (``interarec browse-and-recommend --url URL --url URL``)."""
    steps: list[Step] = []
    for url in urls:
        steps += [_s("goto", text=url), _s("dwell", amount=dwell_s)]
        for _ in range(scrolls):
            steps += [_s("scroll", amount=600), _s("dwell", amount=dwell_s / 2)]
    return Persona(name="pages", description=f"reads {len(urls)} page(s) given by address", steps=steps)
