"""/readyz's catalog check with the embedded store, which only the workers open: what their heartbeats say."""

from __future__ import annotations

from agent.service.queue import WAITING_FOR_CATALOG
from agent.service.readiness import catalog_check
from agent.settings import Settings


def test_a_worker_waiting_for_the_catalog_makes_it_not_ready(tmp_path):
    settings = Settings(data_dir=tmp_path)
    ready = {"state": "ready", "catalog_ok": True, "catalog_products": 120}
    waiting = {"state": WAITING_FOR_CATALOG, "catalog_ok": False, "why": "the catalog store is locked"}
    assert catalog_check(settings, [ready])["ok"] is True
    found = catalog_check(settings, [ready, waiting])
    assert found["ok"] is False and "locked" in found["error"]


def test_a_worker_still_loading_says_nothing_about_the_catalog(tmp_path):
    settings = Settings(data_dir=tmp_path)
    ready = {"state": "ready", "catalog_ok": True, "catalog_products": 120}
    assert catalog_check(settings, [ready, {"state": "starting", "catalog_ok": False}])["ok"] is True
    assert catalog_check(settings, [{**ready, "catalog_ok": False}])["ok"] is False
