"""Relevance scenarios: conversations written as shoppers type them, each turn with what must hold of the list
shown after it (docs/chat-relevance.md, "Scenarios").

A scenario file (YAML) names its catalog and the shared data set its products come from, then lists scenarios::

    catalog: demo
    data: myntra-fashion-products
    scenarios:
      - id: wallet-dad
        turns:
          - say: black leather wallet for my dad, under 1500
            expect: {category: [Wallets], colour: [black], material: [leather], gender: men, max_price: 1500}
          - say: brown and more premium
            expect: {colour: [brown], direction: pricier}

Expectations carry over from turn to turn (a refinement keeps what it does not change); a key set to null
drops it. ``direction`` (cheaper, pricier) and ``like`` (a rank of the previous list) hold for their own turn
only. The split file (split.yaml) lists the scenario ids of the frozen test split; every other id is dev.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

HERE = Path(__file__).parent
SCENARIOS = HERE / "scenarios"
SPLIT_FILE = HERE / "split.yaml"
ONE_TURN = ("direction", "like")  # keys that do not carry over to the next turn


class Expect(BaseModel):
    """What must hold of the list shown after a turn (all optional)."""

    model_config = ConfigDict(extra="forbid")

    category: list[str] | None = None  # any of these names in a product's category path
    colour: list[str] | None = None  # any of these colour words
    material: list[str] | None = None
    gender: Literal["men", "women", "boys", "girls", "kids"] | None = None
    max_price: float | None = None
    min_price: float | None = None
    brand_not: list[str] | None = None
    brand_only: list[str] | None = None
    direction: Literal["cheaper", "pricier"] | None = None  # mean price against the previous list
    like: int | None = None  # "more like #N": products of #N's category


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    say: str
    expect: dict = Field(default_factory=dict)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    catalog: str = ""
    data: str = ""  # the shared data set the products it asks for come from
    note: str = ""
    turns: list[Turn]

    def expectations(self) -> list[Expect]:
        """Each turn's expectations with what carries over from the turns before."""
        held: dict = {}
        out = []
        for turn in self.turns:
            held = {k: v for k, v in held.items() if k not in ONE_TURN}
            held.update(turn.expect)
            held = {k: v for k, v in held.items() if v is not None}
            out.append(Expect.model_validate(held))
        return out


def load_scenarios(folder: Path = SCENARIOS) -> list[Scenario]:
    scenarios: list[Scenario] = []
    for path in sorted(folder.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw in doc["scenarios"]:
            raw = {"catalog": doc["catalog"], "data": doc.get("data", ""), **raw}
            scenarios.append(Scenario.model_validate(raw))
    ids = [s.id for s in scenarios]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate scenario ids: {', '.join(duplicates)}")
    return scenarios


def test_ids(path: Path = SPLIT_FILE) -> list[str]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["test"])


def split(scenarios: list[Scenario], name: str, path: Path = SPLIT_FILE) -> list[Scenario]:
    """The scenarios of split ``name`` (dev, test or all)."""
    frozen = set(test_ids(path))
    unknown = frozen - {s.id for s in scenarios}
    if unknown:
        raise ValueError(f"the split file names unknown scenarios: {', '.join(sorted(unknown))}")
    if name == "all":
        return scenarios
    if name == "test":
        return [s for s in scenarios if s.id in frozen]
    if name == "dev":
        return [s for s in scenarios if s.id not in frozen]
    raise ValueError(f"unknown split {name!r}: dev, test or all")
