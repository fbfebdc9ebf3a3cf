"""HTML for InteraShop (see :mod:`shop.server`). Every dynamic value goes through :func:`esc`.

Prices use plain thousands separators, not Indian lakh grouping: ``₹12,499`` and ``₹1,249,999``
(not ``₹12,49,999``), so OCR and simple parsers read them one way. Whole amounts drop the paise.

Stable hooks for browser scripts (``data-testid``): ``search-form``, ``search-input`` (``name="q"``),
``search-button``, ``category-nav``/``nav-link``, ``category-tile``, ``deals-row``, ``product-card``
and ``product-link`` (both with ``data-product-id``), ``product-card-title``/``-brand``/``-price``/
``-rating``, ``breadcrumb``/``breadcrumb-link``, ``product-page``, ``product-title``,
``product-brand``, ``product-price``, ``product-list-price``, ``product-discount``,
``product-rating``, ``product-rating-count``, ``product-colour``, ``product-image``,
``add-to-cart``, ``product-highlights``, ``product-description``, ``product-specs``/``spec-row``,
``similar-products``, ``filter-form``, ``filter-brand``, ``filter-min-price``, ``filter-max-price``,
``filter-min-rating``, ``filter-apply``, ``sort-option``, ``result-count``, ``no-results``,
``pagination``/``page-link``, ``subcategory-link``, ``error-page``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from catalog.models import Product
from shop.live import PANEL as LIVE_PANEL

PLACEHOLDER_IMAGE = "/static/placeholder.svg"
CURRENCY_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
SORT_LABELS = (("relevance", "Relevance"), ("price_asc", "Price: Low to High"),
               ("price_desc", "Price: High to Low"), ("rating", "Customer Rating"))
RATING_CHOICES = (4, 3, 2)


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def format_money(amount: float, currency: str = "INR") -> str:
    """``1299`` -> ``₹1,299``; ``1299.5`` -> ``₹1,299.50`` (plain thousands grouping)."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    text = f"{amount:,.0f}" if abs(amount - round(amount)) < 0.005 else f"{amount:,.2f}"
    return symbol + text


def plain_number(value: float) -> str:
    """``1500.0`` -> ``1500``, ``99.5`` -> ``99.5`` (for form values and query strings)."""
    return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")


def discount_percent(p: Product) -> int | None:
    """Whole-percent discount off the list price (MRP), or None when there is none."""
    if p.price is None or not p.list_price or p.list_price <= p.price:
        return None
    percent = round((p.list_price - p.price) / p.list_price * 100)
    return percent if percent >= 1 else None


def slugify(text: str) -> str:
    """``"Kitchen & Dining"`` -> ``"kitchen-dining"`` (the ``/c/<slug>`` of a category name)."""
    return "-".join(re.findall(r"[^\W_]+", text.lower())) or "category"


def product_href(product_id: str) -> str:
    return "/p/" + quote(product_id, safe="")


def category_href(slug: str) -> str:
    return "/c/" + quote(slug, safe="")


def nav_links(names: Sequence[str]) -> list[tuple[str, str]]:
    """The category names (in the given order) that fit the one-line 1248px nav bar (~10px a character)."""
    links, used = [], 0
    for name in names:
        if used + len(name) * 10 + 34 <= 1240:
            links.append((name, category_href(slugify(name))))
            used += len(name) * 10 + 34
    return links


def href(path: str, params: Sequence[tuple[str, str]] = ()) -> str:
    return path + ("?" + urlencode(list(params)) if params else "")


@dataclass(frozen=True)
class Chrome:
    """What every page's header and footer need."""

    shop_name: str
    nav: Sequence[tuple[str, str]]
    images: Mapping[str, str]
    query: str = ""
    live: bool = False  # show the "Recommended for you" panel (shop/live.py)

    def image_url(self, p: Product) -> str:
        return self.images.get(p.id, PLACEHOLDER_IMAGE)


@dataclass
class Listing:
    """A category or search result page (the current page's products only)."""

    heading: str
    base_path: str
    products: list[Product]
    total: int
    page: int
    pages: int
    filters: Any  # shop.server.Filters
    params: list[tuple[str, str]]  # the active filters and sort, without page
    fixed: list[tuple[str, str]] = field(default_factory=list)  # always kept, e.g. [("q", query)]
    brand_facets: list[tuple[str, int, bool]] = field(default_factory=list)
    breadcrumb: list[tuple[str, str | None]] = field(default_factory=list)
    subcategories: list[tuple[str, str, int]] = field(default_factory=list)
    query: str = ""
    page_size: int = 24


