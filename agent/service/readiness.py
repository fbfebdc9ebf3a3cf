"""GET /readyz: whether the queue, the stores and the catalog are reachable, with what is not."""

from __future__ import annotations

from typing import Any

import redis as redis_lib

from agent.service import queue
from agent.service.state import Service
from agent.settings import Settings


def readiness(service: Service) -> tuple[bool, dict[str, Any]]:
    settings, config = service.settings, service.config
    checks: dict[str, Any] = {}
    try:
        service.redis_sync.ping()
        checks["queue"] = {"ok": True, "depth": service.redis_sync.zcard(config.queue_name)}
        workers = queue.live_workers(service.redis_sync)
    except redis_lib.RedisError as exc:
        checks["queue"], workers = {"ok": False, "error": f"Redis unreachable ({type(exc).__name__})"}, []
    try:
        service.store.ping()
        service.frames.frames("-readyz-")  # a query on the frame database (no such session: no rows)
        checks["stores"] = {"ok": True, "results": str(service.store.path), "frames": str(settings.frames_path)}
    except Exception as exc:
        checks["stores"] = {"ok": False, "error": str(exc)}
    checks["catalog"] = catalog_check(settings, workers)
    ready = sum(w.get("state", "ready") == "ready" for w in workers)
    checks["workers"] = {"ok": True, "alive": len(workers), "ready": ready}  # none ready: frames wait in the queue
    return all(check["ok"] for check in checks.values()), checks


def catalog_check(settings: Settings, workers: list[dict]) -> dict[str, Any]:
    """With a Chroma server, its heartbeat; with the embedded store (opened by the workers only, one process
    each), what the live workers reported."""
    if settings.chroma_url:
        import httpx

        try:
            httpx.get(f"{settings.chroma_url.rstrip('/')}/api/v2/heartbeat", timeout=2).raise_for_status()
            return {"ok": True, "server": settings.chroma_url}
        except httpx.HTTPError as exc:
            return {"ok": False, "server": settings.chroma_url,
                    "error": f"the Chroma server does not answer ({type(exc).__name__}); frames wait for it"}
    if not workers:
        return {"ok": True, "embedded": str(settings.catalog_path), "note": "no worker has opened it yet"}
    # Each ready worker's heartbeat says whether its last catalog check answered; a worker still loading has not
    # opened the store yet and says nothing about it, one waiting for it says why.
    waiting = [w for w in workers if w.get("state") == queue.WAITING_FOR_CATALOG]
    ok = not waiting and all(w.get("catalog_ok", w.get("catalog_products", 0) > 0) for w in workers
                             if w.get("state", "ready") == "ready")
    found: dict[str, Any] = {"ok": ok, "embedded": str(settings.catalog_path),
                             "products": max(w.get("catalog_products", 0) for w in workers)}
    if waiting:
        found["error"] = f"{len(waiting)} worker(s) waiting for the catalog: {waiting[0].get('why', '')}"
    return found
