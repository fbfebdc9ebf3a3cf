"""Reading user catalog files (JSONL or CSV) row by row: valid rows become Products, bad rows become
RowErrors naming the line and the field, and never stop the rest from loading."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog.models import Product

CSV_LIST_SEPARATOR = ">"  # category_path in CSV: "Watches > Wrist Watches"


class IngestError(ValueError):
    """The file as a whole cannot be read (missing, unknown format, not text)."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, field {self.field}: {self.message}"


@dataclass
class ParsedFile:
    products: list[Product]
    errors: list[RowError]
    duplicates: int = 0  # rows whose id appeared earlier in the same file (the last one wins)


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _row_errors(line: int, exc: ValidationError) -> list[RowError]:
    return [
        RowError(line, ".".join(str(part) for part in err["loc"]) or "(row)", err["msg"]) for err in exc.errors()
    ]


def _csv_rows(handle: Iterator[str], errors: list[RowError]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) of each CSV record; a record the csv module cannot read (a field over its size limit) is
    reported and skipped."""
    reader = csv.DictReader(handle)  # quoted cells keep their line breaks
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader has consumed the bad record and goes on with the next one
            errors.append(RowError(reader.line_num + 1, "(row)", f"not valid CSV: {exc}"))
            continue
        yield reader.line_num, row


def _csv_record(row: dict[str, Any]) -> dict[str, Any]:
    """CSV cells are strings: empty means missing; lists and mappings have a text form."""
    if None in row:  # DictReader's key for the cells beyond the header's columns
        raise _FieldError("(row)", f"{len(row[None])} more value(s) than the header has columns")
    record: dict[str, Any] = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip()}
    if "category_path" in record:
        record["category_path"] = [p.strip() for p in record["category_path"].split(CSV_LIST_SEPARATOR)]
    if "specifications" in record:
        text = record["specifications"]
        if text.startswith("{"):
            try:
                record["specifications"] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise _FieldError("specifications", f"not a JSON object: {exc.msg}") from exc
        else:  # "Strap: Leather; Dial: Round"
            pairs = [item.split(":", 1) for item in text.split(";") if ":" in item]
            record["specifications"] = {k.strip(): v.strip() for k, v in pairs}
    if "derived_fields" in record:
        record["derived_fields"] = [f.strip() for f in record["derived_fields"].split(",") if f.strip()]
    return record


SUFFIXES = {".jsonl", ".ndjson", ".json", ".csv"}
_CHUNK = 1 << 20


def check_file(path: Path) -> int:
    """Fail early, before anything is stored, on a file that cannot be read as a whole: missing, an unknown
    format, or not UTF-8 text. Returns the number of lines (for progress displays)."""
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise IngestError(f"{path}: unknown format {suffix!r}; use .jsonl (one JSON object per line) or .csv")
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = offset = 0
    last = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise IngestError(f"{path}: not UTF-8 text ({exc.reason} at byte {offset + exc.start})") from exc
            lines += chunk.count(b"\n")
            offset += len(chunk)
            last = chunk[-1:]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise IngestError(f"{path}: not UTF-8 text ({exc.reason} at byte {offset - 1})") from exc
    return lines + (last not in (b"", b"\n"))


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    # JSON Lines end at '\n' only: U+2028, U+0085, a lone '\r' or a form feed may stand in a JSON string.
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.decode("utf-8")
            if number == 1:
                text = text.removeprefix("\ufeff")
            if text.strip():
                yield number, text


def iter_file(path: Path, errors: list[RowError]) -> Iterator[tuple[int, Product]]:
    """(line, product) for each valid row of a ``.jsonl``/``.ndjson``/``.json`` (one object per line) or ``.csv``
    file, read as a stream; each bad row is appended to ``errors`` and skipped. Call :func:`check_file` first."""
    if path.suffix.lower() == ".csv":
        # Decoded as is: a byte-order mark (Excel's CSV) is not data, and a '\r' in a quoted cell stays one.
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
        records = ((line, _csv_record, row) for line, row in _csv_rows(handle, errors))
    else:
        handle = None
        records = ((n, None, raw) for n, raw in _jsonl_lines(path))
    try:
        for line, convert, raw in records:
            try:
                record = convert(raw) if convert else json.loads(raw)
            except _FieldError as exc:
                errors.append(RowError(line, exc.field, str(exc)))
                continue
            except (json.JSONDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
                errors.append(RowError(line, "(row)", f"not valid JSON: {exc}"))
                continue
            if not isinstance(record, dict):
                errors.append(RowError(line, "(row)", "expected a JSON object"))
                continue
            try:
                yield line, Product.model_validate(record)
            except ValidationError as exc:
                errors.extend(_row_errors(line, exc))
    finally:
        if handle is not None:
            handle.close()


def parse_file(path: Path) -> ParsedFile:
    """All valid products of a file at once (the last row wins for a repeated id), and the bad rows."""
    check_file(path)
    products: dict[str, Product] = {}
    errors: list[RowError] = []
    duplicates = 0
    for _, product in iter_file(path, errors):
        duplicates += product.id in products
        products[product.id] = product
    return ParsedFile(list(products.values()), errors, duplicates)