_SEARCH_ICON = ('<svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true"><circle cx="10" cy="10" '
                'r="6.5" fill="none" stroke="currentColor" stroke-width="2.6"/><path d="M15 15l5.5 5.5" '
                'stroke="currentColor" stroke-width="2.6" stroke-linecap="round"/></svg>')
_CART_SCRIPT = ("var c=document.querySelector('[data-testid=cart-count]');"
                "c.textContent=String(Number(c.textContent)+1);this.textContent='\u2713 Added to cart';")


def layout(chrome: Chrome, title: str, body: str, page_kind: str) -> str:
    nav = "".join(f'<a href="{esc(url)}" data-testid="nav-link">{esc(name)}</a>' for name, url in chrome.nav)
    shop = esc(chrome.shop_name)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} | {shop}</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" type="image/svg+xml" href="/static/logo.svg">
</head><body class="page-{esc(page_kind)}">
<header class="topbar" data-testid="site-header"><div class="wrap topbar-in">
<a class="logo" href="/" data-testid="logo"><img src="/static/logo.svg" alt="" width="36" height="36">
<span class="logo-text">{shop}<small>Shop smart</small></span></a>
<form class="search" action="/search" method="get" role="search" data-testid="search-form">
<input type="search" name="q" value="{esc(chrome.query)}" placeholder="Search for products, brands and more"
 aria-label="Search products" autocomplete="off" data-testid="search-input">
