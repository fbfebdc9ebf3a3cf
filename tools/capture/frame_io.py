"""Moving sessions in and out of the frame store: import a folder of screenshots, export a session to a folder.

An import is one new session (source ``import:<folder>``) whose frames are the folder's PNG and JPEG files in
natural file-name order (``frame2`` before ``frame10``); each goes through ``FrameStore.add``, so near-duplicates
are recorded as references exactly as in a live capture. Files that are not decodable PNG/JPEG images are
reported, not imported. An export copies each kept frame to ``<sequence:05d><ext>``, its text layer (when it has
one) to ``<sequence:05d>.text.json`` beside it, and writes ``frames.jsonl`` with the metadata of every frame,
duplicates included. Importing an exported folder brings the text layers back with their images; a folder of
plain screenshots has none (its frames are read by OCR).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from tools.capture.frames import FrameStore, FrameStoreError
from tools.capture.phash import ImageFacts, examine
from tools.lines import SIDECAR_SUFFIX, TextLayer

SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg"}  # MPO: a camera JPEG with extra pictures
METADATA_FILE = "frames.jsonl"


@dataclass
class ImportReport:
    session_id: str
    folder: Path
    imported: int = 0
    kept: int = 0
    duplicates: int = 0
    text_layers: int = 0  # images imported with the text layer found beside them
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)

    def as_dict(self) -> dict:
        return {"session_id": self.session_id, "folder": str(self.folder), "imported": self.imported,
                "kept": self.kept, "duplicates": self.duplicates, "text_layers": self.text_layers,
                "skipped": [{"name": name, "reason": reason} for name, reason in self.skipped]}


@dataclass
class ExportReport:
    session_id: str
    dest: Path
    files: list[str] = field(default_factory=list)  # image files written, in sequence order
    text_layers: list[str] = field(default_factory=list)  # text layer files written beside them
    frames: int = 0  # metadata lines written (kept and duplicates)

    def as_dict(self) -> dict:
        return {"session_id": self.session_id, "dest": str(self.dest), "files": self.files,
                "copied": len(self.files), "text_layers": self.text_layers, "frames": self.frames,
                "metadata": str(self.dest / METADATA_FILE)}


def natural_key(name: str) -> tuple:
    """Sort key putting ``frame2`` before ``frame10``: digit runs compare as numbers, the rest case-insensitively."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(part) if i % 2 else part.lower() for i, part in enumerate(parts)), name


def _decode(data: bytes) -> tuple[str, ImageFacts]:
    """The file suffix for a PNG or JPEG and its image facts; raises ValueError for anything else."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
        if kind not in SUFFIXES:
            raise ValueError(f"not a PNG or JPEG image ({kind or 'unknown'} format)")
        return SUFFIXES[kind], examine(data)  # examine decodes every pixel, so a truncated file fails here
    except UnidentifiedImageError as exc:
        raise ValueError("not an image file") from exc
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a decodable PNG or JPEG image ({exc})") from exc


def _text_layer_file(image: Path) -> Path:
    """Where an exported image's text layer is: ``00003.png`` -> ``00003.text.json``."""
    return image.with_name(image.stem + SIDECAR_SUFFIX)


def _read_text_layer(image: Path, report: ImportReport) -> TextLayer | None:
    """The text layer exported beside ``image``, if there is one; an unreadable one is reported."""
    file = _text_layer_file(image)
    if not file.is_file():
        return None
    try:
        return TextLayer.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        report.skipped.append((file.name, f"not a readable text layer ({str(exc).splitlines()[0]})"))
        return None


def import_folder(store: FrameStore, folder: Path) -> ImportReport:
    """Import a folder's PNG/JPEG files as one new, complete session (with the text layers an export wrote
    beside them); other entries are reported as skipped."""
    folder = Path(folder).absolute()
    if not folder.is_dir():
        raise FrameStoreError(f"cannot import {folder}: no such folder")
    entries = sorted(folder.iterdir(), key=lambda p: natural_key(p.name))
    if not entries:
        raise FrameStoreError(f"cannot import {folder}: the folder is empty")
    report = ImportReport(session_id="", folder=folder)
    text_files = {entry.name for entry in entries if entry.name.endswith(SIDECAR_SUFFIX) and entry.is_file()}
    with_image: set[str] = set()  # text layers that went in with their image
    try:
        for entry in entries:
            if entry.name in text_files:  # goes in with its image, below
                continue
            if not entry.is_file():
                report.skipped.append((entry.name, "not a file"))
                continue
            data = entry.read_bytes()
            try:
                suffix, facts = _decode(data)
            except ValueError as exc:
                report.skipped.append((entry.name, str(exc)))
                continue
            if not report.session_id:  # created on the first image, so a folder without any leaves no session
                report.session_id = store.new_session(f"import:{folder}")
            text_layer = _read_text_layer(entry, report)
            with_image.add(_text_layer_file(entry).name)
            frame = store.add(report.session_id, data, suffix=suffix, reason="import", url="", facts=facts,
                              captured_at=entry.stat().st_mtime, text_layer=text_layer)
            report.imported += 1
            report.text_layers += text_layer is not None
            if frame.duplicate_of is None:
                report.kept += 1
            else:
                report.duplicates += 1
    except BaseException as exc:
        if report.session_id:
            store.end_session(report.session_id, "interrupted", f"import failed: {exc!r}")
        raise
    report.skipped.extend((name, "a text layer without its image")
                          for name in sorted(text_files - with_image, key=natural_key))
    if not report.session_id:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in report.skipped)
        raise FrameStoreError(f"cannot import {folder}: no PNG or JPEG images in it ({reasons})")
    store.end_session(report.session_id, "complete",
                      f"{report.imported} imported, {len(report.skipped)} skipped")
    return report


def export_session(store: FrameStore, session_id: str, dest: Path) -> ExportReport:
    """Copy a session's kept frames (and their text layers) to ``dest`` and write every frame's metadata to
    ``dest/frames.jsonl``."""
    dest = Path(dest)
    store.session(session_id)  # raises for an unknown id
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FrameStoreError(f"cannot export to {dest}: it exists and is not an empty folder")
    frames = store.frames(session_id)
    names: dict[str, str] = {}  # frame id of a kept frame -> its exported file name
    for frame in frames:
        if frame.duplicate_of is None and not Path(frame.path).is_file():
            raise FrameStoreError(f"frame {frame.frame_id}: its image file {frame.path} is missing")
    dest.mkdir(parents=True, exist_ok=True)
    report = ExportReport(session_id=session_id, dest=dest)
    lines = []
    text_names: dict[str, str] = {}  # frame id of a kept frame -> its exported text layer's file name, if any
    for frame in frames:
        if frame.duplicate_of is None:
            name = f"{frame.sequence:05d}{Path(frame.path).suffix}"
            shutil.copyfile(frame.path, dest / name)
            names[frame.frame_id] = name
            report.files.append(name)
            text_layer = store.text_layer_path(frame.sha256)
            if text_layer.is_file():
                text_name = _text_layer_file(dest / name).name
                shutil.copyfile(text_layer, dest / text_name)
                text_names[frame.frame_id] = text_name
                report.text_layers.append(text_name)
        original = frame.duplicate_of or frame.frame_id
        lines.append(json.dumps({**frame.model_dump(), "file": names.get(original, ""),
                                 "text_layer": text_names.get(original, "")}, ensure_ascii=False))
    (dest / METADATA_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    report.frames = len(lines)
    return report
