"""The summariser boundary: anything that turns a session's frames into a BehaviorSummary."""

from __future__ import annotations

from typing import Protocol

from tools.schemas import BehaviorSummary, Frame


class SummariserError(RuntimeError):
    """The summariser could not produce a valid summary (endpoint failure, unusable answer)."""


class Summariser(Protocol):
    name: str

    def summarise(self, frames: list[Frame], previous: BehaviorSummary | None = None) -> BehaviorSummary:
        """Summarise ``frames``. With ``previous`` (a summary of earlier frames of the same session), frames
        already read are not read or paid for again."""
        ...
