"""Privacy on the wire and in the files: a browse-and-recommend run reaches nothing but the demo shop (Chromium)
and the configured model endpoint (Python), audited from both sides; telemetry is off; the API key appears in
no output, log, transcript or data file. Masking of sensitive fields on the pixels is tested in test_privacy.py,
the deletion of a session's rows and files in test_sessions_cli.py."""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import os
import socket
from pathlib import Path

import pytest

from agent.cli.main import main
from tests.conftest import requires_chromium
from tests.fake_openai import FakeOpenAI, chat_completion

SECRET = "sk-secret-xyz-0123456789"
PROBE_OK = (200, chat_completion('{"ok": true}'))
SUMMARY = {"product_characteristics": {"types": [{"value": "Wrist Watches", "frame_ids": ["s:0"]}]},
           "price_range": {"lowest": 500, "highest": 1500, "currency": "INR"},
           "brand_preferences": [{"value": "Maxima", "frame_ids": ["s:0"]}]}


@pytest.fixture
def small_catalog(monkeypatch):
    """The demo catalog's watches and mugs only (what the watch-buyer persona browses), so the test embeds 223
    products, not 1,647; nothing audited here depends on the catalog's size."""
    from catalog.files import DEMO_PRODUCTS, load_products

    products = [p for p in load_products(DEMO_PRODUCTS)
                if p.category_path[-1] in ("Wrist Watches", "Coffee Mugs")]
    monkeypatch.setattr("agent.wiring.load_products", lambda _path: products)
    return products


