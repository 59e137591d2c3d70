"""The user's own labelled CSV, TSV or JSONL file.

Options:
  path     the file, absolute or relative to the data root (required).
  format   csv | tsv | jsonl; default from the extension (.csv, .tsv/.tab, .jsonl/.ndjson).
  encoding the file's text encoding (default utf-8, a BOM allowed; e.g. latin-1, cp1252).
           Bytes that do not decode become U+FFFD and are counted in the report's notes.
  columns  canonical field -> source column. id, text and label are required; title,
           image_paths, timestamp, user_id, event, split and lang are optional.
           image_paths holds one path or a ';'-separated list (a JSON list in JSONL),
           relative to the file's folder; paths are stored relative to the data root when
           the file lies inside it, else absolute. Only existing files are kept; a row
           whose image paths have no file is counted as 'image file not found'. A path
           that resolves (symlinks followed) outside the data root, the file's folder and
           image_root is removed and the row counted as 'image path outside the data folder'.
           split values must be train, val or test (anything else is a counted skip);
           without a split column ingest splits by time or stratified.
           Timestamps without a zone are read as UTC.
  labels   source label value -> 1 (fake) / 0 (real), or None to exclude (required), e.g.
           {"fake": 1, "real": 0}; values are matched case-insensitively and values not in
           it are counted skips 'label not in mapping'.
  lang     language code for every row when no lang column is mapped (default "en").
  image_root  a further folder (absolute or relative to the data root) that image paths
           may point into, e.g. a shared image store outside the data root.

Source columns that are not mapped are kept in extra. A CSV/TSV header without a mapped
column is an IngestError naming the file and the columns; in JSONL each object is checked
on its own: an object without a mapped id, text or label field is a counted skip 'missing
field <name>', a missing optional field is null, and a mapped field that is in none of the
objects is an IngestError. A JSON object or list where text or a number is expected is a
counted skip. Malformed rows or JSON lines, empty text, empty ids and duplicate ids are
counted skips (see readers.py and ingest.py).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.data.readers import UTF8, read_csv, read_jsonl
from pipeline.data.schema import SPLITS, IngestError, IngestReport, article, where
from pipeline.data.timeparse import parse_timestamp
from pipeline.data.validate import IMAGE_OUTSIDE, clean_text, map_label
from pipeline.paths import image_roots, inside, resolve_path

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


def _mapping_option(options: dict, key: str, what: str) -> dict:
    value = _option(options, key, what)
    if not isinstance(value, dict):
        raise IngestError(f"{NAME}: option '{key}' must be a mapping ({what}), got {type(value).__name__}")
    return dict(value)


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


def _encoding(options: dict) -> str:
    encoding = options.get("encoding") or UTF8
    try:
        "x".encode(encoding)
    except (LookupError, TypeError):
        raise IngestError(
            f"{NAME}: option 'encoding' is {encoding!r}, not a known text encoding (e.g. utf-8, latin-1, cp1252)"
        ) from None
    return encoding


def _records(path: Path, fmt: str, columns: dict, encoding: str, report: IngestReport):
    if fmt == "jsonl":
        return read_jsonl(path, report, encoding=encoding, encoding_option="encoding")
    return read_csv(
        path,
        report,
        delimiter="\t" if fmt == "tsv" else ",",
        encoding=encoding,
        encoding_option="encoding",
        required=list(dict.fromkeys(columns.values())),
    )


def _file_path(data_root: Path, options: dict) -> Path:
    path = Path(str(_option(options, "path", "the CSV/TSV/JSONL file to read")))
    return path if path.is_absolute() else data_root / path


def _check_image_root(data_root: Path, options: dict) -> None:
    if options.get("image_root") and not (data_root / str(options["image_root"])).is_dir():
        raise IngestError(f"{NAME}: option 'image_root' ({data_root / str(options['image_root'])}) is not a folder")


def _image_paths(value, folder: Path, data_root: Path, roots: list[Path]) -> tuple[list[str], int, int]:
    """(stored paths of the files that exist, number of listed paths inside the allowed
    folders, number of listed paths outside them)."""
    items = value if isinstance(value, list) else clean_text(value).split(";")
    listed = [clean_text(i) for i in items if clean_text(i)]
    root = data_root.resolve()
    found, outside = [], 0
    for item in listed:
        p = resolve_path(folder / item)
        if p is not None and not inside(p, roots):
            outside += 1
        elif p is not None and p.is_file():
            found.append(str(p.relative_to(root)) if p.is_relative_to(root) else str(p))
    return found, len(listed) - outside, outside


def _value(rec: dict, columns: dict, field: str):
    """The row's value for a canonical field, or None when the field is not mapped."""
    return rec.get(columns[field]) if field in columns else None


JSON_TYPES = {dict: "object", list: "list"}


def _unusable(rec: dict, columns: dict) -> tuple[str, str] | None:
    """(reason, source column) when a row cannot be read: a required field absent from a
    JSON object, or a JSON object or list where text or a number is expected."""
    for field, source in columns.items():
        if source not in rec:
            if field in REQUIRED_FIELDS:
                return f"missing field {source}", source
            continue
        value = rec[source]
        if field == "image_paths" and _strings(value):
            continue
        if isinstance(value, (dict, list)):
            expected = "a path or a list of paths" if field == "image_paths" else "text or a number"
            return f"{source} is a JSON {JSON_TYPES[type(value)]}, not {expected}", source
    return None


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_fields_seen(path: Path, columns: dict, seen: set, objects: int) -> None:
    """A mapped field that none of the JSON objects has is a wrong mapping, as a missing
    CSV column is."""
    never = [c for c in dict.fromkeys(columns.values()) if c not in seen]
    if objects and never:
        raise IngestError(
            f"{path}: mapped field(s) {', '.join(map(repr, never))} in none of the {objects} JSON objects; "
            f"found {', '.join(map(repr, sorted(seen)[:20]))}"
        )


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    path = _file_path(data_root, options)
    report.source = str(path)
    fmt = options.get("format") or FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "tsv", "jsonl"):
        raise IngestError(f"{path}: cannot tell the format from the extension; set option format to csv, tsv or jsonl")
    columns = _mapping_option(options, "columns", "canonical field -> source column, with id, text and label")
    _check_columns(columns)
    mapping = _label_mapping(_mapping_option(options, "labels", "source label value -> 1 fake / 0 real"))
    encoding = _encoding(options)
    _check_image_root(data_root, options)
    roots = image_roots(data_root, FOLDER, options)
    default_lang = options.get("lang", "en")
    mapped = set(columns.values())

    rows = []
    seen, objects = set(), 0
    for line, rec in _records(path, fmt, columns, encoding, report):
        seen.update(rec)
        objects += 1
        loc = where(path, line)
        problem = _unusable(rec, columns)
        if problem:
            report.reject(problem[0], where(path, line, problem[1]))
            continue
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
        image_paths, listed, outside = _image_paths(_value(rec, columns, "image_paths"), path.parent, data_root, roots)
        if outside:
            report.flag(IMAGE_OUTSIDE, f"{loc} [{columns['image_paths']}]")
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
    if fmt == "jsonl":
        _check_fields_seen(path, columns, seen, objects)
    return rows
