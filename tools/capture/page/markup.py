"""Page markup recorded with a page: the structured data a shop publishes about its product (JSON-LD, microdata,
OpenGraph), read with ``extruct`` when the page's HTML is at hand (our own browser, a saved page).

Only what describes products is kept (schema.org Product, Offer, ProductGroup, BreadcrumbList items and the
OpenGraph/product properties), so nothing else of the page (account names, tracking ids) is stored with it.
It is evidence of its own, read in ``tools.perception.page.markup``; it never replaces what the shopper saw.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

SYNTAXES = ["json-ld", "microdata", "opengraph"]
_KEPT_TYPES = {"product", "productgroup", "offer", "aggregateoffer", "breadcrumblist", "individualproduct",
               "productmodel", "car", "book", "vehicle"}
_OG_PREFIXES = ("og:title", "og:type", "og:brand", "og:price", "product:", "og:site_name")
MAX_HTML_CHARS = 3_000_000  # a larger page is read up to this point (extruct's parse time grows with it)
# The parts of a live page's HTML that carry its markup, as one small document for ``extract_markup``: the root
# element's start tag (its namespace prefixes), the head's meta tags (OpenGraph is read from the head only), each
# JSON-LD script and each outermost microdata item (the whole page when the body is an item or an item uses
# ``itemref``: the parts would not say the same there). Copying these is far cheaper than serialising the whole
# document (Playwright's ``page.content()`` also builds an isolated world on each new document: some 20 ms), and
# extruct then parses kilobytes, not the megabytes of a real shop's page. Run in the page's main world.
MARKUP_HTML = """(() => {
  const root = document.documentElement;
  if (!root) return '';
  // The whole page when it is one item, or when an item takes properties from elsewhere in it (itemref): rare.
  if ((document.body && document.body.closest('[itemscope]')) || document.querySelector('[itemscope][itemref]')) {
    return root.outerHTML;
  }
  const parts = [root.cloneNode(false).outerHTML.replace(/<\\/html>$/i, ''), '<head>'];
  const outside = (e) => !(e.parentElement && e.parentElement.closest('[itemscope]'));
  const copy = (selector, within) => {
    for (const e of within.querySelectorAll(selector)) if (outside(e)) parts.push(e.outerHTML);
  };
  if (document.head) copy('meta', document.head);
  copy('script[type="application/ld+json"]', document);
  parts.push('</head><body>');
  copy('[itemscope]', document);
  parts.push('</body></html>');
  return parts.join('');
})()"""


def _types(item: dict[str, Any]) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1].casefold() for k in kinds if k}


def _product_items(items: list[Any]) -> list[dict[str, Any]]:
    """Product-like items, looking inside JSON-LD ``@graph`` containers."""
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("@graph"), list):
            found.extend(_product_items(item["@graph"]))
        elif _types(item) & _KEPT_TYPES:
            found.append(item)
    return found


def extract_markup(html: str, url: str = "") -> dict[str, Any]:
    """``{"json-ld": [...], "microdata": [...], "opengraph": {...}}`` of the product markup of ``html``; empty
    lists and dict when there is none or the markup cannot be parsed."""
    import extruct  # imported here: the capture stage loads it only when a page's HTML is read

    result: dict[str, Any] = {"json-ld": [], "microdata": [], "opengraph": {}}
    if not html:
        return result
    try:
        data = extruct.extract(html[:MAX_HTML_CHARS], base_url=url or None, syntaxes=SYNTAXES, uniform=True,
                               errors="ignore")
    except (ValueError, TypeError, AttributeError) as exc:  # lxml or a syntax parser refusing the document
        log.debug("markup of %s unreadable: %s", url, exc)
        return result
    result["json-ld"] = _product_items(data.get("json-ld") or [])
    result["microdata"] = _product_items(data.get("microdata") or [])
    for item in data.get("opengraph") or []:
        if isinstance(item.get("@type"), str):  # extruct's uniform output files og:type under @type
            result["opengraph"].setdefault("og:type", item["@type"])
        for key, value in item.items():
            if isinstance(key, str) and key.startswith(_OG_PREFIXES) and isinstance(value, str):
                result["opengraph"].setdefault(key, value)
    return result
