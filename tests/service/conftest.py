"""The real parts the service tests run against: a throwaway redis-server (Debian's, append-only file on) on a
free 127.0.0.1 port in a temp dir, the API on a real uvicorn in a thread, and `interarec worker` processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
NO_REDIS = "Debian's redis-server is not installed (bash scripts/bootstrap.sh --for-tests installs it)"
KEYS = {"shop-a": "key-of-shop-a-0123456789", "shop-b": "key-of-shop-b-9876543210"}


class RedisServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="interarec-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
             "--logfile", str(self.root / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.root / "redis.log").read_text(errors="replace")[-1500:]
                    pytest.fail(f"redis-server did not start: {log}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture(scope="session")
def redis_server():
    if not Path(REDIS_SERVER).exists():
        pytest.skip(NO_REDIS)
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="module")
def service_data(tmp_path_factory):
    """One data dir per module: the workers embed the demo catalog into it once."""
    return tmp_path_factory.mktemp("service-data")


@pytest.fixture
def service_env(service_data, redis_server, monkeypatch):
    """The environment `interarec serve` and `worker` read, for this test; Redis emptied first."""
    redis.Redis.from_url(redis_server.url).flushall()
    monkeypatch.setenv("INTERAREC_DATA_DIR", str(service_data))
    monkeypatch.setenv("INTERAREC_REDIS_URL", redis_server.url)
    monkeypatch.setenv("INTERAREC_SERVICE_KEYS", ",".join(f"{s}={k}" for s, k in KEYS.items()))
    return service_data


class ApiServer:
    """The app on a real uvicorn, in a thread of this process, on a free port."""

    def __init__(self, **limits) -> None:
        import uvicorn

        from agent.service.api import create_app
        from agent.service.config import load_service_config
        from agent.settings import load_settings

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(load_settings(), load_service_config(**limits))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def api(service_env):
    with ApiServer() as server:
        yield server


def client(server: ApiServer, shop: str = "shop-a") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-Key": KEYS[shop]}, timeout=30)


class WorkerProcess:
    """`interarec worker` as a real process, with the test's environment."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "agent.cli", "worker", "-v"], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, redis_url: str, timeout_s: float = 120) -> None:
        from agent.service.queue import live_workers

        client_ = redis.Redis.from_url(redis_url, decode_responses=True)
        deadline = time.monotonic() + timeout_s
        while not any(w["pid"] == self.process.pid for w in live_workers(client_)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start: {self.log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def worker(service_env, redis_server, tmp_path):
    process = WorkerProcess(tmp_path / "worker.log")
    try:
        process.wait_ready(redis_server.url)
        yield process
    finally:
        process.stop()
