"""Browsing scripts written by people: one action per line, read into the same steps personas use.

    # lines starting with '#' are comments
    goto /                      an absolute URL, or a path on the start URL's site
    search analog watch
    category wrist-watches
    price 500 1500              the listing's price filter, low and high
    open 2                      the third product on the page (0 is the first)
    scroll 600                  pixels; negative scrolls up
    back
    dwell 3                     seconds, capturing at the capture rate
"""

from __future__ import annotations

from pathlib import Path

from tools.capture.personas import Persona, Step


class ScriptError(ValueError):
    """A browsing script has a line that cannot be read; the message names the file and line."""


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ScriptError(f"{where}: expected a number, got {text!r}") from None


def parse_script(text: str, name: str = "script") -> Persona:
    steps: list[Step] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{name}, line {number}"
        verb, _, rest = line.partition(" ")
        verb, rest = verb.lower(), rest.strip()
        words = rest.split()
        if verb in ("goto", "search", "category"):
            if not rest:
                raise ScriptError(f"{where}: '{verb}' needs an argument")
            steps.append(Step(action=verb, text=rest))
        elif verb == "price":
            if len(words) != 2:
                raise ScriptError(f"{where}: 'price' needs a low and a high amount, e.g. 'price 500 1500'")
            steps.append(Step(action="price_filter", amount=_number(words[0], where), upper=_number(words[1], where)))
        elif verb == "open":
            index = int(_number(words[0], where)) if words else 0
            if index < 0:
                raise ScriptError(f"{where}: 'open' takes a position from 0")
            steps.append(Step(action="open_result", index=index))
        elif verb == "scroll":
            steps.append(Step(action="scroll", amount=_number(words[0], where) if words else 600))
        elif verb == "back":
            steps.append(Step(action="back"))
        elif verb == "dwell":
            seconds = _number(words[0], where) if words else 1.0
            if seconds < 0 or seconds > 600:
                raise ScriptError(f"{where}: dwell between 0 and 600 seconds")
            steps.append(Step(action="dwell", amount=seconds))
        else:
            raise ScriptError(f"{where}: unknown action {verb!r}; use goto, search, category, price, open, "
                              "scroll, back or dwell")
    if not steps:
        raise ScriptError(f"{name}: no actions")
    return Persona(name=f"script:{name}", description=f"browsing script {name}", steps=steps)


def load_script(path: Path) -> Persona:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"cannot read browsing script {path}: {exc}") from exc
    return parse_script(text, path.name)
