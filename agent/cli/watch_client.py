"""`interarec watch --server URL`: the shopper's screenshots go to the recommendation service (`interarec serve`,
docs/service.md) instead of the pipeline of this process, and the recommendations it sends back are printed.

The browser, the persona or script and the frame store are the same as in-process watch (the frame store keeps
the local copies and drops near-duplicates before anything is sent); only the reading, summarising and ranking
happen on the service's workers. One line per new result the service announces (Server-Sent Events), or one
JSON object per result with --json-lines; at the end, the result covering the last frame sent."""

from __future__ import annotations

import argparse
import json
import queue
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from agent.cli import render
from agent.cli.common import EXIT_OK, UsageError, settings_from
from agent.wiring import browser_config, open_frames, start_demo_shop
from tools.capture.session import browse_session
from tools.schemas import Frame

KEY_ENV = "INTERAREC_SERVER_KEY"
API_KEY_HEADER = "X-API-Key"
FINAL_WAIT_S = 120.0  # how long to wait, once browsing ends, for the result covering the last frame


class ServiceError(UsageError):
    """The service cannot be used (down, key refused, a frame refused): one line, exit 2."""


def _where(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")  # never user:password


class ServiceClient:
    def __init__(self, server: str, key: str, shopper: str) -> None:
        self.server, self.shopper = server.rstrip("/"), shopper
        self.http = httpx.Client(base_url=self.server, headers={API_KEY_HEADER: key}, timeout=30)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(f"the service at {_where(self.server)} is not reachable ({type(exc).__name__}); "
                               "is `interarec serve` running there?") from exc
        if answer.status_code == 401:
            raise ServiceError(f"the service at {_where(self.server)} refused the API key (401); give the shop's "
                               f"key with --key or {KEY_ENV}")
        return answer

    def check(self) -> None:
        """Before any browsing: the service answers and takes the key (an unknown shopper is a 404: fine)."""
        self._call("GET", "/healthz")
        answer = self._call("GET", f"/v1/shoppers/{self.shopper}/recommendations")
        if answer.status_code not in (200, 404):
            raise ServiceError(f"the service answered {answer.status_code}: {_detail(answer)}")

    def post(self, frame: Frame, text_layer: str | None) -> dict[str, Any]:
        data = {"url": frame.url or "about:blank", "title": frame.title, "timestamp": str(frame.captured_at)}
        if text_layer:
            data["text_layer"] = text_layer
        kind = "image/jpeg" if frame.path.endswith((".jpg", ".jpeg")) else "image/png"
        image = Path(frame.path).read_bytes()
        while True:
            answer = self._call("POST", f"/v1/shoppers/{self.shopper}/frames", data=data,
                                files={"image": (Path(frame.path).name, image, kind)})
            if answer.status_code != 429:
                break
            time.sleep(float(answer.headers.get("Retry-After", "2")))  # back-pressure: as long as it asks
        if answer.status_code != 202:
            raise ServiceError(f"the service refused a frame ({answer.status_code}): {_detail(answer)}")
        return answer.json()

    def result(self) -> dict[str, Any] | None:
        answer = self._call("GET", f"/v1/shoppers/{self.shopper}/recommendations")
        return answer.json() if answer.status_code == 200 else None

    def close(self) -> None:
        self.http.close()


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))[:200]
    except ValueError:
        return answer.text[:200]


def result_line(body: dict[str, Any]) -> str:
    top = ", ".join(f"{r['rank']}. {r['title'][:40]}" for r in body.get("recommendations", [])[:3])
    return f"result v{body['version']} (frames up to #{body['processed_upto']}, {body['status']}): {top or '-'}"


class _Printer:
    """Prints each new result version once, whichever of the event stream and the final read sees it first."""

    def __init__(self, json_lines: bool) -> None:
        self.json_lines, self.shown, self.lock = json_lines, 0, threading.Lock()

    def show(self, body: dict[str, Any]) -> None:
        with self.lock:
            if body.get("version", 0) <= self.shown:
                return
            self.shown = body["version"]
        print(json.dumps(body) if self.json_lines else result_line(body), flush=True)


