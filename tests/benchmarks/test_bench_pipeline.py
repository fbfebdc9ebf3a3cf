"""The pipeline benchmark's browsing script, without a browser."""

from __future__ import annotations

import pytest

from benchmarks.pipeline import session_script
from catalog.files import load_products
from tools.capture.browse_script import parse_script


@pytest.mark.parametrize("pages", [1, 10, 25])
def test_script_visits_that_many_distinct_pages(pages: int) -> None:
    products = load_products()
    steps = parse_script(session_script(products, pages)).steps
    assert [s.action for s in steps] == ["goto"] * pages
    targets = [s.text for s in steps]
    assert len(set(targets)) == pages
    assert targets[0].startswith("/c/wrist-watches?")
    by_id = {p.id: p for p in products}
    for target in targets[1:]:
        product = by_id[target.removeprefix("/p/")]
        assert product.category_path[-1] == "Wrist Watches" and 500 <= product.price <= 1500


def test_script_refuses_impossible_sessions() -> None:
    products = load_products()
    with pytest.raises(ValueError):
        session_script(products, 0)
    with pytest.raises(ValueError):
        session_script(products, 10_000)
