"""Reading a shopper's free-text message into a structured request, by rules (docs/chat-relevance.md, "The
parser"): any order, several requests in one message, no fixed opening words.

Each rule consumes the words it understood, so what is left at the end is either search words (kept, and said
to be used as such) or not understood (and said to be ignored). Nothing is dropped silently. Product types and
brands are the catalog's (tools/recommend/catalog_terms.py); everything else is general vocabulary
(tools/recommend/vocabulary.py).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from tools.recommend.catalog_terms import CatalogTerms, TypeMatch
from tools.recommend.said_prices import (
    AROUND,
    BETWEEN,
    CURRENCY_ONLY,
    MAX,
    MIN,
    MOVES,
    PriceMove,
    amount,
    first_amount,
    said_currency,
)
from tools.recommend.type_phrases import compounds, head_noun, type_words
from tools.recommend.vocabulary import (
    AGE_WORDS,
    COLOURS,
    GENDER_WORDS,
    MATERIALS,
    NEGATIONS,
    NOUN_COLOURS,
    OCCASIONS,
    OTHER_SEX,
    RECIPIENTS,
    SIZE,
    STOPWORDS,
    singular,
)

_RATING = re.compile(r"\b(?:rated|rating|ratings?(?: of)?|reviews? of)\s*(?:at least|above|over|of|>=?)?\s*"
                     r"(\d(?:\.\d)?)\s*(?:\+|stars?|or (?:more|above|better))?"
                     r"|\b(\d(?:\.\d)?)\s*(?:\+\s*)?(?:stars?\b|or more stars)|\b([1-5](?:\.\d)?)\+(?=\s|$)")
_RATING_WORDS = re.compile(r"\b(?:well|highly|top|best|good|great)[ -]rated\b|\b(?:good|great|positive) reviews\b")
_COUNT = re.compile(r"\b(?:show(?: me)?|top|give me|list|just|only show)\s+(\d{1,2})\b(?!\s*(?:stars?|\+|k\b))"
                    r"|\b(\d{1,2})\s+(?:products|options|items|results|suggestions|ideas|choices|of them)\b")
_RANK = r"(?:#|no\.?\s*|number\s*)?(\d{1,2})\b"
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
_LIKE = re.compile(rf"\b(?:more like|similar to|something like|like|same as)\s+(?:product\s+|the\s+)?{_RANK}"
                   rf"|\b(?:more like|similar to|something like|like)\s+the\s+(first|second|third|fourth|fifth)"
                   rf"(?:\s+one)?\b")
_RESET = re.compile(r"\b(?:start(?:ing)? over|start again|reset|from scratch|forget (?:it all|everything)|"
                    r"clear (?:all|everything)|new search)\b")
_ANY = {"colour": re.compile(r"\b(?:any|whatever) colou?rs?\b|\bcolou?r doesn'?t matter\b"),
        "brand": re.compile(r"\b(?:any|whatever) brands?\b|\bbrand doesn'?t matter\b"),
        "price": re.compile(r"\b(?:any price|no budget|price doesn'?t matter|forget the budget|no price limit|"
                            r"money is no (?:object|issue)|remove the budget)\b")}
_ANOTHER_COLOUR = re.compile(r"\b(?:another|other|different|a different)\s+colou?rs?\b")
_NEGATION = re.compile(r"\b(?:" + "|".join(NEGATIONS) + r")\s+(?:the\s+|any\s+|more\s+)?(?:brands?\s+)?$")
# "make: Sony" names a maker; "make the bedroom cosy" does not
_ONLY_BEFORE = re.compile(r"\b(?:only|just|by|from|brand)\s+(?:the\s+)?(?:brands?\s+)?$|\bmake\s*:\s*$")
_FOR = re.compile(r"\bfor\s+(?:my|a|an|the|his|her|our|your|me and my)?\s*(?:little|young|old|elder|older|younger|"
                  r"teenage|new|dear|best)?\s*([a-z']+)")
_MY = re.compile(r"\b(?:my|our)\s+(?:little|young|elder|older|younger|teenage|dear|best)?\s*([a-z']+)")
_AGE = re.compile(r"\b(\d{1,2})[- ]?(?:years?|yrs?|yo)(?:[- ]old)?\b|\baged? (\d{1,2})\b")
# A shopper asking for something: a message with these is a request even when its words match no category well.
_ASKS = re.compile(r"\b(?:i|we)(?: really)? (?:need|want|would like|'d like|am looking|'m looking)\b|\blooking for\b|"
                   r"\b(?:searching|shopping) for\b|\b(?:find|get|show) me\b|\brecommend\b|\bsuggest\b|"
                   r"\bdo you (?:have|sell|stock)\b|\bsomething (?:to|for|that)\b|\bany (?:ideas|suggestions)\b|"
                   r"\b(?:buy|gift|present) for\b|\b(?:is|are) there (?:a|an|any)\b")
# "noise cancelling", "water resistant": a word followed by one of these describes a feature, it names no maker
_FEATURE_AFTER = re.compile(r"[\s-]+[a-z]+(?:ing|ed|proof|free|resistant)\b")


class ParsedRequest(BaseModel):
    """What one message asks for. Empty fields were not asked for."""

    said: str
    product_type: str | None = None  # the words that named it
    categories: list[str] = Field(default_factory=list)
    type_how: str = ""  # lexicon, synonym, meaning, unknown
    nearest: list[str] = Field(default_factory=list)  # an unknown type's closest categories
    type_similarity: float = 1.0  # of a type resolved by meaning (or of the nearest category, when unknown)
    colours: list[str] = Field(default_factory=list)
    not_colours: list[str] = Field(default_factory=list)
    another_colour: bool = False
    materials: list[str] = Field(default_factory=list)
    size: str | None = None
    gender: str | None = None
    recipient: str | None = None
    occasion: str | None = None
    only_brands: list[str] = Field(default_factory=list)
    exclude_brands: list[str] = Field(default_factory=list)  # as said when not a catalog brand
    min_price: float | None = None
    max_price: float | None = None
    price_move: PriceMove | None = None
    min_rating: float | None = None
    k: int | None = None
    like_rank: int | None = None
    reset: bool = False
    objective: Literal["relevance", "revenue", "mixed"] | None = None
    clear: list[Literal["colour", "brand", "price"]] = Field(default_factory=list)
    currency: str | None = None  # ISO code of a currency said with an amount ("30 dollars" -> USD)
    age: int | None = None  # "a 10 year old"
    asks: bool = False  # the message asks for something ("I need ...", "do you have ..."), whatever it names
    search_words: list[str] = Field(default_factory=list)  # content words kept as search terms
    ignored: list[str] = Field(default_factory=list)  # words not understood at all

    def understood(self) -> bool:
        """Whether anything beyond the words themselves was understood."""
        skip = {"said", "nearest", "type_how", "ignored", "product_type", "search_words", "type_similarity", "asks"}
        return any(v not in (None, False, [], "") for k, v in self.model_dump().items() if k not in skip)


class _Text:
    """The message with what has been understood blanked out."""

    def __init__(self, text: str) -> None:
        self.text = text

    def take(self, pattern: re.Pattern) -> list[re.Match]:
        found = list(pattern.finditer(self.text))
        for m in found:
            self.text = self.text[:m.start()] + " " * (m.end() - m.start()) + self.text[m.end():]
        return found

    def blank(self, start: int, end: int) -> None:
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]


def _prices(text: _Text, out: ParsedRequest) -> None:
    amounts: list[re.Match] = []
    for m in text.take(BETWEEN):
        g = m.groups()
        if g[0]:
            low, high = amount(g[0], g[1]), amount(g[2], g[3])
        else:
            low, high = (amount(g[4], None), amount(g[5], None)) if g[4] else (amount(g[6], None),
                                                                                 amount(g[7], None))
        out.min_price, out.max_price = min(low, high), max(low, high)
        amounts.append(m)
    for m in text.take(AROUND):
        value = first_amount(m)
        if value:
            out.min_price, out.max_price = round(value * 0.8, 2), round(value * 1.2, 2)
            amounts.append(m)
    for m in text.take(MAX):
        out.max_price = first_amount(m)
        amounts.append(m)
    for m in text.take(MIN):
        out.min_price = first_amount(m)
        amounts.append(m)
    if out.max_price is None and out.min_price is None:
        for m in text.take(CURRENCY_ONLY):  # "₹1500" alone: a budget
            out.max_price = amount(m.group(1), m.group(2)) if m.group(1) else amount(m.group(3), None)
            amounts.append(m)
    out.currency = said_currency(amounts)
    for move, pattern in MOVES:
        if text.take(pattern) and out.price_move is None:
            out.price_move = move
    if out.price_move == "low" and (out.max_price is not None or out.min_price is not None):
        out.price_move = None  # "budget 1500" named the amount


def _brands(text: _Text, terms: CatalogTerms, out: ParsedRequest) -> None:
    """Catalog brands named in the message: after a negation they are left out, else only they are shown."""
    present = set(re.findall(r"[a-z0-9&'.!@-]+", text.text))
    for key in sorted((k for k in terms.brand_words if present.issuperset(k)), key=len, reverse=True):
        pattern = r"(?<![\w'])" + r"\s+".join(re.escape(w) for w in key) + r"(?![\w'])"
        for m in list(re.finditer(pattern, text.text)):
            before = text.text[:m.start()]
            single_common = len(key) == 1 and (key[0] in STOPWORDS or key[0] in COLOURS or key[0] in MATERIALS
                                               or key[0] in OCCASIONS or singular(key[0]) in type_words(terms)
                                               or key[0] in RECIPIENTS or key[0] in GENDER_WORDS
                                               or key[0] in terms.ambiguous_brands or len(key[0]) <= 2
                                               or _FEATURE_AFTER.match(text.text, m.end()) is not None)
            if single_common and not (_NEGATION.search(before) or _ONLY_BEFORE.search(before)):
                continue  # "new", "black", "denim": a brand only when said as one ("not Denim", "only Denim")
            brand = terms.brand_words[key]
            (out.exclude_brands if _NEGATION.search(before) else out.only_brands).append(brand)
            text.blank(m.start(), m.end())
            if after := re.match(r"\s+(?:only|please|pls|brand)\b", text.text[m.end():]):  # "levis only"
                text.blank(m.end(), m.end() + after.end())
            if neg := _NEGATION.search(before):
                text.blank(neg.start(), m.start())
            elif only := _ONLY_BEFORE.search(before):
                text.blank(only.start(), m.start())


def _brand_parts(text: _Text, terms: CatalogTerms, out: ParsedRequest) -> None:
    """'not Benetton', 'only Tourister': the distinctive word of a longer brand name, said as a brand."""
    for m in list(re.finditer(r"[a-z][a-z'&.-]+", text.text)):
        brands = terms.brand_parts.get(m.group())
        before = text.text[:m.start()]
        if not brands:
            continue
        if neg := _NEGATION.search(before):
            out.exclude_brands += [b for b in brands if b not in out.exclude_brands]
            text.blank(neg.start(), m.end())
        elif only := _ONLY_BEFORE.search(before):
            out.only_brands += [b for b in brands if b not in out.only_brands]
            text.blank(only.start(), m.end())


def _negated_unknowns(text: _Text, terms: CatalogTerms, out: ParsedRequest) -> None:
    """'not Foo' where Foo is no colour, material or product type: a brand the catalog may not have (checked
    later, and answered with close names)."""
    pattern = re.compile(r"\b(?:not|no|without|except|exclude|avoid|forget|drop|hide|nothing from)\s+(?:the\s+)?"
                         r"(?:brands?\s+)?([a-z0-9][\w&'.-]*)")
    for m in list(pattern.finditer(text.text)):
        word = m.group(1)
        if word in COLOURS or word in MATERIALS or word in STOPWORDS or word in OCCASIONS or word in RECIPIENTS \
                or singular(word) in type_words(terms) or word.isdigit():
            continue
        out.exclude_brands.append(word)
        text.blank(m.start(), m.end())


def _colours(text: _Text, out: ParsedRequest) -> None:
    if text.take(_ANOTHER_COLOUR):
        out.another_colour = True
    if text.take(_ANY["colour"]):
        out.clear.append("colour")
    names = "|".join(sorted((re.escape(c) for c in COLOURS), key=len, reverse=True))
    for m in list(re.finditer(rf"\b(?:(not|no|without|except|avoid|nothing)\s+(?:in\s+)?)?({names})\b"
                              rf"(?:\s+(?:colou?red|colou?r|one|ones|shade))?", text.text)):
        if m.group(2) in NOUN_COLOURS and _ends_noun_phrase(text.text, m.start(2), m.end(2)):
            continue  # "face cream", "red wine": the word is the thing, not its colour
        colour = COLOURS[m.group(2)]
        target = out.not_colours if m.group(1) else out.colours
        if colour not in target:
            target.append(colour)
        text.blank(m.start(), m.end())
    text.take(re.compile(r"\b(?:in|colou?r)\s+(?=\s*$)"))


def _ends_noun_phrase(text: str, start: int, end: int) -> bool:
    """The word at [start, end) follows a content word and ends its phrase: a noun there, not an adjective."""
    before = re.search(r"([a-z]+)\s+$", text[:start])
    after = re.match(r"\s*([a-z]+)", text[end:])
    follows_word = before is not None and before.group(1) not in STOPWORDS and before.group(1) not in COLOURS
    return follows_word and (after is None or after.group(1) in STOPWORDS)


def _materials(text: _Text, out: ParsedRequest) -> None:
    names = "|".join(sorted((re.escape(m) for m in MATERIALS), key=len, reverse=True))
    for m in list(re.finditer(rf"\b(?:made (?:of|from)\s+|in\s+)?({names})\b", text.text)):
        material = MATERIALS[m.group(1)]
        if material not in out.materials:
            out.materials.append(material)
        text.blank(m.start(), m.end())


def _people(text: _Text, out: ParsedRequest) -> None:
    for m in text.take(_AGE):  # "my 10 year old nephew": a child's age says the kids' range
        out.age = int(m.group(1) or m.group(2))
        if out.age <= 12:
            out.gender = out.gender or "kids"
    if m := re.search(r"\b(?:baby|little|infant|toddler)\s+(boy|girl)s?\b", text.text):  # "my baby boy"
        out.gender, out.recipient = f"{m.group(1)}s", m.group(0)
        text.blank(m.start(), m.end())
    # "for my wife", or "my wife loves cooking": whom the present is for
    for m in [*_FOR.finditer(text.text), *_MY.finditer(text.text)]:
        word = m.group(1)
        if not text.text[m.start():m.end()].strip():
            continue  # already read as "for my ..."
        if word in RECIPIENTS:
            out.recipient = out.recipient or word
            out.gender = (RECIPIENTS[word] or out.gender) if out.gender in (None, "kids") else out.gender
            text.blank(m.start(), m.end())
    for m in list(re.finditer(r"(?<![\w])(mens|men's|men|womens|women's|women|ladies'?|male|female|unisex|boys'?|"
                              r"girls'?|kids'?|baby|babies)(?![\w])", text.text)):
        word = m.group(1)
        gender = GENDER_WORDS.get(word) or RECIPIENTS.get(word.rstrip("'")) or None
        out.gender = out.gender or gender
        text.blank(m.start(), m.end())


def _occasion(text: _Text, terms: CatalogTerms, out: ParsedRequest) -> None:
    names = "|".join(sorted(OCCASIONS, key=len, reverse=True))
    for m in list(re.finditer(rf"\b(?:for (?:a |the |my )?|to (?:a |the )?)?({names})(?:\s+(?:wear|use|gift))?\b",
                              text.text)):
        after = re.match(r"\s*([a-z]+(?:-[a-z]+)?)", text.text[m.end(1):])
        word = singular(m.group(1))
        if (word,) in terms.lexicon or (after and terms.lexicon_types([word, singular(after.group(1))])[:1]
                                        and terms.lexicon_types([word, singular(after.group(1))])[0][:2] == (0, 2)):
            continue  # it names a product type of this catalog ("yoga", "running shoes"): the type reads it
        out.occasion = out.occasion or OCCASIONS[m.group(1)]
        text.blank(m.start(), m.end())


def parse(message: str, terms: CatalogTerms) -> ParsedRequest:
    """The structured request in ``message``; see the module docstring."""
    said = " ".join(message.split())
    text = _Text(said.casefold().replace("’", "'"))
    out = ParsedRequest(said=said, asks=_ASKS.search(text.text) is not None)
    if text.take(_RESET):
        out.reset = True
    for m in text.take(_LIKE):
        out.like_rank = int(m.group(1)) if m.group(1) else _ORDINALS[m.group(2)]
    for m in text.take(_COUNT):
        out.k = int(m.group(1) or m.group(2))
    for m in text.take(_RATING):
        out.min_rating = float(next(g for g in m.groups() if g))
    if out.min_rating is None and text.take(_RATING_WORDS):
        out.min_rating = 4.0
    for key in ("brand", "price"):
        if text.take(_ANY[key]):
            out.clear.append(key)
    _prices(text, out)
    _brands(text, terms, out)
    _brand_parts(text, terms, out)
    _colours(text, out)
    _materials(text, out)
    if m := SIZE.search(text.text):
        out.size = next(g for g in m.groups() if g)
        text.blank(m.start(), m.end())
    _people(text, out)
    _occasion(text, terms, out)
    _negated_unknowns(text, terms, out)
    _types(text, terms, out)
    return out


def _for_age(names: list[str], out: ParsedRequest) -> list[str]:
    """Categories for babies or children ("Baby Bedsheets", "Kids' Watches") only when the request is for one, as
    long as others remain."""
    said = set(re.findall(r"[a-z]+", (out.recipient or "").casefold()))
    other = OTHER_SEX.get(out.gender or "", set())
    if out.gender not in ("baby", "kids", "boys", "girls") and not said & AGE_WORDS:
        names = [n for n in names if not AGE_WORDS & set(re.findall(r"[a-z]+", n.casefold()))] or names
    return [n for n in names if not other & set(re.findall(r"[a-z]+", n.casefold()))] or names


def _types(text: _Text, terms: CatalogTerms, out: ParsedRequest) -> None:
    found = [m for m in re.finditer(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.text)
             if m.group() not in STOPWORDS and not m.group().isdigit() and len(m.group()) > 1]
    content = [m.group() for m in found]
    tokens = [singular(w) for w in content]
    spans = compounds(terms.lexicon_types(tokens), found, text.text)
    # "a wallet and a belt" asks for both; in "a bag for my laptop" the second type only describes the first
    said = out.said.casefold()
    spans = spans[:1] + [s for prev, s in zip(spans, spans[1:])
                         if re.search(r"\b(?:and|or)\b|,|/", said[found[prev[1] - 1].end():found[s[0]].start()])]
    spans = [(a, b, _for_age(names, out), how) for a, b, names, how in spans]
    used: set[int] = set()
    head = head_noun(found, text.text, spans[0], terms) if spans else None
    if head:
        index, match, phrase = head  # a category it names, or none: then searched by meaning, the nearest named
        start, end = min(index, spans[0][0]), max(index + 1, spans[0][1])
        spans[0], out.type_similarity = (start, end, match.categories, match.how), match.similarity
        out.nearest = [] if match.categories else match.nearest
    if spans:
        names: list[str] = []
        for start, end, categories, how in spans:
            names += [c for c in categories if c not in names]
            used |= set(range(start, end))
            out.type_how = out.type_how or how
        out.product_type = phrase if head else " ".join(content[i] for i in sorted(used))
        out.categories = names
    rest = [content[i] for i in range(len(content)) if i not in used]
    if spans:
        out.search_words = rest  # "slim", "analog": kept as search words
        return
    if not rest:
        return
    match: TypeMatch = terms.by_meaning(" ".join(rest))
    out.type_similarity = match.similarity
    if match.categories:
        out.product_type, out.categories, out.type_how = " ".join(rest), match.categories, "meaning"
    elif not out.understood() or (len(rest) <= 4 and match.similarity >= 0.3):
        out.product_type, out.type_how, out.nearest = " ".join(rest), "unknown", match.nearest
    elif out.asks:
        out.search_words = rest  # "a gift for my nephew who likes science": the words are what to look for
    else:
        out.ignored = rest
