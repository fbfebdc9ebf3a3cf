"""The integration suite against a real OpenAI-compatible model server (issue 23).

Skipped unless INTERAREC_TEST_MODEL_URL is set; scripts/test-real-model.sh sets it to a local llama.cpp server it
starts (SmolLM2-135M-Instruct), or passes on the user's own URL, model (INTERAREC_TEST_MODEL) and key
(INTERAREC_TEST_MODEL_KEY), so the same tests run unchanged against OpenAI, vLLM or Ollama.

The variables are read when this file is imported: the suite-wide fixture that isolates each test removes every
INTERAREC_* variable before the test runs.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import socket
import sys
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import conftest as suite

URL = os.environ.get("INTERAREC_TEST_MODEL_URL", "").rstrip("/")
MODEL = os.environ.get("INTERAREC_TEST_MODEL", "")
KEY = os.environ.get("INTERAREC_TEST_MODEL_KEY", "") or "local"
TIMEOUT_S = float(os.environ.get("INTERAREC_TEST_MODEL_TIMEOUT", "") or 600)  # a 135M model on 2 busy cores is slow
SKIP = "INTERAREC_TEST_MODEL_URL is not set: run scripts/test-real-model.sh (a local llama.cpp server) or set it " \
       "to an OpenAI-compatible URL"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.real_model)
            if not URL:
                item.add_marker(pytest.mark.skip(reason=SKIP))


@dataclass(frozen=True)
class Endpoint:
    url: str
    model: str
    api_key: str
    timeout_s: float

    def env(self) -> dict[str, str]:
        """The settings that point both roles (summariser, chat) at this endpoint."""
        return {"INTERAREC_OPENAI_BASE_URL": self.url, "INTERAREC_OPENAI_API_KEY": self.api_key,
                "INTERAREC_VISION_MODEL": self.model, "INTERAREC_CHAT_MODEL": self.model,
                "INTERAREC_REQUEST_TIMEOUT_S": str(self.timeout_s)}


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _reach_the_endpoint():
    """The suite's network guard stays on, except for an endpoint the user named on another machine."""
    if not URL or _loopback(URL):
        yield
        return
    guarded = socket.socket.connect, socket.socket.connect_ex
    socket.socket.connect, socket.socket.connect_ex = suite._real_connect, suite._real_connect_ex
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = guarded


@pytest.fixture(scope="session")
def endpoint() -> Endpoint:
    model = MODEL
    if not model:
        import openai

        listed = [m.id for m in openai.OpenAI(base_url=URL, api_key=KEY, timeout=30, max_retries=1).models.list()]
        if not listed:
            pytest.fail(f"{URL} lists no model: set INTERAREC_TEST_MODEL")
        model = listed[0]
    return Endpoint(URL, model, KEY, TIMEOUT_S)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """One data dir for the suite: the demo catalog is embedded once (about a minute on 2 cores)."""
    return tmp_path_factory.mktemp("real-model-data")


@pytest.fixture
def use(monkeypatch, data_dir):
    """``use(endpoint_or_url_env)``: the environment of one run (after the suite's isolation has cleared it)."""

    def apply(env: dict[str, str]) -> None:
        monkeypatch.setenv("INTERAREC_DATA_DIR", str(data_dir))
        monkeypatch.setenv("INTERAREC_PACE_S", "0")
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return apply


def names_local_model(text: str) -> bool:
    """Whether an answer says the local rules model produced it (by its backend name or in words)."""
    from agent.chat.local_model import BACKEND_NAME

    return BACKEND_NAME.split(" ")[0] in text or "local rules model" in text


def run_cli(argv: list[str], stdin: str | None = None) -> tuple[int, str]:
    """``interarec ARGV`` in this process: its exit code and standard output."""
    from agent.cli.main import main

    out = io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out):
            code = main(argv)
    finally:
        sys.stdin = saved
    return code, out.getvalue()


@pytest.fixture(scope="session")
def captured(data_dir, tmp_path_factory) -> dict:
    """A short session captured by the real browser from the demo shop (a persona looking at watches): its
    capture report, with ``session_id``. A few frames, so that a small model's context holds their page text."""
    if not suite.CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    env = {"INTERAREC_DATA_DIR": str(data_dir), "INTERAREC_PACE_S": "0"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        code, out = run_cli(["capture", "--persona", "watch-buyer", "--seconds", "12", "--json"])
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    assert code == 0, out
    report = json.loads(out)
    assert report["frames_kept"] >= 2, report
    return report
