"""Rendering results for people (rich tables on stdout) and for programs (one JSON object)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from tools.recommend.explain import money

stdout = Console(file=sys.stdout, soft_wrap=False, width=140)
stderr = Console(file=sys.stderr, width=140)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


def _value_list(evidence: list[dict[str, Any]], limit: int = 4) -> str:
    return ", ".join(f"{e['value']} (x{e['count']})" for e in evidence[:limit]) or "-"


def print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"Behaviour summary ({summary['summariser']}, {summary['frames_read']} screenshots)",
                  show_header=False, title_justify="left")
    chars = summary["product_characteristics"]
    prices = summary["price_range"]
    band = "-" if prices["lowest"] is None else \
        f"{money(prices['lowest'], prices['currency'])} - {money(prices['highest'], prices['currency'])}"
    rows = [
        ("type", _value_list(chars["types"])),
        ("colour", _value_list(chars["colours"])),
        ("price range", band),
        ("brands", _value_list(summary["brand_preferences"])),
        ("specifications", _value_list(summary["specifications"], 3)),
        ("reviews", _value_list(summary["reviews"], 2)),
        ("comparisons", str(len(summary["comparisons"]))),
        ("promotions", _value_list(summary["promotions"])),
        ("searches", _value_list(summary["search_queries"])),
        ("products seen", str(len(summary["products_seen"]))),
    ]
    for key, value in rows:
        table.add_row(key, value)
    stdout.print(table)


def print_recommendations(recs: list[dict[str, Any]], title: str = "Recommendations") -> None:
    table = Table(title=title, title_justify="left")
    for column in ("#", "product", "brand", "price", "score", "why"):
        table.add_column(column, overflow="fold")
    for rec in recs:
        price = "-" if rec["price"] is None else money(rec["price"], rec["currency"])
        table.add_row(str(rec["rank"]), f"{rec['title']}\n[dim]{rec['product_id']}[/dim]", rec["brand"] or "-",
                      price, f"{rec['score']:.3f}", "\n".join(rec["reasons"][:3]))
    stdout.print(table)


def print_timings(timings: dict[str, float]) -> None:
    stdout.print("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()))
