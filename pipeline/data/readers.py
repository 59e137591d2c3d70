"""Tolerant file readers that count what they cannot read instead of crashing or dropping.

Every record of a file is accounted for: it is yielded, or counted in the report as a
rejected row with its line number, or the whole file is refused with an IngestError that
names the lines (a CSV quoting error that would merge or swallow rows).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

from pipeline.data.schema import IngestError, IngestReport, where
from pipeline.data.validate import require_columns

csv.field_size_limit(1 << 30)

UTF8 = "utf-8"
QUOTING_ADVICE = 'fix the quoting (a quote inside a quoted field is written twice: "") or convert the file to JSONL'


def read_text(path: Path, report: IngestReport, encoding: str = UTF8, encoding_option: str | None = None) -> str:
    """Decode the file (UTF-8 by default, a BOM allowed). Undecodable bytes become U+FFFD and
    each affected line is counted in the report's notes, so mojibake is visible rather than a
    crash; `encoding_option` names the option that sets the encoding, for the note's advice."""
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    if not path.is_file():
        raise IngestError(f"{path}: not a file")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise IngestError(f"{path}: cannot read ({err.strerror or err})") from None
    codec = "utf-8-sig" if codecs.lookup(encoding).name == UTF8 else encoding
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        bad = _undecodable_lines(raw, codec)
        what = "non-UTF-8 bytes" if codec == "utf-8-sig" else f"bytes that are not {encoding}"
        advice = f"; if the file is not {encoding}, set the option '{encoding_option}' (e.g. latin-1)"
        report.note(
            f"{path}: {len(bad)} line(s) with {what} decoded with U+FFFD replacement "
            f"(first at lines {bad[:5]}){advice if encoding_option else ''}"
        )
        return raw.decode(codec, errors="replace")


def _undecodable_lines(raw: bytes, codec: str) -> list[int]:
    bad = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode(codec)
        except UnicodeDecodeError:
            bad.append(number)
    return bad


def _one_line(line: str, delimiter: str, quoting: int) -> list[str]:
    """The fields of one physical line parsed on its own (lenient: an open quote runs to the end)."""
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter, quoting=quoting), [])


def _ranges(numbers: list[int]) -> str:
    """'6-9, 12' for [6, 7, 8, 9, 12]."""
    parts, start = [], numbers[0]
    for prev, cur in zip(numbers, numbers[1:] + [None]):
        if cur != prev + 1:
            parts.append(f"{start}-{prev}" if prev > start else str(start))
            start = cur
    return ", ".join(parts)


NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
MAX_CATEGORIES = 10


def _bare(value: str) -> str:
    """The value without quote characters (a stray quote must not change its kind) or outer spaces."""
    return value.replace('"', "").strip()


def _kind(value: str) -> str:
    value = _bare(value)
    if not value:
        return "empty"
    if NUMBER.fullmatch(value):
        return "number"
    return "word" if len(value.split()) == 1 else "text"


class _Profile:
    """What each column holds in the file's one-line rows: kinds of value (empty, number, word,
    text) and, for a column with at most MAX_CATEGORIES distinct values over at least as many
    rows (a label column), those values. A physical line 'fits' when it parses on its own into
    fields of those kinds: then it reads as a row of this file, not as a piece of text."""

    def __init__(self, rows: list[list[str]], n: int):
        self.rows = len(rows)
        self.kinds = [set() for _ in range(n)]
        values: list[set | None] = [set() for _ in range(n)]
        for fields in rows:
            for i, value in enumerate(fields):
                self.kinds[i].add(_kind(value))
                if values[i] is not None:
                    values[i].add(_bare(value))
                    if len(values[i]) > MAX_CATEGORIES:
                        values[i] = None
        self.categories = [v if self.rows >= MAX_CATEGORIES else None for v in values]

    def fits(self, fields: list[str]) -> bool:
        if len(fields) != len(self.kinds):
            return False
        if not self.rows:
            return True  # nothing to compare with: the field count decides
        return all(
            _kind(value) in kinds and (cats is None or _bare(value) in cats)
            for value, kinds, cats in zip(fields, self.kinds, self.categories)
        )


