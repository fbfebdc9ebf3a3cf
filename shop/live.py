"""The shop's "Recommended for you" panel: the latest recommendations of a running agent, pushed to every open
page by server-sent events (``GET /live/events``). The agent publishes; each page's panel shows what it gets.

The panel carries ``data-interarec-panel``, which the capture hides in screenshots (tools/capture/privacy.py): the
agent's own recommendations are not evidence of what the shopper likes.
"""

from __future__ import annotations

import json
import threading
from typing import Any

KEEPALIVE_S = 15.0  # an SSE comment this often keeps proxies and the browser from closing an idle stream


class LiveFeed:
    """The latest published payload and its version; readers wait for a newer one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._version = 0
        self._payload: dict[str, Any] = {"update": 0, "recommendations": [], "status": "waiting for the shopper"}
        self._closed = False

    def publish(self, payload: dict[str, Any]) -> None:
        with self._changed:
            self._version += 1
            self._payload = payload
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def next(self, seen: int, timeout_s: float = KEEPALIVE_S) -> tuple[int, dict[str, Any] | None, bool]:
        """(version, payload newer than ``seen`` or None after ``timeout_s``, closed)."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != seen or self._closed, timeout=timeout_s)
            fresh = self._payload if self._version != seen else None
            return self._version, fresh, self._closed


def event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


# The panel's markup and script (no external assets): it renders each event's recommendations as a list.
PANEL = """<aside class="live-panel" data-testid="live-panel" data-interarec-panel aria-live="polite">
<h2>Recommended for you</h2><p class="live-status" data-testid="live-status">connecting ...</p>
<ol class="live-recs" data-testid="live-recs"></ol></aside>
<script>(() => {
  const list = document.querySelector('[data-testid=live-recs]');
  const status = document.querySelector('[data-testid=live-status]');
  const source = new EventSource('/live/events');
  source.onmessage = (message) => {
    const data = JSON.parse(message.data);
    status.textContent = data.status || ('update ' + data.update);
    list.replaceChildren(...data.recommendations.map((rec) => {
      const item = document.createElement('li');
      item.dataset.testid = 'live-rec';
      item.dataset.productId = rec.product_id;
      const link = document.createElement('a');
      link.href = '/p/' + encodeURIComponent(rec.product_id);
      link.textContent = rec.title;
      const why = document.createElement('small');
      why.textContent = rec.why || '';
      item.append(link, why);
      return item;
    }));
  };
})();</script>"""
