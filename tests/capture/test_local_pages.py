"""Files on disk given to --url are served on 127.0.0.1 for the run: the page and its folder, nothing else."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tools.capture.browser import url_problem
from tools.capture.local_pages import LocalPages, local_file


def test_paths_and_file_urls_name_files_and_web_urls_do_not(tmp_path):
    page = tmp_path / "a page.html"
    assert local_file(page.as_uri()) == page
    assert local_file(str(page)) == page
    assert local_file("https://shop.example/p") is None
    assert local_file("ftp://shop.example/p") is None


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read(), answer.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""


def test_a_served_page_loads_with_its_assets_and_nothing_outside_its_folder(tmp_path: Path):
    shop = tmp_path / "shop"
    (shop / "page_files").mkdir(parents=True)
    page = shop / "a page.html"
    page.write_text("<html><body><h1>Kettle</h1></body></html>", encoding="utf-8")
    (shop / "page_files" / "style.css").write_text("h1 {}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("private", encoding="utf-8")
    with LocalPages([page]) as local:
        url = local.url_of(page)
        assert url.startswith("http://127.0.0.1:") and url_problem(url) is None
        status, body, kind = _get(url)
        assert status == 200 and b"Kettle" in body and kind == "text/html; charset=utf-8"
        assert _get(url.rsplit("/", 1)[0] + "/page_files/style.css")[0] == 200
        assert _get(url.rsplit("/", 1)[0] + "/../secret.txt")[0] == 404
        assert _get(url.rsplit("/", 1)[0] + "/%2e%2e/secret.txt")[0] == 404
        assert _get(url.rsplit("/", 2)[0] + "/7/a%20page.html")[0] == 404
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)  # closed with the run
