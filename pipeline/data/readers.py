"""Tolerant file readers that count what they cannot read instead of crashing or dropping."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from pipeline.data.schema import IngestError, IngestReport, where

csv.field_size_limit(1 << 30)


def read_text(path: Path, report: IngestReport) -> str:
    """Decode UTF-8 (BOM allowed). Undecodable bytes become U+FFFD and each affected line is
    counted in the report's notes, so mojibake is visible rather than a crash."""
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        lines = raw.split(b"\n")
        bad = []
        for number, line in enumerate(lines, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                bad.append(number)
        report.note(
            f"{path}: {len(bad)} line(s) with non-UTF-8 bytes decoded with U+FFFD replacement "
            f"(first at lines {bad[:5]})"
        )
        return raw.decode("utf-8-sig", errors="replace")


def read_csv(
    path: Path,
    report: IngestReport,
    delimiter: str = ",",
    header: list[str] | None = None,
    quoting: int = csv.QUOTE_MINIMAL,
) -> Iterator[tuple[int, dict]]:
    """Yield (line number, row dict). Rows whose field count differs from the header are
    counted as 'malformed row' skips with their line number. `quoting=csv.QUOTE_NONE` reads
    files whose fields contain bare quote characters (e.g. LIAR's TSV)."""
    reader = csv.reader(io.StringIO(read_text(path, report), newline=""), delimiter=delimiter, quoting=quoting)
    if header is None:
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            return
    for fields in reader:
        line = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # blank line: not a row
        report.rows_read += 1
        if len(fields) != len(header):
            report.reject(
                "malformed row (wrong number of fields)",
                where(path, line, f"{len(fields)} fields, expected {len(header)}"),
            )
            continue
        yield line, dict(zip(header, fields))


def read_jsonl(path: Path, report: IngestReport) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object); lines that are not JSON objects are counted skips."""
    # split on "\n" only: str.splitlines() would also break on U+2028 and friends, which
    # JSON allows unescaped inside strings
    for line_no, line in enumerate(read_text(path, report).split("\n"), start=1):
        if not line.strip():
            continue
        report.rows_read += 1
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            report.reject("malformed JSON line", where(path, line_no, f"{err.msg} at column {err.colno}"))
            continue
        if not isinstance(obj, dict):
            report.reject("malformed JSON line", where(path, line_no, "not an object"))
            continue
        yield line_no, obj
