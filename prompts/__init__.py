"""Prompt text as versioned package files, rendered strictly: a missing or an unused variable is an error."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


class PromptError(ValueError):
    """A prompt is missing or was rendered with the wrong variables."""


def template(name: str) -> str:
    try:
        return resources.files(__package__).joinpath("templates", f"{name}.txt").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptError(f"no prompt named {name!r}") from exc


def variables(name: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template(name)))


def render(name: str, **values: object) -> str:
    """Fill ``{{ variable }}`` placeholders; every placeholder must be given and every value used."""
    text = template(name)
    wanted = set(_PLACEHOLDER.findall(text))
    missing, extra = wanted - set(values), set(values) - wanted
    if missing or extra:
        raise PromptError(
            f"prompt {name!r}: missing {sorted(missing) or 'none'}, unexpected {sorted(extra) or 'none'}"
        )
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def prompt_hash(name: str) -> str:
    """Short hash of the template text, recorded with results so a prompt change is visible."""
    return hashlib.sha256(template(name).encode("utf-8")).hexdigest()[:12]
