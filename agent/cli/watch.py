"""`interarec watch`: recommendations that follow the shopper while they browse (agent/live.py), shown live.

On a terminal a rich view shows the latest screenshot's page, what the last update changed (with the screenshots
it was read from) and the current top K; piped, one line per update (or one JSON object with --json-lines).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import threading
import time

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agent.cli import render
from agent.cli.common import EXIT_OK, UsageError, browser_options, common_options, model_options, settings_from
from agent.cli.run import _source
from agent.live import LiveRecommender, LiveUpdate, leading_values
from agent.pipeline import RunListener
from agent.wiring import build_runtime, start_shop
from shop.live import LiveFeed
from tools.capture.session import browse_session
from tools.recommend.explain import money
from tools.schemas import Frame


class _View(RunListener):
    """Keeps what the display shows; updated from the capture thread and the live worker."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.lock = threading.Lock()
        self.last_page = "-"
        self.screenshots = 0
        self.update: LiveUpdate | None = None

    def frame_captured(self, frame: Frame) -> None:
        with self.lock:
            self.screenshots += 1
            self.last_page = frame.url or self.last_page

    def render(self) -> Group:
        with self.lock:
            update, page, shots = self.update, self.last_page, self.screenshots
        head = Text(f"page: {page}   screenshots: {shots}", style="bold")
        if update is None:
            return Group(head, Text("waiting for the first distinct screenshot ..."))
        values = leading_values(update.summary)
        summary = Text("summary: " + ", ".join(f"{k} {v}" for k, v in values.items() if v), overflow="fold")
        changed = Text(f"update #{update.number}: " + (", ".join(update.changed) + " changed" if update.changed
                                                       else "same leading values")
                       + f" (read {len(update.frames)} new screenshot(s), {update.latency_s:.2f} s)")
        table = Table(title=f"Recommended for you (top {len(update.recommendations)})", expand=True)
        for column in ("#", "product", "brand", "price", "why"):
            table.add_column(column, overflow="fold")
        for rec in update.recommendations:
            price = money(rec.price, rec.currency) if rec.price is not None else "-"
            table.add_row(str(rec.rank), rec.title, rec.brand or "-", price, rec.reasons[0] if rec.reasons else "")
        return Group(head, summary, changed, table)


def _line(update: LiveUpdate) -> str:
    top = ", ".join(f"{r.rank}. {r.title[:40]}" for r in update.recommendations[:3])
    what = ", ".join(update.changed) or "nothing"
    return f"update #{update.number} ({update.latency_s:.2f} s, {len(update.frames)} new): {what} changed; {top}"


def _follow(args: argparse.Namespace, runtime, persona, live: LiveRecommender, view: _View,  # noqa: ANN001
            shop_url: str | None = None) -> None:
    """Run the source into a new session, every screenshot going to ``live``: a persona or script browsing
    ``args.url`` (else ``shop_url``, else a demo shop started here), or the browser at ``args.cdp_url``."""
    def on_frame(frame: Frame) -> None:
        view.frame_captured(frame)
        live.frame_arrived(frame)

    if persona is None:
        from agent.cli.browse import record_attached_browser

        view.frame_captured = on_frame  # type: ignore[method-assign]  # the recorder tells the listener
        record_attached_browser(args, runtime, view)
        return
    session_id = runtime.frames.new_session(source=f"watch:{persona.name}")
    url = args.url or shop_url
    if url:
        browse_session(runtime.browser_config, runtime.frames, session_id, url, persona,
                       pace_s=runtime.settings.pace_s, on_frame=on_frame)
        return
    with start_shop(runtime) as shop:
        browse_session(runtime.browser_config, runtime.frames, session_id, shop.url, persona,
                       pace_s=runtime.settings.pace_s, on_frame=on_frame)


def _report(live: LiveRecommender, started: float) -> None:
    latencies = [u.latency_s for u in live.history]
    if latencies:
        render.stderr.print(f"{len(live.history)} updates in {time.perf_counter() - started:.0f} s; latency from a "
                            f"new screenshot to new recommendations: median {statistics.median(latencies):.2f} s, "
                            f"max {max(latencies):.2f} s", highlight=False)
    for error in live.errors:
        render.stderr.print(f"[yellow]update failed:[/yellow] {error}", highlight=False)


