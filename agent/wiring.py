"""The composition root: the only place real clients (store, browser, OCR, model endpoint, shop) are built."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from agent.mllm.summariser import MllmSummariser
from agent.settings import Settings
from catalog import embedding
from catalog.files import DEMO_IMAGES, DEMO_PRODUCTS, load_products
from catalog.models import Product
from catalog.store import CatalogStore
from shop.live import LiveFeed
from shop.server import DemoShop
from tools.capture.browser import BrowserConfig
from tools.capture.frames import FrameStore
from tools.perception.ocr import OcrCache, RapidOcrReader
from tools.perception.screen_reader import OfflineScreenReader
from tools.perception.summariser import Summariser, SummariserError
from tools.recommend.catalog_terms import CatalogTerms
from tools.recommend.lexical import LexicalIndex, index_for
from tools.schemas import BehaviorSummary, Frame

log = logging.getLogger(__name__)

CHAT_BACKEND_OFFLINE = (
    "none: constraints come from documented rules (tools/recommend/constraints.py), no chat model ran"
)


@dataclass
class Backends:
    summariser: str
    chat_model: str
    embedding: str
    catalog: str
    optimizer: str
    browser: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class Runtime:
    """Everything a run needs, built once from settings."""

    settings: Settings
    store: CatalogStore
    frames: FrameStore
    summariser: Summariser
    browser_config: BrowserConfig
    shop_products: list[Product]
    shop_images: Path
    backends: Backends

    # What every run asks of the catalog's products, worked out once: a worker or live mode recommends again at
    # each new frame, and rebuilding these cost more than the search itself (the terms ~0.1 s on the demo).
    @cached_property
    def catalog_categories(self) -> set[str]:
        return {c for p in self.shop_products for c in p.category_path}

    @cached_property
    def catalog_currency(self) -> str | None:
        """The currency most of the catalog's prices are in."""
        counts = Counter(p.currency for p in self.shop_products if p.currency)
        return counts.most_common(1)[0][0] if counts else None

    @cached_property
    def catalog_terms(self) -> CatalogTerms:
        return CatalogTerms.from_products(self.shop_products)

    @cached_property
    def lexical(self) -> LexicalIndex:
        return index_for(self.shop_products)

    def close(self) -> None:
        self.frames.close()


def open_store(settings: Settings) -> CatalogStore:
    """The Chroma server at ``chroma_url`` when set, else the embedded store in ``catalog_path``."""
    if settings.chroma_url:
        return CatalogStore.connect(settings.chroma_url)
    return CatalogStore.open(settings.catalog_path)


def catalog_backend_name(settings: Settings) -> str:
    if settings.chroma_url:
        return f"Chroma HttpClient to the server at {settings.chroma_url}"
    return f"Chroma PersistentClient at {settings.catalog_path}"


def forget_readings(settings: Settings) -> Callable[[set[str]], None]:
    """What deleting screenshots must also erase: the OCR text read from them (the OCR cache)."""

    def forget(hashes: set[str]) -> None:
        path = settings.data_dir / "ocr-cache.sqlite"
        if path.exists():
            OcrCache(path).forget(hashes)

    return forget


def open_frames(settings: Settings) -> FrameStore:
    """The screenshot database, with sessions past the retention period removed."""
    frames = FrameStore(settings.frames_path, near_duplicate_bits=settings.near_duplicate_bits)
    if settings.retention_days is not None:
        removed = frames.prune(settings.retention_days, forget=forget_readings(settings))
        if removed:
            log.info("retention: removed %d session(s) older than %g days", len(removed), settings.retention_days)
    return frames


def ensure_demo_catalog(store: CatalogStore, products: list[Product]) -> int:
    """Ingest the shipped demo catalog (idempotent: unchanged products are not re-embedded)."""
    report = store.upsert(products)
    if report.added or report.updated:
        log.info("catalog: %d added, %d updated", report.added, report.updated)
    return store.count()


def build_openai_client(settings: Settings):
    import openai

    # The client retries 429, 5xx, connection errors and timeouts with backoff; nothing else is retried.
    return openai.OpenAI(base_url=settings.openai_base_url, api_key=settings.openai_api_key, max_retries=3,
                         timeout=settings.request_timeout_s)


class FallbackSummariser:
    """The MLLM, and the offline screen reader for a run in which the MLLM fails after its client's retries
    (endpoint down, rate limited, timed out, an answer that is not a summary): the run goes on, a warning on
    stderr gives the reason, and the summary's ``summariser`` names the reader that read the screens."""

    def __init__(self, primary: Summariser, fallback: Summariser) -> None:
        self.primary, self.fallback = primary, fallback
        self.name = f"{primary.name}; the offline screen reader if it fails"
        self.failures: list[str] = []  # why the MLLM failed, one entry per fallback

    def summarise(self, frames: list[Frame], previous: BehaviorSummary | None = None) -> BehaviorSummary:
        try:
            return self.primary.summarise(frames, previous)
        except SummariserError as exc:
            reason = str(exc).splitlines()[0]
            self.failures.append(reason)
            log.warning("summariser: %s; reading the screenshots with the offline screen reader instead", reason)
        summary = self.fallback.summarise(frames, previous)
        return summary.model_copy(update={"summariser": f"{summary.summariser} (fallback; the MLLM failed: "
                                                        f"{reason[:300]})"})


