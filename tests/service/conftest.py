"""The real parts the service tests run against: a throwaway redis-server (Debian's, append-only file on) on a
free 127.0.0.1 port in a temp dir, the API on a real uvicorn in a thread, `interarec worker` processes, and for
the fault tests a `chroma run` server that can be stopped and started again on its port. The demo catalog is
embedded once per test session and shared (embedding it is the slowest step of all)."""

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


def pytest_configure(config):
    # Slow tests still run in the README's test command; `-m "not slow"` leaves them out while iterating.
    config.addinivalue_line("markers", "slow: restarts or kills real servers and workers (tens of seconds)")


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


EMBED_CATALOG = """
import sys
from pathlib import Path
from agent.settings import load_settings
from agent.wiring import ensure_demo_catalog, open_store
from catalog.files import DEMO_PRODUCTS, load_products
store = open_store(load_settings(data_dir=Path(sys.argv[1]), catalog_dir=Path(sys.argv[2])))
print(ensure_demo_catalog(store, load_products(DEMO_PRODUCTS)))
"""


@pytest.fixture(scope="session")
def service_catalog_dir(tmp_path_factory) -> Path:
    """Where the shared demo catalog is (embedded only when a test needs a worker: service_catalog)."""
    return tmp_path_factory.mktemp("service-catalog") / "catalog"


@pytest.fixture(scope="session")
def service_catalog(service_catalog_dir) -> Path:
    """The demo catalog embedded once for every service test, by a process of its own (so this one holds no
    handle on it); the workers open it (embedded) or a Chroma server serves a copy of it."""
    root = service_catalog_dir.parent
    done = subprocess.run([sys.executable, "-c", EMBED_CATALOG, str(root / "data"), str(root / "catalog")],
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or int(done.stdout.split()[-1]) == 0:
        pytest.fail(f"embedding the demo catalog failed: {done.stderr[-2000:]}")
    return root / "catalog"


@pytest.fixture(scope="module")
def service_data(tmp_path_factory):
    """One data dir per module (frames, results, chat memory)."""
    return tmp_path_factory.mktemp("service-data")


def service_environ(data_dir: Path, redis_url: str, catalog_dir: Path, **settings: str) -> dict[str, str]:
    """What `interarec serve` and `worker` read from the environment (``settings``: more INTERAREC_* names)."""
    return {"INTERAREC_DATA_DIR": str(data_dir), "INTERAREC_CATALOG_DIR": str(catalog_dir),
            "INTERAREC_CONFIG": str(data_dir / "no-config.toml"), "INTERAREC_REDIS_URL": redis_url,
            "INTERAREC_SERVICE_KEYS": ",".join(f"{s}={k}" for s, k in KEYS.items()), **settings}


def empty_redis(url: str) -> None:
    """Everything but the workers' heartbeats (a module's worker lives on across its tests)."""
    db = redis.Redis.from_url(url)
    keys = [k for k in db.scan_iter(count=1000) if not k.startswith(b"interarec:worker:")]
    if keys:
        db.delete(*keys)


@pytest.fixture
def service_env(service_data, service_catalog_dir, redis_server, monkeypatch):
    """The environment `interarec serve` and `worker` read, for this test; Redis emptied first."""
    empty_redis(redis_server.url)
    for name, value in service_environ(service_data, redis_server.url, service_catalog_dir).items():
        monkeypatch.setenv(name, value)
    return service_data


@pytest.fixture(scope="session")
def watch_pages(tmp_path_factory):
    """Frames of a watch listing and three watch pages of the demo shop, captured by Chromium, with their text
    layers (a browser is needed: tests using this are marked browser)."""
    from catalog.files import load_products
    from shop.pages import product_href, slugify
    from tests.service.frames import capture_demo_frames

    watches = sorted((p for p in load_products() if p.category_path[-1] == "Wrist Watches" and p.price),
                     key=lambda p: p.id)[:3]
    script = "\n".join([f"goto /c/{slugify('Wrist Watches')}", *[f"goto {product_href(p.id)}" for p in watches]])
    frames = capture_demo_frames(tmp_path_factory.mktemp("capture"), script + "\n")
    assert len(frames) >= 4 and all(f.text_layer for f in frames)
    return frames


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
    """`interarec worker` as a real process: with ``env`` (and no other INTERAREC_* setting), or the test's."""

    def __init__(self, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        inherited = {k: v for k, v in os.environ.items() if env is None or not k.startswith("INTERAREC_")}
        env = {**inherited, **(env or {}), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "agent.cli", "worker", "-v"], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, redis_url: str, timeout_s: float = 120, state: str = "ready") -> dict:
        """The worker's heartbeat once it says ``state`` ("ready": its models are loaded and it takes jobs)."""
        from agent.service.queue import live_workers

        client_ = redis.Redis.from_url(redis_url, decode_responses=True)
        deadline = time.monotonic() + timeout_s
        while not (mine := [w for w in live_workers(client_) if w["pid"] == self.process.pid
                            and w.get("state") == state]):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start: {self.log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        return mine[0]

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def worker(service_data, service_catalog, redis_server, tmp_path_factory):
    """One `interarec worker` for the module's tests (loading its models takes ~15-25 s), with the environment
    service_env gives the module's tests."""
    process = WorkerProcess(tmp_path_factory.mktemp("worker") / "worker.log",
                            service_environ(service_data, redis_server.url, service_catalog))
    try:
        process.wait_ready(redis_server.url)
        yield process
    finally:
        process.stop()


class ChromaProcess:
    """`chroma run` on a fixed 127.0.0.1 port over ``path``, to be stopped and started again on that port."""

    def __init__(self, path: Path, log_path: Path) -> None:
        self.path, self.log_path, self.port = path, log_path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from catalog.chroma_server import chroma_executable

        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [chroma_executable(), "run", "--host", "127.0.0.1", "--port", str(self.port), "--path", str(self.path)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma run did not start: {self.log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
