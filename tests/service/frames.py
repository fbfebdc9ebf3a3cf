"""Real frames for the service tests: screenshots and text layers captured by Chromium from the demo shop."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Captured:
    png: bytes
    text_layer: str | None  # JSON, as a client posts it
    url: str
    title: str


def capture_demo_frames(root, script: str) -> list[Captured]:
    """Browse the demo shop along ``script`` with real Chromium; every distinct frame with its text layer."""
    from agent.settings import load_settings
    from agent.wiring import browser_config, start_demo_shop
    from tools.capture.browse_script import parse_script
    from tools.capture.frames import FrameStore
    from tools.capture.session import browse_session

    settings = load_settings(data_dir=root)
    store = FrameStore(root / "frames")
    try:
        session = store.new_session(source="test:service")
        with start_demo_shop() as shop:
            browse_session(browser_config(settings), store, session, shop.url, parse_script(script), pace_s=0.3)
        captured = []
        for frame in store.frames(session, unique_only=True):
            layer = store.text_layer(frame)
            with open(frame.path, "rb") as blob:
                captured.append(Captured(blob.read(), layer.dumps() if layer else None, frame.url, frame.title))
        return captured
    finally:
        store.close()


def png_of(width: int, height: int, colour: str = "white") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def huge_png(width: int = 20000, height: int = 20000) -> bytes:
    """A real, complete greyscale PNG of ``width`` x ``height`` (all black), built row by row without holding
    the pixels: a few hundred kB that would decode to ``width * height`` bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte 0 and a row of zeros
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
