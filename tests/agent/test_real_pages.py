"""A real shop's saved product page, served on 127.0.0.1 and browsed by address with the real browser: the summary
holds the product's type, brand and price as the page shows them, and recommendations come back with reasons.

The page is one of Zyte's product-extraction benchmark pages in ../shared/data (MIT, see its README); the test
is skipped where that data is not beside the checkout. Nothing here is the demo shop.
"""

from __future__ import annotations

import gzip
import io
import json
from contextlib import redirect_stdout
from http.server import BaseHTTPRequestHandler

import pytest
from rich.console import Console

from agent.cli import render
from agent.cli.main import main
from catalog.shared_data import shared_data_root
from tests.conftest import requires_chromium
from tests.local_site import serve

SHARED = shared_data_root()
ZYTE = SHARED / "product-pages-zyte" if SHARED else None
# A music shop's page (strumentimusicali.net): a KORG stage piano, 1599 EUR.
PAGE_ID = "ed4cb68e"


def _page() -> tuple[bytes, dict]:
    truth = json.loads((ZYTE / "ground-truth.json").read_text(encoding="utf-8"))
    page_id = next(key for key in truth if key.startswith(PAGE_ID))
    return gzip.decompress((ZYTE / "html" / f"{page_id}.html.gz").read_bytes()), truth[page_id]


@pytest.mark.skipif(ZYTE is None or not ZYTE.exists(), reason="shared data (../shared/data) not found")
@requires_chromium
@pytest.mark.browser
def test_a_saved_real_product_page_browsed_by_url_is_summarised_and_recommended(tmp_path, monkeypatch):
    html, truth = _page()

    class Shop(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # the saved page at /p, nothing else (its images and scripts are not saved)
            body, status = (html, 200) if self.path == "/p" else (b"not here", 404)
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")  # as the shop sent it (the saved file has
            # no charset of its own)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    monkeypatch.setenv("INTERAREC_PACE_S", "0")
    out = io.StringIO()
    with serve(Shop) as site, redirect_stdout(out):
        code = main(["browse-and-recommend", "--url", f"{site}/p", "--url", f"{site}/missing", "--json",
                     "--data-dir", str(tmp_path / "data")])
    assert code == 0
    result = json.loads(out.getvalue())
    summary = result["summary"]
    [seen] = summary["products_seen"]
    assert seen["price"] == float(truth["price"][0]) and seen["currency"] == "EUR"
    assert seen["brand"].casefold() == truth["brand"][0].casefold()
    # Seen on the screen (the shop's markup says the same, so the reader cites both), not from markup alone.
    assert seen["sources"]["price"] in ("text-layer", "markup+seen") and "price_seen" not in seen["sources"]
    assert summary["product_characteristics"]["types"], "the page's type is mapped to a catalog category"
    assert summary["price_range"]["currency"] == "EUR"
    # The catalog is in rupees: the answer says the euro band is not used, and still recommends.
    assert any("EUR" in note and "not used" in note for note in result["unmet"])
    assert result["recommendations"] and all(r["reasons"] for r in result["recommendations"])
    # The address that does not load is reported, and the other page was read all the same.
    assert any("/missing" in step and "404" in step for step in result["failed_steps"])


@pytest.mark.skipif(ZYTE is None or not ZYTE.exists(), reason="shared data (../shared/data) not found")
@requires_chromium
@pytest.mark.browser
def test_a_saved_page_on_disk_is_browsed_by_path_and_unopenable_addresses_are_skipped(tmp_path, monkeypatch, capsys):
    html, truth = _page()
    saved = tmp_path / "saved page.html"
    saved.write_bytes(html)
    monkeypatch.setenv("INTERAREC_PACE_S", "0")
    err = io.StringIO()
    monkeypatch.setattr(render, "stderr", Console(file=err, width=200, color_system=None))
    code = main(["browse-and-recommend", "--url", saved.as_uri(), "--url", "ftp://example.com/p",
                 "--url", str(tmp_path / "gone.html"), "--json", "--data-dir", str(tmp_path / "data")])
    captured = capsys.readouterr()
    assert code == 0
    assert "ftp://example.com/p" in err.getvalue() and "gone.html" in err.getvalue() and "skipped" in err.getvalue()
    [seen] = json.loads(captured.out)["summary"]["products_seen"]
    assert seen["price"] == float(truth["price"][0])
    assert seen["brand"].casefold() == truth["brand"][0].casefold()
    assert json.loads(captured.out)["recommendations"]