<button type="submit" aria-label="Search" data-testid="search-button">{_SEARCH_ICON}</button></form>
<div class="top-links"><span class="login">Login</span>
<span class="cart" data-testid="cart-link">Cart <b class="cart-count" data-testid="cart-count">0</b></span>
</div></div></header>
<nav class="catnav" data-testid="category-nav"><div class="wrap">{nav}</div></nav>
<main class="wrap main">{body}</main>
<footer class="footer"><div class="wrap">{shop} demo store &middot; prices in Indian Rupees
 (&#8377;) &middot; all data is served locally</div></footer>
{LIVE_PANEL if chrome.live else ""}
</body></html>"""


def rating_badge(p: Product, testid: str) -> str:
    if p.rating is None:
        return ""
    tone = "good" if p.rating >= 3.5 else "ok" if p.rating >= 2.5 else "bad"
    return f'<span class="badge badge-{tone}" data-testid="{testid}">{p.rating:.1f} &#9733;</span>'


def price_html(p: Product, prefix: str) -> str:
    """Price, struck MRP and discount; ``prefix`` picks the testids (``product`` or ``product-card``)."""
    if p.price is None:
        return f'<span class="price na" data-testid="{prefix}-price">Price not available</span>'
    price = esc(format_money(p.price, p.currency))
    parts = [f'<span class="price" data-testid="{prefix}-price">{price}</span>']
    off = discount_percent(p)
    if off and p.list_price:
        mrp = esc(format_money(p.list_price, p.currency))
        parts.append(f'<s class="mrp" data-testid="{prefix}-list-price">{mrp}</s>')
        parts.append(f'<span class="off" data-testid="{prefix}-discount">{off}% off</span>')
    return " ".join(parts)


def product_card(chrome: Chrome, p: Product) -> str:
    pid, title = esc(p.id), esc(p.title)
    brand = (f'<div class="card-brand" data-testid="product-card-brand">{esc(p.brand)}</div>'
             if p.brand else "")
    rating = ""
    if p.rating is not None:
        count = f'<span class="count">({p.rating_count:,})</span>' if p.rating_count is not None else ""
        rating = f'<div class="card-rating">{rating_badge(p, "product-card-rating")}{count}</div>'
    return f"""<article class="card" data-testid="product-card" data-product-id="{pid}">
<a class="card-link" href="{esc(product_href(p.id))}" data-testid="product-link" data-product-id="{pid}">
<div class="card-img"><img src="{esc(chrome.image_url(p))}" alt="{title}"></div>{brand}
<div class="card-title" data-testid="product-card-title" title="{title}">{title}</div></a>
{rating}<div class="card-price">{price_html(p, "product-card")}</div></article>"""


def breadcrumb(crumbs: Sequence[tuple[str, str | None]]) -> str:
    items = [f'<a href="{esc(url)}" data-testid="breadcrumb-link">{esc(label)}</a>' if url
             else f'<span class="here">{esc(label)}</span>' for label, url in crumbs]
    joined = '<span class="sep">&rsaquo;</span>'.join(items)
    return f'<nav class="breadcrumb" data-testid="breadcrumb">{joined}</nav>'


def strip(chrome: Chrome, title: str, products: Sequence[Product], testid: str,
          more: str | None = None) -> str:
    link = f'<a class="view-all" href="{esc(more)}">View all</a>' if more else ""
    cards = "".join(product_card(chrome, p) for p in products)
    return (f'<section class="strip" data-testid="{testid}"><div class="strip-head"><h2>{esc(title)}</h2>'
            f'{link}</div><div class="strip-row">{cards}</div></section>')


def home_page(chrome: Chrome, tiles: Sequence[tuple[str, str, Product | None, int]],
              rows: Sequence[tuple[str, str | None, Sequence[Product]]]) -> str:
    """Hero, the first deal row, category tiles (name, href, cover product, count), the other rows."""
    tile_html = []
    for name, url, cover, count in tiles:
        src = chrome.image_url(cover) if cover else PLACEHOLDER_IMAGE
        noun = "product" if count == 1 else "products"
        tile_html.append(f'<a class="tile" href="{esc(url)}" data-testid="category-tile">'
                         f'<span class="tile-img"><img src="{esc(src)}" alt=""></span>'
                         f'<span class="tile-name">{esc(name)}</span>'
                         f'<span class="tile-count">{count:,} {noun}</span></a>')
    best = max((discount_percent(p) or 0 for _, _, items in rows for p in items), default=0)
    tag = f"Up to {best}% off" if best else "Great prices"
    strips = [strip(chrome, title, items, "deals-row", more) for title, more, items in rows]
    body = (f'<section class="hero"><div><h1>Big Savings on Top Brands</h1><p>Watches, shoes, kitchen and '
            f'more &mdash; great prices, every day.</p></div><span class="hero-tag">{tag}</span></section>'
            + "".join(strips[:1])
            + f'<section class="panel"><h2 class="panel-title">Shop by category</h2>'
            f'<div class="tiles" data-testid="category-grid">{"".join(tile_html)}</div></section>'
            + "".join(strips[1:]))
    return layout(chrome, "Online Shopping for Watches, Fashion, Kitchen & More", body, "home")


def home_sections(cat: Any) -> tuple[list, list]:
    """What the home page features, from a :class:`shop.server.ShopCatalog`: category tiles (top-level
    categories, topped up with second-level ones) and deal rows of products that have photos."""
    tile_paths = cat.roots()[:12]
    if len(tile_paths) < 8:
        seconds = sorted((k for k in cat.path_counts if len(k) == 2), key=lambda k: (-cat.path_counts[k], k))
        tile_paths += seconds[: 8 - len(tile_paths)]
    tiles = [(path[-1], category_href(slugify(path[-1])),
              next((p for p in cat.in_paths({path}) if p.id in cat.images), None), cat.path_counts[path])
             for path in tile_paths]

    def varied(candidates: Iterable[Product], limit: int = 6) -> list[Product]:
        """Products with photos, at most two from one top-level category."""
        picked: list[Product] = []
        for p in candidates:
            if p.id in cat.images and sum(q.category == p.category for q in picked) < 2:
                picked.append(p)
        return picked[:limit]

    deals = sorted((p for p in cat.ordered if discount_percent(p)), key=lambda p: -(discount_percent(p) or 0))
    rows = [("Top deals", None, varied(deals)),
            ("Top rated", None, varied(p for p in cat.ordered if (p.rating or 0) >= 4.0))]
    for (root,) in cat.roots()[:3]:
        items = [p for p in cat.in_paths({(root,)}) if p.id in cat.images][:6]
        rows.append((f"Best of {root}", category_href(slugify(root)), items))
    return tiles, [row for row in rows if row[2]]


def _check(kind: str, name: str, value: str, label: str, testid: str, checked: bool, extra: str = "") -> str:
    return (f'<label class="check"><input type="{kind}" name="{name}" value="{esc(value)}" '
            f'data-testid="{testid}"{extra}{" checked" if checked else ""}> <span>{label}</span></label>')


def _filter_panel(view: Listing) -> str:
    f = view.filters
    fixed = view.fixed + ([("sort", f.sort)] if f.sort != "relevance" else [])
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fixed)
    brands = "".join(
        _check("checkbox", "brand", b, esc(b) + (f" <em>({n:,})</em>" if n else ""), "filter-brand", on,
               f' data-brand="{esc(b)}"') for b, n, on in view.brand_facets)
    ratings = "".join(_check("radio", "min_rating", str(r), f"{r}&#9733; &amp; above", "filter-min-rating",
                             f.min_rating == r) for r in RATING_CHOICES)
    ratings += _check("radio", "min_rating", "", "Any rating", "filter-min-rating", f.min_rating is None)
    low = "" if f.min_price is None else plain_number(f.min_price)
    high = "" if f.max_price is None else plain_number(f.max_price)
    brand_block = f"<fieldset><legend>Brand</legend>{brands}</fieldset>" if brands else ""
    clear = esc(href(view.base_path, view.fixed))
    return f"""<aside class="filters">
<form method="get" action="{esc(view.base_path)}" data-testid="filter-form">
<div class="filters-head"><h2>Filters</h2><a href="{clear}" data-testid="filter-clear">Clear all</a></div>
{hidden}{brand_block}
<fieldset><legend>Price (&#8377;)</legend><div class="price-range">
<input type="number" name="min_price" min="0" step="any" placeholder="Min" value="{esc(low)}"
 data-testid="filter-min-price"><span>to</span>
<input type="number" name="max_price" min="0" step="any" placeholder="Max" value="{esc(high)}"
 data-testid="filter-max-price"></div></fieldset>
<fieldset><legend>Customer Ratings</legend>{ratings}</fieldset>
<button type="submit" class="btn-apply" data-testid="filter-apply">Apply filters</button></form></aside>"""


def _pagination(view: Listing) -> str:
    if view.pages <= 1:
        return ""

    def link(number: int, label: str, current: bool = False) -> str:
        url = esc(href(view.base_path, [*view.fixed, *view.params, ("page", str(number))]))
        cls = ' class="current" aria-current="page"' if current else ""
        return f'<a{cls} href="{url}" data-testid="page-link" data-page="{number}">{label}</a>'

    near = range(max(1, view.page - 2), min(view.pages, view.page + 2) + 1)
    links, last = [link(view.page - 1, "&lsaquo; Previous")] if view.page > 1 else [], 0
    for number in sorted({1, view.pages, *near}):
        if number - last > 1:
            links.append('<span class="gap">&hellip;</span>')
        links.append(link(number, str(number), number == view.page))
        last = number
    if view.page < view.pages:
        links.append(link(view.page + 1, "Next &rsaquo;"))
    return (f'<nav class="pagination" data-testid="pagination"><span>Page {view.page} of {view.pages}</span>'
            f'{"".join(links)}</nav>')


def listing_page(chrome: Chrome, view: Listing) -> str:
    keep = view.fixed + [(k, v) for k, v in view.params if k != "sort"]
    def sort_link(key: str, label: str) -> str:
        url = esc(href(view.base_path, keep + ([("sort", key)] if key != "relevance" else [])))
        active = "active" if key == view.filters.sort else ""
        return f'<a class="{active}" data-testid="sort-option" data-sort="{key}" href="{url}">{label}</a>'

    sorts = "".join(sort_link(key, label) for key, label in SORT_LABELS)
    subs = "".join(f'<a href="{esc(url)}" data-testid="subcategory-link">{esc(name)} <em>{n:,}</em></a>'
                   for name, url, n in view.subcategories)
    start = (view.page - 1) * view.page_size + 1
    count = (f"Showing {start:,}&ndash;{start + len(view.products) - 1:,} of {view.total:,} products"
             if view.total else "0 products")
    if view.products:
        results = f'<div class="grid">{"".join(product_card(chrome, p) for p in view.products)}</div>'
    else:
        hint = f"for &ldquo;{esc(view.query)}&rdquo;" if view.query else "with these filters"
        results = (f'<div class="no-results" data-testid="no-results"><h2>Sorry, no results found {hint}</h2>'
                   f"<p>Check the spelling, try a more general word, or remove some filters.</p>"
                   f'<a class="btn-primary" href="/">Continue shopping</a></div>')
    body = f"""{breadcrumb(view.breadcrumb)}<div class="listing">{_filter_panel(view)}
<section class="results"><div class="results-head"><h1>{esc(view.heading)}</h1>
<span class="result-count" data-testid="result-count">{count}</span></div>
{f'<div class="subcats">{subs}</div>' if subs else ""}
<div class="sortbar"><b>Sort by</b>{sorts}</div>{results}{_pagination(view)}</section></div>"""
    return layout(chrome, view.heading, body, "listing")


def _spec_rows(p: Product) -> list[tuple[str, str]]:
    present = {k.casefold() for k in p.specifications}
    rows = [("Brand", p.brand)] if p.brand and "brand" not in present else []
    if p.colour and not present & {"colour", "color"}:
        rows.append(("Colour", p.colour))
    rows.append(("Category", " › ".join(p.category_path)))
    return rows + [(k, v) for k, v in p.specifications.items() if str(v).strip()]


def _section(title: str, inner: str) -> str:
    return f'<div class="pdp-section"><h2>{title}</h2>{inner}</div>' if inner else ""


def product_page(chrome: Chrome, p: Product, crumbs: Sequence[tuple[str, str | None]],
                 similar: Sequence[Product]) -> str:
    pid, title = esc(p.id), esc(p.title)
    brand = (f'<div class="pdp-brand" data-testid="product-brand">Brand: <b>{esc(p.brand)}</b></div>'
             if p.brand else "")
    rating = ""
    if p.rating is not None:
        count = ""
        if p.rating_count is not None:
            noun = "rating" if p.rating_count == 1 else "ratings"
            count = (f'<span class="rating-count" data-testid="product-rating-count">'
                     f"({p.rating_count:,} {noun})</span>")
        rating = f'<div class="pdp-rating">{rating_badge(p, "product-rating")}{count}</div>'
    colour = (f'<div class="pdp-colour" data-testid="product-colour">Colour: <b>{esc(p.colour)}</b></div>'
              if p.colour else "")
    tax = '<div class="tax">Inclusive of all taxes</div>' if p.price is not None else ""
    items = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in list(p.specifications.items())[:6])
    highlights = f'<ul class="highlights" data-testid="product-highlights">{items}</ul>' if items else ""
    text = p.description.strip()
    description = f'<p class="description" data-testid="product-description">{esc(text)}</p>' if text else ""
    specs = "".join(f'<tr data-testid="spec-row"><th>{esc(k)}</th><td>{esc(v)}</td></tr>'
                    for k, v in _spec_rows(p))
    body = f"""{breadcrumb(crumbs)}
<section class="pdp" data-testid="product-page" data-product-id="{pid}">
<div class="pdp-gallery"><div class="pdp-img">
<img src="{esc(chrome.image_url(p))}" alt="{title}" data-testid="product-image"></div>
<div class="pdp-actions">
<button type="button" class="btn-cart" data-testid="add-to-cart" data-product-id="{pid}"
 onclick="{esc(_CART_SCRIPT)}">Add to cart</button>
<button type="button" class="btn-buy" data-testid="buy-now" data-product-id="{pid}">Buy now</button>
</div></div>
<div class="pdp-info"><h1 class="pdp-title" data-testid="product-title">{title}</h1>
{brand}{rating}<div class="pdp-price">{price_html(p, "product")}</div>{tax}{colour}
{_section("Highlights", highlights)}{_section("Description", description)}
{_section("Specifications", f'<table class="specs" data-testid="product-specs">{specs}</table>')}
</div></section>"""
    if similar:
        body += strip(chrome, "Similar products", similar, "similar-products")
    return layout(chrome, p.title, body, "product")


def error_page(chrome: Chrome, status: int, message: str) -> str:
    heading = "Page not found" if status == 404 else "Something went wrong"
    body = (f'<section class="error-page" data-testid="error-page" data-status="{status}">'
            f'<div class="error-code">{status}</div><h1>{esc(heading)}</h1><p>{esc(message)}</p>'
            f'<a class="btn-primary" href="/">Back to home</a></section>')
    return layout(chrome, heading, body, "error")