def _listen(client: ServiceClient, printer: _Printer, stop: threading.Event) -> None:
    """The shopper's Server-Sent Events; reconnects while browsing goes on (the stream 404s until the first frame
    arrives, and ends when the service restarts)."""
    while not stop.is_set():
        try:
            with client.http.stream("GET", f"/v1/shoppers/{client.shopper}/events", timeout=None) as stream:
                if stream.status_code != 200:
                    stop.wait(1.0)
                    continue
                event = None
                for line in stream.iter_lines():
                    if stop.is_set():
                        return
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event == "recommendations":
                        printer.show(json.loads(line.split(":", 1)[1]))
        except (httpx.HTTPError, ValueError):
            stop.wait(1.0)


def _poster(client: ServiceClient, frames, work: queue.Queue, sent: list[dict], errors: list[Exception]) -> None:  # noqa: ANN001
    while (frame := work.get()) is not None:
        if errors:
            continue  # the service failed: the capture is stopping, the rest is not sent
        try:
            layer = frames.text_layer(frame)
            sent.append(client.post(frame, layer.dumps() if layer else None))
        except Exception as exc:  # shown by the main thread, which stops the capture
            errors.append(exc)


def cmd_watch_server(args: argparse.Namespace, persona) -> int:  # noqa: ANN001
    settings = settings_from(args)
    key = args.key or settings.server_key
    if not key:
        raise UsageError(f"--server needs the shop's API key: --key KEY, {KEY_ENV} or `server_key = ...` in the "
                         "config file")
    shopper = args.shopper or f"watch-{uuid.uuid4().hex[:12]}"
    client = ServiceClient(args.server, key, shopper)
    frames = open_frames(settings)
    printer = _Printer(args.json_lines)
    stop, work, sent, errors = threading.Event(), queue.Queue(), [], []
    try:
        client.check()
        render.stderr.print(f"sending frames to {_where(args.server)} as shopper {shopper}", highlight=False)
        listener = threading.Thread(target=_listen, args=(client, printer, stop), daemon=True)
        poster = threading.Thread(target=_poster, args=(client, frames, work, sent, errors), daemon=True)
        listener.start()
        poster.start()

        def on_frame(frame: Frame) -> None:
            if errors:
                raise errors[0]  # ends the capture; the error is reported below
            if frame.duplicate_of is None:  # the frame store already knows it is a repeat: nothing to send
                work.put(frame)

        try:
            _capture(args, settings, frames, persona, on_frame)
        finally:
            work.put(None)
            poster.join()
        if errors:
            raise errors[0]
        if sent:
            _final(client, printer, sent[-1]["sequence"])
    finally:
        stop.set()
        client.close()
        frames.close()
    render.stderr.print(f"{len(sent)} frames sent to the service as shopper {shopper}", highlight=False)
    return EXIT_OK


def _capture(args: argparse.Namespace, settings, frames, persona, on_frame) -> None:  # noqa: ANN001
    config = browser_config(settings)
    if persona is None:  # --cdp-url: the capture command's recorder, telling on_frame of each frame it stores
        from agent.cli.browse import _CountingFrames
        from agent.cli.capture import _capture_cdp

        _capture_cdp(args, settings, _CountingFrames(frames, SimpleNamespace(frame_captured=on_frame)))
        return
    session_id = frames.new_session(source=f"watch-server:{persona.name}")
    if args.url:
        browse_session(config, frames, session_id, args.url, persona, pace_s=settings.pace_s, on_frame=on_frame)
        return
    with start_demo_shop() as shop:
        browse_session(config, frames, session_id, shop.url, persona, pace_s=settings.pace_s, on_frame=on_frame)


def _final(client: ServiceClient, printer: _Printer, last: int) -> None:
    """Wait for the result that covers the last frame sent, and show it."""
    deadline = time.monotonic() + FINAL_WAIT_S
    while time.monotonic() < deadline:
        body = client.result()
        if body is not None and body.get("processed_upto", -1) >= last:
            printer.show(body)
            return
        time.sleep(0.5)
    raise ServiceError(f"no result covering frame #{last} within {FINAL_WAIT_S:g} s: are workers running "
                       "(`interarec worker`)?")
