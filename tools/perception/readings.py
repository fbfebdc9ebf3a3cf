"""What one screenshot shows (FrameReading), and how the readings of a session add up to the keyword summary.
Shared by the offline screen reader and the text-only eval method, which reads weblog titles the same way."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tools.perception import parsing
from tools.schemas import BehaviorSummary, Evidence, PriceRange, ProductCharacteristics, SeenProduct


@dataclass
class FrameReading:
    """What one screenshot shows, as parsed from its OCR lines."""

    frame_id: str
    kind: str = "other"  # product | listing | other
    category_path: list[str] = field(default_factory=list)
    title: str | None = None
    brand: str | None = None
    price: parsing.Price | None = None
    list_price: float | None = None
    rating: float | None = None
    rating_count: int | None = None
    colours: list[str] = field(default_factory=list)
    specifications: dict[str, str] = field(default_factory=dict)
    promotions: list[str] = field(default_factory=list)
    query: str | None = None
    card_prices: list[parsing.Price] = field(default_factory=list)
    price_ranges: list[tuple[float, float]] = field(default_factory=list)  # '₹500 - ₹1,500' filters, banners
    photo_box: tuple[int, int, int, int] | None = None  # where the product photo is: left of the price column
    photo_colour: str | None = None  # its dominant colour, named
    sources: dict[str, str] = field(default_factory=dict)  # field -> text-layer | ocr | markup | markup+seen
    visit_frame_ids: list[str] = field(default_factory=list)  # every frame of the page visit it was read from


def _evidence(counter: Counter, frames: dict[str, list[str]], total: int,
              sources: dict[str, list[str]] | None = None) -> list[Evidence]:
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [
        Evidence(value=value, frame_ids=frames[value], count=count, confidence=round(min(1.0, count / total), 3),
                 sources=(sources or {}).get(value, []))
        for value, count in ranked
    ]


def summarise_readings(readings: list[FrameReading], summariser: str) -> BehaviorSummary:
    """Aggregate per-frame readings into the keyword summary. Each product page counts once per product."""
    products: dict[str, SeenProduct] = {}
    keyed: dict[str, tuple[Counter, dict[str, list[str]]]] = defaultdict(lambda: (Counter(), defaultdict(list)))
    sources: dict[tuple[str, str], list[str]] = defaultdict(list)  # (keyword, value) -> sources that gave it

    def note(keyword: str, value: str, frame_id: str, source: str = "") -> None:
        counter, frames = keyed[keyword]
        if source and source not in sources[(keyword, value)]:
            sources[(keyword, value)].append(source)
        if frame_id not in frames[value]:
            frames[value].append(frame_id)
            counter[value] += 1

    for r in readings:
        if r.kind == "product" and r.title:
            key = r.title.casefold()
            first_view = key not in products
            products.setdefault(key, SeenProduct(
                title=r.title, brand=r.brand, price=r.price.amount if r.price else None, list_price=r.list_price,
                rating=r.rating, category=r.category_path[-1] if r.category_path else None, frame_id=r.frame_id,
                currency=r.price.currency if r.price and r.price.currency else None, sources=dict(r.sources),
            ))
            if first_view:
                if r.category_path:
                    note("types", r.category_path[-1], r.frame_id, r.sources.get("category_path", ""))
                if r.brand:
                    note("brands", r.brand, r.frame_id, r.sources.get("brand", ""))
                for colour in r.colours or ([r.photo_colour] if r.photo_colour else []):
                    note("colours", colour, r.frame_id)
                if r.rating is not None:
                    count = f" ({r.rating_count:,} ratings)" if r.rating_count else ""
                    note("reviews", f"{r.rating:.1f} stars{count}: {r.title}", r.frame_id)
        for name, value in r.specifications.items():
            note("specifications", f"{name}: {value}", r.frame_id)
        for promotion in r.promotions:
            note("promotions", promotion, r.frame_id)
        if r.query:
            note("queries", r.query, r.frame_id)

    detail_prices = [(p.price, p.frame_id) for p in products.values() if p.price is not None]
    listing_prices = [(pr.amount, r.frame_id) for r in readings if r.kind == "listing" for pr in r.card_prices]
    range_prices = [(amount, r.frame_id) for r in readings for pair in r.price_ranges for amount in pair]
    prices = detail_prices or listing_prices or range_prices
    price_range = PriceRange()
    if prices:
        amounts = sorted(amount for amount, _ in prices)
        if not detail_prices and len(amounts) >= 5:  # listing only: drop the outer tenth on each side
            cut = len(amounts) // 10
            amounts = amounts[cut : len(amounts) - cut]
        # The range's currency: the one the shopper's product pages showed most (INR when none was read).
        currencies = Counter(p.currency for p in products.values() if p.currency)
        price_range = PriceRange(
            lowest=amounts[0], highest=amounts[-1],
            currency=currencies.most_common(1)[0][0] if currencies else PriceRange().currency,
            frame_ids=sorted({frame_id for _, frame_id in prices}),
            confidence=0.9 if detail_prices else 0.5,
        )

    def _of(keyword: str) -> dict[str, list[str]]:
        return {value: found for (key, value), found in sources.items() if key == keyword}

    comparisons = _comparisons(list(products.values()))
    n_products = max(1, len(products))
    n_frames = max(1, len(readings))
    return BehaviorSummary(
        product_characteristics=ProductCharacteristics(
            types=_evidence(*keyed["types"], n_products, _of("types")),
            colours=_evidence(*keyed["colours"], n_products),
        ),
        price_range=price_range,
        brand_preferences=_evidence(*keyed["brands"], n_products, _of("brands")),
        specifications=_evidence(*keyed["specifications"], n_frames)[:15],
        reviews=_evidence(*keyed["reviews"], n_products),
        comparisons=comparisons,
        promotions=_evidence(*keyed["promotions"], n_frames),
        search_queries=_evidence(*keyed["queries"], n_frames),
        products_seen=list(products.values()),
        frames_read=sum(max(1, len(r.visit_frame_ids)) for r in readings),  # a page visit counts its frames
        summariser=summariser,
    )


def _comparisons(seen: list[SeenProduct]) -> list[Evidence]:
    """Products of the same category viewed one after another are taken as compared."""
    pairs = []
    for before, after in itertools.pairwise(seen):
        if before.category and before.category == after.category:
            pairs.append(Evidence(
                value=f"{before.title} vs {after.title}", frame_ids=[before.frame_id, after.frame_id],
                confidence=0.5,
            ))
    return pairs
