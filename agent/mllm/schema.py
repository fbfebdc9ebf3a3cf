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


def _compact(value: Any, in_properties: bool = False) -> Any:
    """The same constraints in fewer characters: no ``default`` (the summary's own defaults apply to what the model
    leaves out), no description of a whole object (the prompts say what each keyword is; a field's description
    stays), and ``anyOf`` of one type and null as a list of two types."""
    if isinstance(value, list):
        return [_compact(item) for item in value]
    if not isinstance(value, dict):
        return value
    if in_properties:
        return {key: _compact(item) for key, item in value.items()}
    result = {key: _compact(item, key == "properties") for key, item in value.items()
              if key != "default" and not (key == "description" and "properties" in value)}
    options = result.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        other = next(o for o in options if o != {"type": "null"})
        if isinstance(other.get("type"), str) and "anyOf" not in other and "$ref" not in other:
            del result["anyOf"]
            result.update(other, type=[other["type"], "null"])
    return result


def prompt_schema() -> dict:
    """The schema as the text-layer prompts quote it: ``summary_schema()`` without titles and defaults, nullable
    types as type lists (about two fifths shorter, the same constraints). The structured-output arguments keep the
    whole schema."""
    return _compact(_without_titles(summary_schema()))


def summary_digest(summary: BehaviorSummary) -> str:
    return digest(summary.model_dump(mode="json"))
