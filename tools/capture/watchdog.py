"""The watchdog of ShopperBrowser (``tools.capture.browser``): a Chromium that stops answering is killed, so a
session ends as for a crash instead of blocking forever."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)


class Watchdog:
    """Turns a hung Chromium into a dead one. Playwright bounds navigations and clicks, but not ``evaluate``, so a
    browser that stops answering (a frozen renderer, a stopped process) would block a session forever. The
    browser ``pet``s this on every step it makes; after ``limit_s`` without one, the watchdog SIGKILLs Chromium's
    process group (Playwright launches Chromium as a group leader), the blocked call fails, and the session
    ends as for a crash: interrupted, with every frame already stored kept."""

    def __init__(self, limit_s: float, pid: int | None) -> None:
        self.limit_s = limit_s
        self.pid = pid
        self.fired = ""  # why it killed the browser, once it has
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chromium-watchdog", daemon=True)
        if pid is not None:
            self._thread.start()

    def pet(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def kill(self, why: str) -> None:
        self.fired = f"Chromium stopped responding ({why}); it was killed"
        log.warning("%s (process group %s)", self.fired, self.pid)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError as exc:  # it ended meanwhile
            log.debug("killing Chromium: %s", exc)

    def _run(self) -> None:
        while not self._stop.wait(min(0.5, self.limit_s / 4)):
            idle = time.monotonic() - self._last
            if idle > self.limit_s:
                self.kill(f"no progress for {idle:.0f} s, limit {self.limit_s:g} s")
                return