class _CsvFile:
    """A CSV file's physical lines and dialect, and the checks on records that span lines."""

    def __init__(self, path: Path, lines: list[str], delimiter: str, quoting: int):
        self.path, self.lines, self.delimiter, self.quoting = path, lines, delimiter, quoting

    def records(self, header: list[str] | None) -> tuple[list[str] | None, list[tuple[int, int, list[str]]]]:
        """(header, [(first line, last line, fields)] of every record); a quoting error is an
        IngestError naming the line where its record starts and the line where it was found."""
        reader = csv.reader(self.lines, delimiter=self.delimiter, quoting=self.quoting, strict=True)
        if header is None:
            header = self._header(reader)
            if header is None:
                return None, []
        records = []
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return header, records
            except csv.Error as err:
                raise self.quoting_error(start, reader.line_num, err, header) from None
            records.append((start, reader.line_num, fields))

    def _header(self, reader) -> list[str] | None:
        try:
            fields = next(reader)
        except StopIteration:
            return None
        except csv.Error as err:
            raise self.quoting_error(1, reader.line_num, err, None) from None
        if reader.line_num > 1:
            raise IngestError(
                f"{where(self.path, 1)}: the header runs on to line {reader.line_num} (an unbalanced quote in "
                f"the header?); {QUOTING_ADVICE}"
            )
        header = [h.strip() for h in fields]
        repeated = sorted({h for h in header if h and header.count(h) > 1})
        if repeated:
            raise IngestError(
                f"{where(self.path, 1)}: column name(s) {', '.join(map(repr, repeated))} appear more than once in "
                "the header; rename them so that no column is lost"
            )
        return header

    def open_column(self, line: int, header: list[str]) -> str:
        """' [column X]' for the field left open at the end of physical line `line`, or ''."""
        index = len(_one_line(self.lines[line - 1], self.delimiter, self.quoting)) - 1
        return f" [column {header[index]}]" if 0 <= index < len(header) else ""

    def quoting_error(self, start: int, end: int, err: csv.Error, header: list[str] | None) -> IngestError:
        if end <= start:
            return IngestError(f"{where(self.path, start)}: CSV quoting error ({err}); {QUOTING_ADVICE}")
        column = self.open_column(start, header) if header else ""
        swallowed = f"Line {end} was" if end == start + 1 else f"Lines {start + 1}-{end} were"
        return IngestError(
            f"{where(self.path, start)}: CSV quoting error at line {end} ({err}) in the record that starts at "
            f"line {start}: an unbalanced quote at line {start}{column}? {swallowed} read as part of that record; "
            f"{QUOTING_ADVICE}"
        )

    def swallowed(self, start: int, end: int, fields: list[str], profile: _Profile) -> list[int]:
        """Lines of the record start..end that read as rows of their own (see _Profile), where
        they point to a stray quote that merged rows: any such line when the record has the
        wrong number of fields (it would be lost anyway); when it has the right number, only if
        every non-blank line is such a row, the first one read with its opening quote as a
        plain character. A legitimate multi-line text has lines that are not rows."""
        if end <= start or len(profile.kinds) < 2 or self.quoting == csv.QUOTE_NONE:
            return []
        inner = [no for no in range(start + 1, end + 1) if self.lines[no - 1].strip()]
        rowlike = [no for no in inner if profile.fits(_one_line(self.lines[no - 1], self.delimiter, self.quoting))]
        if len(fields) != len(profile.kinds):
            return rowlike
        if not profile.rows:
            return []  # no one-line rows to tell a row from a line of text
        first = _one_line(self.lines[start - 1], self.delimiter, self.quoting)
        first_as_row = first[:-1] + first[-1].split(self.delimiter) if first else []
        return rowlike if rowlike == inner and profile.fits(first_as_row) else []

    def merged_error(self, start: int, suspects: list[int], header: list[str]) -> IngestError:
        return IngestError(
            f"{where(self.path, start)}: rows at lines {_ranges(suspects)} merged into one record starting at "
            f"line {start}: an unbalanced quote at line {start}{self.open_column(start, header)}?; {QUOTING_ADVICE}"
        )


def read_csv(
    path: Path,
    report: IngestReport,
    delimiter: str = ",",
    header: list[str] | None = None,
    quoting: int = csv.QUOTE_MINIMAL,
    *,
    encoding: str = UTF8,
    encoding_option: str | None = None,
    required: list[str] | None = None,
) -> Iterator[tuple[int, dict]]:
    """Yield (line number where the record ends, row dict; LLMFake's ids use it). Rows whose
    field count differs from the header are counted as 'malformed row' skips with the line
    where they start. Quoting is strict: a quoting error, or a record that swallowed lines
    that are rows of their own (a stray quote), is an IngestError naming the lines, never a
    silent merge. `quoting=csv.QUOTE_NONE` reads files whose fields contain bare quote
    characters (e.g. LIAR's TSV). `required` columns are checked against the header before
    any row is read."""
    lines = io.StringIO(read_text(path, report, encoding, encoding_option), newline="").readlines()
    csv_file = _CsvFile(path, lines, delimiter, quoting)
    header, records = csv_file.records(header)
    if header is None:
        return
    if required:
        require_columns(header, required, path)
    profile = _Profile([f for start, end, f in records if start == end and len(f) == len(header)], len(header))
    for start, end, fields in records:
        suspects = csv_file.swallowed(start, end, fields, profile)
        if suspects:
            raise csv_file.merged_error(start, suspects, header)
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # blank line: not a row
        report.rows_read += 1
        if len(fields) != len(header):
            span = f"; record runs to line {end}" if end > start else ""
            report.reject(
                "malformed row (wrong number of fields)",
                where(path, start, f"{len(fields)} fields, expected {len(header)}{span}"),
            )
            continue
        yield end, dict(zip(header, fields))


def _has_lone_surrogate(obj: dict) -> bool:
    """JSON allows escapes such as \\ud800 that are not text; they cannot be stored."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _parse_json_line(line: str) -> tuple[dict | None, str]:
    """(object, '') or (None, what is wrong with the line)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        return None, f"{err.msg} at column {err.colno}"
    except ValueError as err:  # e.g. an integer longer than Python's digit limit
        return None, str(err).split(";")[0]
    except RecursionError:
        return None, "nested too deeply"
    if not isinstance(obj, dict):
        return None, "not an object"
    if "\\u" in line and _has_lone_surrogate(obj):
        return None, "a \\u escape that is half of a surrogate pair (not text)"
    return obj, ""


def read_jsonl(
    path: Path, report: IngestReport, *, encoding: str = UTF8, encoding_option: str | None = None
) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object); lines that are not JSON objects are counted skips."""
    # split on "\n" only: str.splitlines() would also break on U+2028 and friends, which
    # JSON allows unescaped inside strings
    text = read_text(path, report, encoding, encoding_option)
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        report.rows_read += 1
        obj, problem = _parse_json_line(line)
        if obj is None:
            report.reject("malformed JSON line", where(path, line_no, problem))
            continue
        yield line_no, obj