def build_summariser(settings: Settings, brands: list[str], categories: list[str],
                     frames: FrameStore | None = None) -> Summariser:
    """The MLLM when an endpoint and a vision model are configured, else the offline screen reader (which reads
    each frame's text layer from ``frames`` when the capture recorded one)."""
    if settings.uses_endpoint and settings.vision_model:
        return MllmSummariser(build_openai_client(settings), settings.vision_model,
                              max_pixels=settings.vision_max_pixels, timeout=settings.request_timeout_s,
                              cache_path=settings.data_dir / "mllm_cache.sqlite",
                              text_layers=frames.text_layer if frames is not None else None)
    return offline_reader(settings, brands, categories, frames)


def offline_reader(settings: Settings, brands: list[str], categories: list[str],
                   frames: FrameStore | None = None) -> OfflineScreenReader:
    return OfflineScreenReader(brands=brands, categories=categories,
                               ocr=RapidOcrReader(cache_path=settings.data_dir / "ocr-cache.sqlite",
                                                  threads=settings.onnx_threads),
                               text_layers=frames.text_layer if frames is not None else None)


def build_chat_model(settings: Settings):
    """The agent's chat model: an OpenAI-compatible one when configured, else the local rule-based model."""
    if settings.uses_endpoint and settings.chat_model:
        from agent.chat.endpoint_model import EndpointChatModel

        return EndpointChatModel(model=settings.chat_model, base_url=settings.openai_base_url,
                                 api_key=settings.openai_api_key, timeout=settings.request_timeout_s,
                                 max_retries=3, temperature=0)
    from agent.chat.local_model import LocalChatModel

    return LocalChatModel()


def chat_backend_name(settings: Settings) -> str:
    if settings.uses_endpoint and settings.chat_model:
        return (f"OpenAI-compatible chat model {settings.chat_model} at {settings.openai_base_url}; the local rules "
                "model answers the turns it fails (agent/chat/graph.py)")
    from agent.chat.local_model import BACKEND_NAME

    return BACKEND_NAME


# Chromium's own services (component updates, Google account checks, ...) make requests the page routes never
# see, despite --disable-background-networking and --disable-component-update (measured on Chromium 156 with
# --log-net-log: update.googleapis.com and accounts.google.com). Their host names resolve to nothing, so no DNS
# query or connection leaves the machine; allowed origins on these domains stay reachable.
GOOGLE_SERVICE_HOSTS = ("google.com", "*.google.com", "*.googleapis.com", "*.gstatic.com", "*.gvt1.com",
                        "*.gvt2.com", "*.googleusercontent.com")


def host_resolver_rules(allowed_origins: list[str]) -> str:
    rules = [f"MAP {host} ~NOTFOUND" for host in GOOGLE_SERVICE_HOSTS]
    rules += [f"EXCLUDE {host}" for host in sorted({urlsplit(o).hostname for o in allowed_origins} - {None})]
    return "--host-resolver-rules=" + ", ".join(rules)


def browser_config(settings: Settings) -> BrowserConfig:
    return BrowserConfig(
        executable=settings.chromium_path, width=settings.viewport_width, height=settings.viewport_height,
        headless=settings.headless, navigation_timeout_s=settings.navigation_timeout_s,
        rate_hz=settings.capture_rate_hz, allowed_origins=list(settings.allowed_origins),
        extra_args=(host_resolver_rules(settings.allowed_origins), *settings.chromium_args),  # the user's win
        redact_personal=settings.redact_personal_details,
    )


def start_demo_shop(port: int = 0) -> DemoShop:
    """The demo shop over the shipped catalog, started (use as a context manager to stop it)."""
    return DemoShop(load_products(DEMO_PRODUCTS), DEMO_IMAGES, port=port).start()


def build_runtime(settings: Settings, products: list[Product] | None = None, images: Path | None = None) -> Runtime:
    """Everything a run needs. ``products`` replaces the demo catalog (its shop and store; an eval's dataset):
    give it its own ``catalog_dir``, since the store is shared by everything that opens it."""
    images = images or DEMO_IMAGES  # a catalog without photos never asks the shop for one
    products = products if products is not None else load_products(DEMO_PRODUCTS)
    embedding.use_threads(settings.onnx_threads)  # before the first text is embedded
    store = open_store(settings)
    ensure_demo_catalog(store, products)
    brands = sorted({p.brand for p in products if p.brand})
    categories = sorted({c for p in products for c in p.category_path})
    frames = open_frames(settings)
    summariser = build_summariser(settings, brands, categories, frames)
    if isinstance(summariser, MllmSummariser):
        summariser = FallbackSummariser(summariser, offline_reader(settings, brands, categories, frames))
    config = browser_config(settings)
    backends = Backends(
        summariser=summariser.name,
        chat_model=CHAT_BACKEND_OFFLINE,
        embedding="all-MiniLM-L6-v2 int8 ONNX (onnxruntime, offline)",
        catalog=catalog_backend_name(settings),
        optimizer="OR-Tools SCIP MILP (MNL, Charnes-Cooper linearisation)",
        browser=f"Chromium {settings.chromium_path} via Playwright (headless={settings.headless})",
    )
    return Runtime(
        settings=settings, store=store, frames=frames, summariser=summariser,
        browser_config=config, shop_products=products, shop_images=images, backends=backends,
    )


def start_shop(runtime: Runtime, port: int = 0, live: LiveFeed | None = None) -> DemoShop:
    """The shop over the runtime's catalog; with ``live``, every page shows the "Recommended for you" panel."""
    return DemoShop(runtime.shop_products, runtime.shop_images, port=port, live=live).start()
