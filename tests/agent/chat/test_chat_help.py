"""`interarec chat --help` shows free sentences, and the parser reads them as the help says it does (on the
demo catalog: its own categories and brands)."""

from __future__ import annotations

import pytest

from agent.cli.chat import EXAMPLES
from agent.cli.main import build_parser
from catalog.files import load_products
from tools.recommend.catalog_terms import CatalogTerms
from tools.recommend.request import parse


def test_chat_help_shows_examples_of_free_sentences(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["chat", "--help"])
    shown = capsys.readouterr().out
    assert "black leather wallet for my dad, under 1500" in shown and "brown and more premium" in shown
    assert shown.count("\n") > EXAMPLES.count("\n")  # the lines stay lines (raw formatting)


@pytest.fixture(scope="module")
def terms():
    return CatalogTerms.from_products(load_products())


def _example(start: str) -> str:
    line = next(line for line in EXAMPLES.splitlines() if line.strip().startswith(start))
    return line.strip().split("  ")[0]


def test_the_help_examples_are_read_as_the_help_says(terms):
    wallet = parse(_example("black leather"), terms)
    assert wallet.categories and all("Wallet" in c for c in wallet.categories)
    assert (wallet.colours, wallet.materials, wallet.gender, wallet.max_price) == (["Black"], ["Leather"], "men",
                                                                                   1500.0)
    refine = parse(_example("brown and"), terms)
    assert refine.colours == ["Brown"] and refine.price_move == "premium" and not refine.categories
    shoes = parse(_example("running shoes"), terms)
    assert "Sports Shoes" in shoes.categories and (shoes.min_price, shoes.max_price) == (2000.0, 4000.0)
    first, second, third = (parse(part, terms) for part in _example("not Puma").split(" / "))
    assert first.exclude_brands == ["Puma"] and first.min_rating == 4.0
    assert second.only_brands == ["Levis"]  # the demo catalog's spelling
    assert third.k == 3
    assert parse("start over", terms).reset
