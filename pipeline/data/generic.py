"""The user's own labelled CSV, TSV or JSONL file.

Options:
  path     the file, absolute or relative to the data root (required).
  format   csv | tsv | jsonl; default from the extension (.csv, .tsv/.tab, .jsonl/.ndjson).
  columns  canonical field -> source column. id, text and label are required; title,
           image_paths, timestamp, user_id, event, split and lang are optional.
           image_paths holds one path or a ';'-separated list (a JSON list in JSONL),
           relative to the file's folder; paths are stored relative to the data root when
           the file lies inside it, else absolute. Only existing files are kept; a row
           whose image paths have no file is counted as 'image file not found'.
           split values must be train, val or test (anything else is a counted skip);
           without a split column ingest splits by time or stratified.
           Timestamps without a zone are read as UTC.
  labels   source label value -> 1 (fake) / 0 (real), or None to exclude (required), e.g.
           {"fake": 1, "real": 0}; values are matched case-insensitively and values not in
           it are counted skips 'label not in mapping'.
  lang     language code for every row when no lang column is mapped (default "en").

Source columns that are not mapped are kept in extra. A missing mapped column is an
IngestError naming the file and the columns; malformed rows or JSON lines, empty text,
empty ids and duplicate ids are counted skips (see readers.py and ingest.py).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.data.readers import read_csv, read_jsonl
from pipeline.data.schema import SPLITS, IngestError, IngestReport, article, where
from pipeline.data.timeparse import parse_timestamp
from pipeline.data.validate import clean_text, map_label, require_columns

NAME = "generic"
FOLDER = ""
NEEDS = "options: path, columns (id, text, label), labels"
DESCRIPTION = "a user's labelled CSV / TSV / JSONL file"
TEXT_REQUIRED = True
REQUIRED_FIELDS = ("id", "text", "label")
OPTIONAL_FIELDS = ("title", "image_paths", "timestamp", "user_id", "event", "split", "lang")


def provides(options: dict) -> frozenset[str]:
    """Images where the options map an image_paths column."""
    return frozenset({"images"}) if "image_paths" in (options.get("columns") or {}) else frozenset()


FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _option(options: dict, key: str, what: str):
    if not options.get(key):
        raise IngestError(f"{NAME}: option '{key}' is required ({what})")
    return options[key]


def _check_columns(columns: dict) -> None:
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    unknown = [f for f in columns if f not in REQUIRED_FIELDS + OPTIONAL_FIELDS]
    if missing or unknown:
        raise IngestError(
            f"{NAME}: option 'columns' must map {', '.join(REQUIRED_FIELDS)} (missing: {missing or 'none'}) "
            f"and may map {', '.join(OPTIONAL_FIELDS)} (unknown: {unknown or 'none'})"
        )


def _label_mapping(labels: dict) -> dict:
    mapping = {clean_text(k).lower(): v for k, v in labels.items()}
    bad = {k: v for k, v in mapping.items() if v not in (0, 1, None)}
    if bad:
        raise IngestError(f"{NAME}: option 'labels' must map source values to 1 (fake), 0 (real) or None; got {bad}")
    return mapping


def _records(path: Path, fmt: str, report: IngestReport):
    if fmt == "jsonl":
        return read_jsonl(path, report)
    return read_csv(path, report, delimiter="\t" if fmt == "tsv" else ",")


def _image_paths(value, folder: Path, data_root: Path) -> tuple[list[str], int]:
    """(stored paths of the files that exist, number of listed paths)."""
    items = value if isinstance(value, list) else clean_text(value).split(";")
    listed = [clean_text(i) for i in items if clean_text(i)]
    root = data_root.resolve()
    found = []
    for item in listed:
        p = (folder / item).resolve()
        if p.is_file():
            found.append(str(p.relative_to(root)) if p.is_relative_to(root) else str(p))
    return found, len(listed)


def _value(rec: dict, columns: dict, field: str):
    """The row's value for a canonical field, or None when the field is not mapped."""
    return rec.get(columns[field]) if field in columns else None


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    path = Path(_option(options, "path", "the CSV/TSV/JSONL file to read"))
    if not path.is_absolute():
        path = data_root / path
    report.source = str(path)
    fmt = options.get("format") or FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "tsv", "jsonl"):
        raise IngestError(f"{path}: cannot tell the format from the extension; set option format to csv, tsv or jsonl")
    columns = dict(_option(options, "columns", "canonical field -> source column, with id, text and label"))
    _check_columns(columns)
    mapping = _label_mapping(_option(options, "labels", "source label value -> 1 fake / 0 real"))
    default_lang = options.get("lang", "en")
    mapped = set(columns.values())

    rows = []
    header_checked = False
    for line, rec in _records(path, fmt, report):
        if not header_checked:
            require_columns(list(rec), list(columns.values()), path)
            header_checked = True
        loc = where(path, line)
        record_id = clean_text(_value(rec, columns, "id"))
        if not record_id:
            report.reject("empty id", f"{loc} [{columns['id']}]")
            continue
        label = map_label(_value(rec, columns, "label"), mapping, report, f"{loc} [{columns['label']}]")
        if label is None:
            continue
        split = clean_text(_value(rec, columns, "split")).lower() or None
        if "split" in columns and split not in SPLITS:
            report.reject(f"split not train/val/test ({split or 'empty'})", f"{loc} [{columns['split']}]")
            continue
        image_paths, listed = _image_paths(_value(rec, columns, "image_paths"), path.parent, data_root)
        if listed and not image_paths:
            report.flag("image file not found", f"{loc} [{columns['image_paths']}]")
        rows.append(
            article(
                id=record_id,
                text=clean_text(_value(rec, columns, "text")),
                label=label,
                title=clean_text(_value(rec, columns, "title")) or None,
                image_paths=image_paths,
                timestamp=parse_timestamp(
                    _value(rec, columns, "timestamp"), report, f"{loc} [{columns.get('timestamp')}]"
                ),
                user_id=clean_text(_value(rec, columns, "user_id")) or None,
                event=clean_text(_value(rec, columns, "event")) or None,
                lang=clean_text(_value(rec, columns, "lang")) or default_lang,
                split=split,
                extra={k: v for k, v in rec.items() if k not in mapped},
            )
            | {"_loc": loc}
        )
    return rows
