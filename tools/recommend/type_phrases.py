"""Which words of a message name the product: neighbouring type words as one compound, and a type word that
only modifies the noun asked for ("laptop sleeve"). Used by the request parser (tools/recommend/request.py)."""

from __future__ import annotations

import re

from tools.recommend.catalog_terms import CatalogTerms
from tools.recommend.vocabulary import PACKAGING, singular


def type_words(terms: CatalogTerms) -> set[str]:
    return {w for key in terms.lexicon for w in key}


def compounds(spans: list, found: list[re.Match], text: str) -> list:
    """Neighbouring type words make one compound: "laptop battery" is a battery, "duffle bag" a duffel bag (the
    categories both words name, else the last word's)."""
    merged: list = []
    for span in spans:
        if merged and merged[-1][1] == span[0] and \
                not text[found[merged[-1][1] - 1].end():found[span[0]].start()].strip(" -"):
            start, _, names, how = merged[-1]
            shared = [n for n in span[2] if n in names]
            packaging = all(singular(found[i].group()) in PACKAGING for i in range(span[0], span[1]))
            kept = shared or (names if packaging else span[2])  # "deo combo": a deodorant, sold as a combo
            merged[-1] = (start, span[1], kept, how if shared or packaging else span[3])
        else:
            merged.append(span)
    return merged


_FOR_MY = re.compile(r"^\s*(?:for|to fit|that fits)\s+(?:(?:my|a|an|the|your|his|her|our)\s+)?$")


def head_noun(found: list[re.Match], text: str, span: tuple, terms: CatalogTerms) -> tuple | None:
    """A type word can be the modifier of the noun that names the product: "a laptop sleeve", "a sleeve for my
    laptop" ask for a sleeve, not a laptop. The pair is taken when the category nearest its meaning is not one
    of the type word's ("jeans slim" stays jeans): (the head word's index, the pair's TypeMatch, the phrase),
    else None."""
    start, end, categories, _ = span
    head = None
    if end < len(found) and _adjacent(text, found[end - 1], found[end]):
        head = end  # "laptop sleeve"
    elif start >= 1 and _FOR_MY.match(text[found[start - 1].end():found[start].start()]):
        head = start - 1  # "sleeve for my laptop"
    if head is None or not found[head].group().isalpha() or found[head].group() in type_words(terms):
        return None
    modifier = " ".join(found[i].group() for i in range(start, end))
    phrase = f"{modifier} {found[head].group()}"
    match = terms.by_meaning(phrase)
    nearest = match.categories or match.nearest[:1]
    if not nearest or set(nearest) & set(categories):
        return None
    return head, match, phrase


def _adjacent(text: str, left: re.Match, right: re.Match) -> bool:
    """Nothing but spaces or a hyphen between two words of the message (blanked parts read as spaces)."""
    return not text[left.end():right.start()].strip(" -")