class Audit:
    """Every socket connection and name lookup this process makes, and everything it logs (at DEBUG)."""

    def __init__(self) -> None:
        self.connects: list[object] = []
        self.lookups: list[object] = []
        self.log = io.StringIO()

    def install(self, monkeypatch) -> None:  # noqa: ANN001
        for name in ("connect", "connect_ex"):
            real = getattr(socket.socket, name)  # the suite's loopback guard, which stays in force

            def recording(sock, address, _real=real):  # noqa: ANN001, ANN202
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    self.connects.append(address)
                return _real(sock, address)

            monkeypatch.setattr(socket.socket, name, recording)
        real_lookup = socket.getaddrinfo

        def lookup(host, *args, **kwargs):  # noqa: ANN001, ANN202
            self.lookups.append(host)
            return real_lookup(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", lookup)
        handler = logging.StreamHandler(self.log)
        handler.setLevel(logging.DEBUG)
        root = logging.getLogger()
        monkeypatch.setattr(root, "level", logging.DEBUG)
        root.addHandler(handler)
        monkeypatch.setattr(root, "handlers", [*root.handlers])  # restored (without ours) after the test


def _files_holding(folder: Path, text: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def _netlog_destinations(path: Path) -> dict[str, set[str]]:
    """What Chromium's own network log says it looked up, connected to and sent to."""
    data = json.loads(path.read_text())
    names = {number: name for name, number in data["constants"]["logEventTypes"].items()}
    found: dict[str, set[str]] = {"dns": set(), "tcp": set(), "udp_sent": set(), "requests": set()}
    for event in data["events"]:
        kind, params = names[event["type"]], event.get("params") or {}
        if kind == "DNS_TRANSACTION_QUERY":
            found["dns"].add(params.get("qname", "?"))
        elif kind == "TCP_CONNECT_ATTEMPT" and "address" in params:  # (its end event has no parameters)
            found["tcp"].add(params["address"])
        elif kind == "UDP_BYTES_SENT" and "address" in params:
            found["udp_sent"].add(params["address"])
        elif kind == "REQUEST_ALIVE":
            found["requests"].add(params.get("url", ""))
    return found


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    return ipaddress.ip_address(host).is_loopback


@requires_chromium
@pytest.mark.browser
def test_browse_and_recommend_reaches_only_the_shop_and_the_endpoint_and_never_shows_the_key(
        small_catalog, monkeypatch, capsys, tmp_path):
    from tools.capture.browser import ShopperBrowser

    netlog = tmp_path / "chromium-netlog.json"
    audit = Audit()
    page_requests: list[str] = []
    guard = ShopperBrowser._guard

    def recording_guard(self, route, request):  # noqa: ANN001, ANN202
        page_requests.append(request.url)
        return guard(self, route, request)

    monkeypatch.setattr(ShopperBrowser, "_guard", recording_guard)
    with FakeOpenAI([PROBE_OK, (200, chat_completion(json.dumps(SUMMARY)))]) as endpoint:
        monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", endpoint.base_url)
        monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", SECRET)
        monkeypatch.setenv("INTERAREC_VISION_MODEL", "fake-vision")
        monkeypatch.setenv("INTERAREC_PACE_S", "0.2")
        monkeypatch.setenv("INTERAREC_CHROMIUM_ARGS", json.dumps([f"--log-net-log={netlog}"]))
        audit.install(monkeypatch)
        code = main(["browse-and-recommend", "--persona", "watch-buyer", "--json", "-v"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["recommendations"] and result["summary"]["summariser"].startswith("MLLM fake-vision")

    # Python: the endpoint and nothing else, found without asking DNS
    endpoint_port = int(endpoint.base_url.rsplit(":", 1)[1].split("/")[0])
    assert audit.connects and set(audit.connects) == {("127.0.0.1", endpoint_port)}
    assert set(audit.lookups) <= {"127.0.0.1", "localhost"}
    # Chromium: the page reached only the shop; its own services looked nothing up and connected nowhere
    shop = next(u for u in page_requests if u.startswith("http://127.0.0.1:")).rsplit("/", 1)[0]
    shop_origin = "/".join(shop.split("/")[:3])
    assert all(u.startswith(shop_origin) or u.startswith("data:") for u in page_requests), page_requests
    chromium = _netlog_destinations(netlog)
    assert chromium["tcp"] and all(_loopback(a) for a in chromium["tcp"]), chromium["tcp"]
    assert chromium["dns"] == set(), chromium["dns"]  # e.g. update.googleapis.com, accounts.google.com
    assert all(_loopback(a) for a in chromium["udp_sent"]), chromium["udp_sent"]

    # the key went to the endpoint, and nowhere else
    assert {r["authorization"] for r in endpoint.requests} == {f"Bearer {SECRET}"}
    assert SECRET not in out + err + audit.log.getvalue()
    assert "127.0.0.1" in audit.log.getvalue()  # the log did record the endpoint requests
    assert _files_holding(Path(os.environ["INTERAREC_DATA_DIR"]), SECRET) == []


def test_the_chat_never_shows_the_key_even_when_the_endpoint_rejects_it(small_catalog, monkeypatch, capsys,
                                                                        tmp_path):
    audit = Audit()
    transcript = tmp_path / "chat.jsonl"
    rejected = (401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                "code": "invalid_api_key"}})
    with FakeOpenAI([rejected, (200, chat_completion("Hello, how can I help?"))]) as endpoint:
        monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", endpoint.base_url)
        monkeypatch.setenv("INTERAREC_CHAT_MODEL", "fake-chat")
        monkeypatch.setattr("sys.stdin", io.StringIO("hello\nhello again\n"))
        audit.install(monkeypatch)
        code = main(["chat", "-v", "--openai-api-key", SECRET, "--transcript", str(transcript)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "[chat model error] fake-chat" in out and "Error code: 401" in out and "Hello, how can I help?" in out
    assert {r["authorization"] for r in endpoint.requests} == {f"Bearer {SECRET}"}
    assert SECRET not in out + err + audit.log.getvalue() + transcript.read_text()
    assert _files_holding(Path(os.environ["INTERAREC_DATA_DIR"]), SECRET) == []


def test_telemetry_is_off_everywhere(tmp_path, monkeypatch):
    import chromadb.telemetry.product.posthog as chroma_posthog
    from langsmith.utils import tracing_is_enabled

    from catalog.store import CatalogStore

    store = CatalogStore.open(tmp_path / "store")
    settings = store._client.get_settings()
    assert settings.anonymized_telemetry is False
    assert not settings.chroma_otel_collection_endpoint  # no OpenTelemetry export either
    assert "posthog" not in chroma_posthog.__dict__  # this Chroma's product telemetry does not even import it
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert not tracing_is_enabled()  # LangChain/LangGraph send traces only if the user turns LangSmith on


def test_deleting_a_session_leaves_nothing_read_from_its_screenshots(capsys, tmp_path):
    from PIL import Image, ImageDraw

    from agent.settings import load_settings
    from agent.wiring import offline_reader
    from tools.capture.frame_io import import_folder
    from tools.capture.frames import FrameStore

    folder = tmp_path / "shots"
    folder.mkdir()
    image = Image.new("RGB", (480, 120), "white")
    ImageDraw.Draw(image).text((20, 40), "JANE DOE 221B BAKER STREET", fill="black", font_size=28)
    image.save(folder / "1.png")
    settings = load_settings()
    frames = FrameStore(settings.frames_path)
    session = import_folder(frames, folder).session_id
    offline_reader(settings, [], []).summarise(frames.frames(session))
    frames.close()
    assert _files_holding(settings.data_dir, "BAKER")  # the OCR cache holds what was read
    assert main(["sessions", "delete", session]) == 0
    assert _files_holding(settings.data_dir, "BAKER") == []
