"""A product's type read from its title, and the match of a read type or trail to a vocabulary of names.

A product title names its type with a noun phrase, usually at the end of its first clause, after the brand,
the model and the pack size ("ESR 3 Pack for iPhone 16 Pro Max Screen Protector, Tempered Glass ..." ->
"Screen Protector"; "Acme X200 Analog Watch - For Men" -> "Analog Watch"). The rules are about how titles are
written anywhere, not about one shop: clauses end at commas, dashes, bars and brackets; "for"/"with" open a
modifier; a word with digits or inner capitals ("16", "iPhone", "X200"), or all in capitals ("ESR"), is a
brand or model, and so are the model suffixes that follow one ("16 Pro Max"); a count and its unit ("3 Pack")
is not the type. The type is the last two plain words of the first part that has any.
"""

from __future__ import annotations

import difflib
import re

_CLAUSE_END = re.compile(r"\s*(?:[,;|(\[{]|\s[-–—/]\s|:\s)\s*")
_MODIFIER = re.compile(r"\s+(?:compatible with|for|with|für|pour|para|per|voor|mit|avec|con)\s+", re.IGNORECASE)
_MODEL_SUFFIXES = frozenset(["pro", "max", "plus", "ultra", "mini", "lite", "se", "air", "neo", "edge", "fe", "gen"])
_COUNT_UNITS = frozenset(["pack", "packs", "pk", "pcs", "pc", "piece", "pieces", "count", "ct", "set", "sets",
                          "pair", "pairs", "units"])
_FUNCTION_WORDS = frozenset(["a", "an", "the", "and", "or", "of", "in", "on", "to", "by", "new"])
_PLAIN = re.compile(r"^[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*$")
TYPE_WORDS = 2  # a type is its head noun and at most one word before it ("Screen Protector")


def compact_text(text: str) -> str:
    """Letters and digits only, case-folded: how two spellings of a name compare ('T-Shirts' ~ 'Tshirts')."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def match_vocabulary(text: str, vocabulary: dict[str, str], cutoff: float = 0.82) -> str | None:
    """The vocabulary entry closest to ``text`` (keys are case-folded), tolerating OCR slips."""
    key = text.casefold().strip()
    if key in vocabulary:
        return vocabulary[key]
    close = difflib.get_close_matches(key, list(vocabulary), n=1, cutoff=cutoff)
    return vocabulary[close[0]] if close else None


def singular(word: str) -> str:
    """An English plural's singular by spelling (watches -> watch, batteries -> battery), compacted."""
    w = compact_text(word)
    if len(w) <= 3 or w.endswith(("ss", "us", "is")):
        return w
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "zes")):
        return w[:-2]
    return w[:-1] if w.endswith("s") else w


def _is_model(word: str) -> bool:
    """A brand or model token: digits, inner capitals ("iPhone", "MacBook"), or all capitals ("ESR")."""
    letters = re.sub(r"[^\w]", "", word)
    if not letters or any(c.isdigit() for c in letters):
        return bool(letters)
    if not letters.isupper() and any(c.isupper() for part in re.split(r"['’-]", word) for c in part[1:]):
        return True  # "iPhone", "MacBook"; not "Akku-Bohrschrauber" (a capital after a hyphen)
    return len(letters) >= 2 and letters.isupper()


def _type_words(words: list[str]) -> list[str]:
    """The type in one part of a title: its last run of plain words (after any brand, model or count)."""
    runs: list[list[str]] = [[]]
    after_model = False
    for word in words:
        bare = word.strip(".,;:!?\"'“”‘’")
        key = bare.casefold()
        if _is_model(bare) or (after_model and key in _MODEL_SUFFIXES) or key in _COUNT_UNITS or not _PLAIN.match(bare):
            after_model = _is_model(bare) or (after_model and key in _MODEL_SUFFIXES)
            runs.append([])
            continue
        after_model = False
        if key in _FUNCTION_WORDS:
            runs.append([])
            continue
        runs[-1].append(bare)
    found = next((run for run in reversed(runs) if run), [])
    return found[-TYPE_WORDS:]


def title_type(title: str, brand: str | None = None) -> str | None:
    """The product type a title names (its head noun phrase), or None when it names none (a bare model)."""
    clause = next((part for part in _CLAUSE_END.split(title) if part.strip()), "")
    words = clause.split()
    if brand:  # the brand at the title's start is not the type, even when written in plain words
        brand_words = [w.casefold() for w in brand.split()]
        if [w.casefold() for w in words[:len(brand_words)]] == brand_words:
            words = words[len(brand_words):]
    for part in _MODIFIER.split(" ".join(words)):
        found = _type_words(part.split())
        if found:
            return " ".join(found)
    return None


def lexical_matches(phrase: str, names: list[str]) -> list[str]:
    """Names whose head noun is the phrase's head noun (singular, spelling-insensitive): "Analog Watch" ->
    "Watches", "Wrist Watches"; "Cotton T-Shirt" -> "Tshirts"."""
    head = singular(phrase.split()[-1]) if phrase.split() else ""
    if not head:
        return []
    return [name for name in names if name.split() and singular(re.split(r"[\s&,]+", name.strip())[-1]) == head]


def vocabulary_trail(text: str, names: dict[str, str], keys: list[str]) -> list[str]:
    """A category trail OCR read without its separators ("Home  Watches  Wrist Watches", "HomeWatchesWrist
    Watches"): after one leading word outside the vocabulary (the trail's root link), two or more of the
    vocabulary's names and nothing else. ``names``: compacted name -> name; ``keys``: its keys, longest first.
    Names are matched on the text with everything but letters and digits dropped, longest first."""
    compact = compact_text(text)
    if not compact or len(text) > 100:
        return []
    for root in {compact_text(text.split()[0]), *(compact[:n] for n in range(2, 9))}:
        if not root or not compact.startswith(root) or root in names:
            continue
        rest, found = compact[len(root):], []
        while rest:
            key = next((k for k in keys if rest.startswith(k)), None)
            if key is None:
                break
            found.append(names[key])
            rest = rest[len(key):]
        if not rest and len(found) >= 2:
            return found
    return []
