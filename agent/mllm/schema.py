"""The summary schema as the MLLM is asked for it: ``BehaviorSummary`` without the fields the summariser fills in
itself, whole for the structured-output arguments, without titles where a prompt quotes it."""

from __future__ import annotations

from typing import Any

from agent.mllm.cache import digest
from tools.schemas import BehaviorSummary

META_FIELDS = ("summariser", "frames_read")


def summary_schema() -> dict:
    """The JSON schema the model must answer with: the summary without the fields we fill in ourselves."""
    schema = BehaviorSummary.model_json_schema()
    for name in META_FIELDS:
        schema["properties"].pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    return schema


def _without_titles(value: Any, in_properties: bool = False) -> Any:
    """A JSON schema without its ``title`` annotations (pydantic's "Frame Ids" for ``frame_ids``); a property
    named ``title`` stays."""
    if isinstance(value, dict):
        return {key: _without_titles(item, key == "properties" and not in_properties)
                for key, item in value.items() if in_properties or key != "title"}
    if isinstance(value, list):
        return [_without_titles(item) for item in value]
    return value


def prompt_schema() -> dict:
    """The schema as the text-layer prompts quote it: ``summary_schema()`` without titles (a fifth shorter). The
    structured-output arguments keep the whole schema."""
    return _without_titles(summary_schema())


def summary_digest(summary: BehaviorSummary) -> str:
    return digest(summary.model_dump(mode="json"))
