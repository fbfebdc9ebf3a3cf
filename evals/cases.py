"""What every agent eval is made of: cases (a browsing session with its ground truth) and recommenders
(anything that ranks catalog products for a case), so every method is scored on the same cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tools.capture.personas import Persona


@dataclass(frozen=True)
class HiddenPreferences:
    """What a synthetic shopper is after; never shown to a recommender, only used for scoring."""

    category: str  # leaf category
    brands: tuple[str, ...] = ()
    price: tuple[float, float] | None = None
    colour: str | None = None


@dataclass(frozen=True)
class EvalCase:
    case_id: str
    dataset: str  # "synthetic" or "amazon-<domain>"
    viewed_ids: tuple[str, ...]  # catalog ids the shopper viewed, in order
    targets: frozenset[str]  # the relevant catalog ids (never among the viewed ones)
    persona: Persona  # how the browser reproduces the session on the shop
    hidden: HiddenPreferences | None = None  # synthetic shoppers only
    viewed_titles: tuple[str, ...] = ()  # the titles as a weblog records them (for the text-only method)
    length: int = field(default=0)  # session length in items, for the length buckets

    def __post_init__(self) -> None:
        if not self.length:
            object.__setattr__(self, "length", len(self.viewed_ids) + (1 if self.dataset != "synthetic" else 0))


class Recommender(Protocol):
    """A method under evaluation: ``fit`` on training sessions (lists of catalog ids), then rank per case."""

    name: str

    def fit(self, train_sessions: list[list[str]]) -> None: ...

    def recommend(self, case: EvalCase, k: int) -> list[str]: ...
