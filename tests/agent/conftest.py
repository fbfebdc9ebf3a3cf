"""Fixtures shared by the agent-level tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One data directory for the tests that need the demo catalog in Chroma, so it is embedded once."""
    return tmp_path_factory.mktemp("faults-data")


@pytest.fixture
def env(data_dir, monkeypatch):
    monkeypatch.setenv("INTERAREC_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INTERAREC_PACE_S", "0.2")
    return data_dir
