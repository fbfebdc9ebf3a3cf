"""Synthetic shoppers (evals/datasets/synthetic.py): deterministic draws, ground truth that follows the documented rule,
bounded noise, spread over categories, and one shopper really browsed on the demo shop."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from catalog.files import load_products
from evals.datasets.synthetic import MAX_STEPS, MIN_CATEGORY_SIZE, generate_shoppers, satisfies
from shop.pages import product_href, slugify
from tests.conftest import requires_chromium


@pytest.fixture(scope="module")
def products():
    return load_products()


@pytest.fixture(scope="module")
def by_id(products):
    return {p.id: p for p in products}


@pytest.fixture(scope="module")
def cases(products):
    return generate_shoppers(products)


def test_same_seed_gives_the_same_cases_whatever_the_product_order(products, cases):
    assert generate_shoppers(products, seed=0) == cases
    assert generate_shoppers(list(reversed(products)), seed=0) == cases


def test_another_seed_gives_other_cases(products, cases):
    other = generate_shoppers(products, n=50, seed=1)
    assert [c.viewed_ids for c in other] != [c.viewed_ids for c in cases]
    assert [c.hidden for c in other] != [c.hidden for c in cases]


def test_cases_have_the_documented_shape(cases):
    assert len(cases) == 50 and len({c.case_id for c in cases}) == 50
    for case in cases:
        assert case.dataset == "synthetic" and case.hidden is not None
        assert case.length == len(case.viewed_ids)
        steps = case.persona.steps
        assert len(steps) <= MAX_STEPS
        assert (steps[0].action, steps[0].text) == ("category", slugify(case.hidden.category))
        assert all(s.amount <= 0.6 for s in steps if s.action == "dwell")
        # every product opened is opened by URL, in the order of viewed_ids
        assert [s.text for s in steps if s.action == "goto"] == [product_href(i) for i in case.viewed_ids]


def test_viewed_products_exist_with_their_titles(cases, by_id):
    for case in cases:
        assert all(i in by_id for i in case.viewed_ids)
        assert case.viewed_titles == tuple(by_id[i].title for i in case.viewed_ids)


def test_hidden_preferences_are_drawn_from_the_category(cases, products):
    for case in cases:
        hidden = case.hidden
        members = [p for p in products if p.leaf_category == hidden.category and p.price is not None]
        assert len(members) >= MIN_CATEGORY_SIZE
        assert {b.casefold() for b in hidden.brands} <= {(p.brand or "").casefold() for p in members}
        assert len(hidden.brands) <= 2
        if hidden.colour:
            assert hidden.colour.casefold() in {(p.colour or "").casefold() for p in members}
        low, high = hidden.price
        assert 0 <= low < high
        assert sum(low <= p.price <= high for p in members) >= 5


def test_targets_are_every_unviewed_product_meeting_all_preferences(cases, products):
    for case in cases:
        meeting = {p.id for p in products if satisfies(p, case.hidden)}
        assert case.targets == meeting - set(case.viewed_ids)
        assert len(case.targets) >= 3
        assert case.targets.isdisjoint(case.viewed_ids)


def test_noise_is_one_event_in_about_sixty_percent_of_sessions(cases, by_id):
    noisy = 0
    for case in cases:
        off = [i for i in case.viewed_ids if not satisfies(by_id[i], case.hidden)]
        glances = [s for s in case.persona.steps[1:] if s.action == "category"]
        assert len(off) + len(glances) <= 1
        assert 3 <= len(case.viewed_ids) - len(off) <= 5  # the session is mostly on-preference views
        if glances:
            assert glances[0].text != slugify(case.hidden.category)
        noisy += bool(off or glances)
    assert 0.4 <= noisy / len(cases) <= 0.8


def test_shoppers_spread_over_categories_and_preference_kinds(cases):
    categories = Counter(c.hidden.category for c in cases)
    assert len(categories) >= 10
    assert categories.most_common(1)[0][1] <= 0.3 * len(cases)
    kinds = Counter((len(c.hidden.brands), c.hidden.colour is not None) for c in cases)
    assert sum(n for (brands, _), n in kinds.items() if brands == 0) >= 10  # some shoppers have no brand
    assert sum(n for (brands, _), n in kinds.items() if brands) >= 15
    assert sum(n for (brands, _), n in kinds.items() if brands == 2) >= 3
    assert sum(n for (_, colour), n in kinds.items() if colour) >= 3


@requires_chromium
@pytest.mark.browser
def test_a_shopper_browses_the_demo_shop_and_opens_the_products_it_viewed(cases, tmp_path):
    from agent.settings import load_settings
    from agent.wiring import browser_config, start_demo_shop
    from tools.capture.browser import ShopperBrowser
    from tools.capture.frames import FrameStore
    from tools.capture.shopper import run_persona

    # A session with every kind of step: price filter, noise, scroll/dwell/back.
    case = next(c for c in cases if {"price_filter", "scroll", "back"} <= {s.action for s in c.persona.steps}
                and len(c.viewed_ids) >= 4)
    frames = FrameStore(tmp_path / "frames")
    with start_demo_shop() as shop:
        session_id = frames.new_session(f"persona:{case.persona.name}")
        with ShopperBrowser(browser_config(load_settings()), frames, session_id) as browser:
            started = time.monotonic()
            run = run_persona(browser, shop.url, case.persona)
            elapsed = time.monotonic() - started
    assert run.failed_steps == [] and run.steps_done == len(case.persona.steps)
    urls = [f.url for f in run.frames]
    for product_id in case.viewed_ids:
        assert any(url.split("?")[0].endswith(product_href(product_id)) for url in urls), product_id
    assert elapsed < 20, elapsed
