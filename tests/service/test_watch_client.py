"""`interarec watch --server URL`: a real browser's frames go to the service (real uvicorn, Redis and worker
process) and the recommendations it computes come back printed; a server that is down or a refused key is one
line and exit 2, before any browser starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from catalog.files import load_products
from shop.pages import product_href, slugify
from tests.conftest import free_port, requires_chromium
from tests.service.conftest import KEYS, client


def watch(args: list[str], data_dir, timeout_s: float = 300, **env_vars: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    env = {**os.environ, "INTERAREC_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("INTERAREC_SERVER_KEY", None)
    env.update(env_vars)
    return subprocess.run([sys.executable, "-m", "agent.cli", "watch", *args], env=env, capture_output=True,
                          text=True, timeout=timeout_s)


@requires_chromium
@pytest.mark.browser
def test_watch_sends_frames_and_prints_the_services_recommendations(api, worker, tmp_path):
    watches = sorted((p for p in load_products() if p.category_path[-1] == "Wrist Watches" and p.price),
                     key=lambda p: p.id)[:2]
    script = tmp_path / "watches.txt"
    script.write_text("\n".join([f"goto /c/{slugify('Wrist Watches')}",
                                 *[f"goto {product_href(p.id)}" for p in watches]]) + "\n")
    done = watch(["--server", api.url, "--key", KEYS["shop-a"], "--shopper", "walker", "--script", str(script),
                  "--json-lines"], tmp_path / "client")
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert printed, done.stdout
    last = printed[-1]
    # what was printed is the service's own result for this shopper, covering every frame it was sent
    served = client(api).get("/v1/shoppers/walker/recommendations").json()
    assert last["processed_upto"] == served["last_frame"] == served["processed_upto"]
    assert [r["product_id"] for r in last["recommendations"]] == [r["product_id"] for r in served["recommendations"]]
    assert served["frames"] >= 3 and last["recommendations"]
    assert last["summary"]["product_characteristics"]["types"], last["summary"]  # read from the watch pages
    by_id = {p.id: p for p in load_products()}
    assert all(by_id[r["product_id"]].category_path[-1] == "Wrist Watches" for r in last["recommendations"]), last
    # the shopper belongs to the key's shop only
    assert client(api, "shop-b").get("/v1/shoppers/walker/recommendations").status_code == 404


def test_a_server_that_is_down_is_one_line_and_exit_2(tmp_path):
    done = watch(["--server", f"http://user:secret@127.0.0.1:{free_port()}", "--key", "k" * 20, "--persona",
                  "watch-buyer"], tmp_path, timeout_s=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not reachable" in lines[0], done.stderr
    assert "secret" not in done.stderr


def test_a_refused_key_is_one_line_and_exit_2(api, tmp_path):
    done = watch(["--server", api.url, "--key", "not-a-key-of-any-shop", "--persona", "watch-buyer"], tmp_path,
                 timeout_s=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "refused the API key" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_server_flags_need_server_and_a_key(tmp_path):
    without_server = watch(["--key", "k" * 20, "--persona", "watch-buyer"], tmp_path, timeout_s=60)
    assert without_server.returncode == 2 and "--server" in without_server.stderr
    without_key = watch(["--server", "http://127.0.0.1:9", "--persona", "watch-buyer"], tmp_path, timeout_s=60)
    assert without_key.returncode == 2 and "API key" in without_key.stderr


@pytest.mark.parametrize("where", ["environment", "config file"])
def test_the_key_comes_from_the_settings_when_no_flag_gives_it(api, tmp_path, where):
    config = tmp_path / "config.toml"
    config.write_text('server_key = "not-a-key-from-the-file"\n' if where == "config file" else "")
    extra = {"INTERAREC_SERVER_KEY": "not-a-key-from-the-env"} if where == "environment" else {}
    done = watch(["--server", api.url, "--persona", "watch-buyer"], tmp_path, timeout_s=60,
                 INTERAREC_CONFIG=str(config), **extra)
    # the key was sent (and refused): without one the command would stop before calling the service
    assert done.returncode == 2 and "refused the API key" in done.stderr, done.stderr
