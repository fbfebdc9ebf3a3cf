"""What the chat asks when a message leaves something out, with examples taken from the catalog on hand.

The examples are built from the catalog's own largest categories, their usual colour and their prices, so they
fit any catalog (the demo shop's or a real one) and the request parser understands them as written.
"""

from __future__ import annotations

import statistics
from collections import Counter

from tools.recommend.catalog_terms import CatalogTerms

EXAMPLE_TYPES = 3  # categories named in a question


def _nice(amount: float) -> int:
    """A round budget near ``amount``: two significant digits (1,487 -> 1500, 263 -> 260)."""
    if amount < 10:
        return max(1, round(amount))
    digits = len(str(int(amount))) - 2
    return int(round(amount, -digits))


def top_categories(terms: CatalogTerms, n: int = EXAMPLE_TYPES) -> list[str]:
    """The catalog's ``n`` leaf categories with the most products (ties by name, so the answer is stable)."""
    counts = Counter(p.leaf_category for p in terms.products.values())
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def type_question(terms: CatalogTerms) -> str:
    """The one question for a request without a product type."""
    names = top_categories(terms)
    if not names:
        return "What kind of product are you looking for?"
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"What kind of product are you looking for, e.g. {listed}?"


def example_requests(terms: CatalogTerms) -> list[str]:
    """Two requests in free words about this catalog's products: a colour, a type and a budget; a type and a
    price range."""
    names = top_categories(terms, 2)
    examples = []
    for i, name in enumerate(names):
        products = [p for p in terms.products.values() if p.leaf_category == name]
        prices = sorted(p.price for p in products if p.price)
        kind = name.lower()
        if i == 0:
            colours = Counter(p.colour.lower() for p in products if p.colour)
            colour = f"{colours.most_common(1)[0][0]} " if colours else ""
            budget = f" under {_nice(statistics.median(prices))}" if prices else ""
            examples.append(f"{colour}{kind}{budget}")
        else:
            low, high = (prices[len(prices) // 4], prices[3 * len(prices) // 4]) if prices else (0, 0)
            band = f" between {_nice(low)} and {_nice(high)}" if prices and _nice(low) < _nice(high) else ""
            examples.append(f"{kind}{band}")
    return examples or ["black leather wallet for my dad, under 1500", "cheaper"]


def not_understood(said: str, terms: CatalogTerms, nearest: list[str] | None = None) -> str:
    """The answer to a message nothing could be taken from: say so, show two examples, ask one question."""
    near = f" The closest product types I know are {', '.join(nearest)}." if nearest else ""
    first, *rest = example_requests(terms)
    shown = f"'{first}'" + (f" or '{rest[0]}'" if rest else "")
    return (f"I did not understand '{said}' as a shopping request.{near} You can say, for example, {shown}. "
            + type_question(terms))
