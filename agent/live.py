"""Live recommendations: as new distinct screenshots arrive, read only those, update the summary and re-solve.

Bounded work: one worker thread makes the updates, so at most one is in flight; screenshots that arrive while
it works wait and are taken together by the next update (after a short debounce, so a fast scroll makes one
update, not ten). Reading a screenshot (OCR) takes over a second, so a shopper who moves faster than that would
make the queue, and the delay, grow without end: an update therefore reads only the newest screenshot it takes
and keeps the older ones in a backlog that is read, one per update, whenever nothing new is waiting (such
"catch-up" updates are marked). A catch-up read gives way as soon as a new screenshot arrives: it stops between two
lines of OCR and its screenshot goes back to the backlog (the lines it recognised are kept by the OCR's line
cache, so the next attempt does not repeat them), so a new screenshot waits for one line, not one screenshot.
Incremental: the offline reader reads each new screenshot once and the summary is re-added from the kept readings
(an MLLM is sent only what its previous summary has not covered); retrieval is skipped when the constraints did not
change, and nothing is re-solved when the summary did not change.

Each update records its latency: from the arrival of the screenshot it read to the new
recommendations, split by stage (read, summarise, constrain, retrieve, optimise).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.pipeline import browsed_candidates, browsed_constraints, viewed_ids
from agent.wiring import Runtime
from tools.perception.ocr import OcrInterrupted
from tools.perception.readings import FrameReading, summarise_readings
from tools.perception.screen_reader import OfflineScreenReader
from tools.recommend.constraints import seen_brands, seen_queries
from tools.recommend.explain import recommendations
from tools.recommend.optimizer import select
from tools.schemas import BehaviorSummary, Candidate, Constraints, Frame, Recommendation

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.25  # how long an update waits for more screenshots of the same burst before it starts
KEPT_UPDATES = 50  # whole updates kept (each holds a summary of the session so far); a long watch keeps records


@dataclass
class LiveUpdate:
    """One update of the live recommendations."""

    number: int
    frames: list[str]  # ids of the new screenshots this update read
    summary: BehaviorSummary
    constraints: Constraints
    recommendations: list[Recommendation]
    changed: list[str]  # summary keywords whose leading value changed with this update
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    latency_s: float = 0.0  # from the arrival of the screenshot it read to these recommendations
    catch_up: bool = False  # it read a screenshot from the backlog, not the newest one


@dataclass(frozen=True)
class UpdateRecord:
    """What is kept of every update for the statistics of a long watch (a few hundred bytes)."""

    number: int
    frames: int
    catch_up: bool
    latency_s: float
    timings: dict[str, float]
    changed: list[str]


def leading_values(summary: BehaviorSummary) -> dict[str, str | None]:
    """The first value of each keyword the display and the "what changed" line follow."""
    traits, band = summary.product_characteristics, summary.price_range
    return {
        "type": traits.types[0].value if traits.types else None,
        "colour": traits.colours[0].value if traits.colours else None,
        "price range": f"{band.lowest:g}-{band.highest:g}" if band.lowest is not None and band.highest is not None
        else None,
        "brand": summary.brand_preferences[0].value if summary.brand_preferences else None,
    }


class LiveRecommender:
    """Feed it frames (``frame_arrived``, from any thread); it calls ``on_update`` from its worker thread."""

    def __init__(self, runtime: Runtime, on_update: Callable[[LiveUpdate], None], *,
                 debounce_s: float = DEBOUNCE_S) -> None:
        self.runtime = runtime
        self.on_update = on_update
        self.debounce_s = debounce_s
        self.updates: deque[LiveUpdate] = deque(maxlen=KEPT_UPDATES)  # the latest, whole
        self.history: list[UpdateRecord] = []  # every update, its timings only
        self.errors: list[str] = []
        self._pending: list[tuple[Frame, float]] = []
        self._backlog: list[tuple[Frame, float]] = []  # older screenshots of a batch, read when nothing waits
        self._frames: list[Frame] = []  # every distinct screenshot so far, in order
        self._readings: dict[str, FrameReading] = {}
        self._summary: BehaviorSummary | None = None
        self._pool_key: tuple | None = None
        self._candidates: list[Candidate] = []
        self._recommendations: list[Recommendation] = []
        self._titles: dict[str, str | None] = {}  # titles read off screens -> catalog id, looked up once
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._busy = False
        self.ready = threading.Event()  # set once the reader's models are loaded (or failed to load)
        self.screenshots_read = 0  # every read that finished, also those that changed nothing
        self.unchanged = 0  # reads after which the summary was the same, so nothing was re-solved
        self.gave_way = 0  # catch-up reads stopped for a newer screenshot (read again later)
        self._worker = threading.Thread(target=self._run, name="live-recommender", daemon=True)
        self._worker.start()

    def frame_arrived(self, frame: Frame) -> None:
        """A screenshot was stored; duplicates are ignored. Never blocks the capture."""
        if frame.duplicate_of is not None:
            return
        with self._wake:
            self._pending.append((frame, time.perf_counter()))
            self._wake.notify_all()  # the worker, and drain() waiting on the same condition

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Wait until every screenshot given so far is covered by an update (True) or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        with self._wake:
            while self._pending or self._backlog or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(left)
        return True

    def close(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self._worker.join(timeout=30)

    def wait_ready(self, timeout_s: float = 60.0) -> bool:
        return self.ready.wait(timeout_s)

    def _warm_up(self) -> None:
        """Load the reader's models before the first screenshot comes (they take 1-2 s to load)."""
        try:
            warm_up = getattr(self.runtime.summariser, "warm_up", None)
            if warm_up is not None:
                warm_up()
        except Exception:  # the first read will load them, or fail with a reported error
            log.exception("warming up the screen reader failed")
        finally:
            self.ready.set()

    def _run(self) -> None:
        self._warm_up()
        while True:
            with self._wake:
                while not self._pending and not self._backlog and not self._stopping:
                    self._wake.wait()
                if self._stopping and not self._pending:
                    return
                fresh = bool(self._pending)
            if fresh:
                time.sleep(self.debounce_s)  # let the rest of a burst arrive
            with self._wake:
                if self._pending:  # the newest screenshot now; the others of the batch after it
                    batch = self._pending[-1:]
                    self._backlog.extend(self._pending[:-1])
                    self._pending = []
                    catch_up = False
                else:
                    batch, self._backlog = self._backlog[-1:], self._backlog[:-1]
                    catch_up = True
                self._busy = True
            try:
                update = self._update(batch, catch_up)
                if update is not None:
                    self.updates.append(update)
                    self.history.append(UpdateRecord(update.number, len(update.frames), update.catch_up,
                                                     update.latency_s, update.timings, update.changed))
                    self.on_update(update)
            except OcrInterrupted:  # a new screenshot came during a catch-up read: it goes first
                self.gave_way += 1
                with self._wake:
                    self._backlog.extend(batch)
            except Exception as exc:  # a failed update is reported; the next screenshots get a new one
                log.exception("live update failed")
                self.errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    def _update(self, batch: list[tuple[Frame, float]], catch_up: bool = False) -> LiveUpdate | None:
        oldest = min(arrived for _, arrived in batch)
        frames = [frame for frame, _ in batch]
        timings: dict[str, float] = {}
        started = time.perf_counter()
        summariser = self.runtime.summariser
        if isinstance(summariser, OfflineScreenReader):
            interrupted = (lambda: bool(self._pending)) if catch_up else None
            for frame in frames:
                self._readings[frame.frame_id] = summariser.read_frame(frame, interrupted=interrupted)
            self._frames.extend(frames)
            self.screenshots_read += len(frames)
            timings["read"] = time.perf_counter() - started
            mark = time.perf_counter()
            # Frames of one page are read together (the title in one, the price in the next); visits already
            # read come from the reader's cache, so this costs the newest visit only.
            summary = summarise_readings(summariser.read_visits(self._frames), summariser.name)
        else:  # an MLLM: it is sent only what the previous summary has not covered
            self._frames.extend(frames)
            summary = summariser.summarise(self._frames, previous=self._summary)
            self.screenshots_read += len(frames)
            timings["read"] = time.perf_counter() - started
            mark = time.perf_counter()
        timings["summarise"] = time.perf_counter() - mark
        before = leading_values(self._summary) if self._summary else {}
        changed = [k for k, v in leading_values(summary).items() if before.get(k) != v]
        if self._summary is not None and summary.model_dump(exclude={"frames_read"}) == self._summary.model_dump(
                exclude={"frames_read"}):
            self._summary = summary
            self.unchanged += 1
            return None  # nothing new to show: no re-solve
        self._summary = summary

        mark = time.perf_counter()
        settings = self.runtime.settings
        constraints = browsed_constraints(self.runtime, summary)  # the same query as browse-and-recommend
        timings["constrain"] = time.perf_counter() - mark
        mark = time.perf_counter()
        exclude = viewed_ids(self.runtime, summary.products_seen, self._titles)
        key = (constraints, exclude, seen_queries(summary), seen_brands(summary))
        if key != self._pool_key:  # warm: the same constraints and titles seen keep the same pool
            self._candidates = browsed_candidates(self.runtime, constraints, summary, exclude)
            self._pool_key = key
        timings["retrieve"] = time.perf_counter() - mark
        mark = time.perf_counter()
        selection = select(self._candidates, constraints, time_limit_s=settings.solver_time_limit_s)
        self._recommendations = recommendations(selection, constraints)
        timings["optimise"] = time.perf_counter() - mark
        done = time.perf_counter()
        timings = {k: round(v, 4) for k, v in timings.items()}
        return LiveUpdate(number=len(self.history) + 1, frames=[f.frame_id for f in frames], summary=summary,
                          constraints=constraints, recommendations=self._recommendations, changed=changed,
                          timings=timings, latency_s=round(done - oldest, 4), catch_up=catch_up)
