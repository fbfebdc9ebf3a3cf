"""Moving sessions in and out of the frame store: import a folder of screenshots, export a session to a folder.

An import is one new session (source ``import:<folder>``) whose frames are the folder's PNG and JPEG files in
natural file-name order (``frame2`` before ``frame10``); each goes through ``FrameStore.add``, so near-duplicates
are recorded as references exactly as in a live capture. Files that are not decodable PNG/JPEG images are
reported, not imported. An export copies each kept frame to ``<sequence:05d><ext>`` and writes ``frames.jsonl``
with the metadata of every frame, duplicates included.
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

SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg"}  # MPO: a camera JPEG with extra pictures
METADATA_FILE = "frames.jsonl"


@dataclass
class ImportReport:
    session_id: str
    folder: Path
    imported: int = 0
    kept: int = 0
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)

    def as_dict(self) -> dict:
        return {"session_id": self.session_id, "folder": str(self.folder), "imported": self.imported,
                "kept": self.kept, "duplicates": self.duplicates,
                "skipped": [{"name": name, "reason": reason} for name, reason in self.skipped]}


@dataclass
class ExportReport:
    session_id: str
    dest: Path
    files: list[str] = field(default_factory=list)  # image files written, in sequence order
    frames: int = 0  # metadata lines written (kept and duplicates)

    def as_dict(self) -> dict:
        return {"session_id": self.session_id, "dest": str(self.dest), "files": self.files,
                "copied": len(self.files), "frames": self.frames, "metadata": str(self.dest / METADATA_FILE)}


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


def import_folder(store: FrameStore, folder: Path) -> ImportReport:
    """Import a folder's PNG/JPEG files as one new, complete session; other entries are reported as skipped."""
    folder = Path(folder).absolute()
    if not folder.is_dir():
        raise FrameStoreError(f"cannot import {folder}: no such folder")
    entries = sorted(folder.iterdir(), key=lambda p: natural_key(p.name))
    if not entries:
        raise FrameStoreError(f"cannot import {folder}: the folder is empty")
    report = ImportReport(session_id="", folder=folder)
    try:
        for entry in entries:
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
            frame = store.add(report.session_id, data, suffix=suffix, reason="import", url="", facts=facts,
                              captured_at=entry.stat().st_mtime)
            report.imported += 1
            if frame.duplicate_of is None:
                report.kept += 1
            else:
                report.duplicates += 1
    except BaseException as exc:
        if report.session_id:
            store.end_session(report.session_id, "interrupted", f"import failed: {exc!r}")
        raise
    if not report.session_id:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in report.skipped)
        raise FrameStoreError(f"cannot import {folder}: no PNG or JPEG images in it ({reasons})")
    store.end_session(report.session_id, "complete",
                      f"{report.imported} imported, {len(report.skipped)} skipped")
    return report


def export_session(store: FrameStore, session_id: str, dest: Path) -> ExportReport:
    """Copy a session's kept frames to ``dest`` and write every frame's metadata to ``dest/frames.jsonl``."""
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
    for frame in frames:
        if frame.duplicate_of is None:
            name = f"{frame.sequence:05d}{Path(frame.path).suffix}"
            shutil.copyfile(frame.path, dest / name)
            names[frame.frame_id] = name
            report.files.append(name)
        file = names.get(frame.duplicate_of or frame.frame_id, "")
        lines.append(json.dumps({**frame.model_dump(), "file": file}, ensure_ascii=False))
    (dest / METADATA_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    report.frames = len(lines)
    return report