def cmd_watch(args: argparse.Namespace) -> int:
    args.session, args.report = None, None  # watch has no stored-session source and no report
    persona = _source(args)
    if args.server:  # the service reads and ranks; this process only browses and sends
        from agent.cli.watch_client import cmd_watch_server
        return cmd_watch_server(args, persona)
    if args.key or args.shopper:
        raise UsageError("--key and --shopper go with --server URL")
    runtime = build_runtime(settings_from(args))
    runtime.store.load_filter_index()  # a watch searches at every update
    view = _View(runtime.settings.k)
    interactive = render.stderr.is_terminal and not args.json_lines

    def on_update(update: LiveUpdate) -> None:
        with view.lock:
            view.update = update
        if args.json_lines:
            print(json.dumps({"update": update.number, "frames": update.frames, "changed": update.changed,
                              "latency_s": update.latency_s, "timings": update.timings,
                              "recommendations": [r.model_dump() for r in update.recommendations]}), flush=True)
        elif not interactive:
            print(_line(update), flush=True)

    live = LiveRecommender(runtime, on_update)
    started = time.perf_counter()
    try:
        with Live(console=render.stderr, refresh_per_second=4, get_renderable=view.render) if interactive \
                else contextlib.nullcontext():
            _follow(args, runtime, persona, live, view)
            live.drain()
    except KeyboardInterrupt:
        render.stderr.print("stopped")
    finally:
        live.close()
        runtime.close()
    _report(live, started)
    return EXIT_OK


def panel_payload(update: LiveUpdate) -> dict:
    """What the shop's panel shows of an update."""
    return {"update": update.number, "status": f"update {update.number}: "
            + (", ".join(update.changed) + " changed" if update.changed else "refined"),
            "recommendations": [{"rank": r.rank, "product_id": r.product_id, "title": r.title,
                                 "why": r.reasons[0] if r.reasons else ""} for r in update.recommendations]}


def cmd_shop_live(args: argparse.Namespace) -> int:
    """`interarec shop serve --live`: the shop with its panel, fed by the agent following the shopper."""
    args.session, args.report = None, None
    if args.persona is None and args.script is None and args.cdp_url is None:
        raise UsageError("--live follows a shopper: give --cdp-url URL (a Chromium you browse the shop in, started "
                         "with --remote-debugging-port), or --persona NAME / --script FILE for a scripted one")
    args.url = None
    persona = _source(args)
    runtime = build_runtime(settings_from(args))
    runtime.store.load_filter_index()
    feed = LiveFeed()
    live = LiveRecommender(runtime, lambda update: feed.publish(panel_payload(update)))
    view = _View(runtime.settings.k)
    started = time.perf_counter()
    try:
        with start_shop(runtime, port=args.port, live=feed) as shop:
            render.stderr.print(f"InteraShop serving {len(runtime.shop_products)} products at {shop.url}, with the "
                                "live panel (Ctrl-C to stop)", highlight=False)
            _follow(args, runtime, persona, live, view, shop_url=shop.url)
            live.drain()
            _report(live, started)
            render.stderr.print("the shopper's session ended; still serving (Ctrl-C to stop)")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        render.stderr.print("stopped")
    finally:
        live.close()
        runtime.close()
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    command = sub.add_parser("watch", parents=[common_options(), model_options(), browser_options()],
                             help="recommendations that follow the shopper live while they browse")
    command.add_argument("--persona", help="a built-in shopper (interarec personas list)")
    command.add_argument("--script", help="a browsing script (see README)")
    command.add_argument("--url", help="the site a persona or script browses (default: the demo shop, started here)")
    command.add_argument("--cdp-url", help="follow a Chromium you run (started with --remote-debugging-port)")
    command.add_argument("--seconds", type=float, help="how long to follow --cdp-url (default 60)")
    command.add_argument("--json-lines", action="store_true", help="one JSON object per update on stdout")
    command.add_argument("--server", metavar="URL", help="send the frames to a recommendation service (`interarec "
                                                        "serve` at URL) and print what it recommends")
    command.add_argument("--key", help="with --server: the shop's API key (default INTERAREC_SERVER_KEY)")
    command.add_argument("--shopper", help="with --server: the shopper id to send as (default a new one)")
    command.set_defaults(func=cmd_watch)
