"""The user's own labelled CSV, TSV or JSONL file, or several such files.

Options:
  path     the file, absolute or relative to the data root (required); or a glob pattern
           (with *, ? or [...]; ** matches any number of folders), or a list of paths and/or
           patterns. The files matched are read in sorted order, each once; a pattern or list
           entry that matches no file is an IngestError naming it and what its folder holds.
           Hidden files (a name starting with '.') match only a pattern that names the dot.
           With a pattern or a list:
           - each row has the virtual source column 'source_file': the file's path relative
             to the data root (with '/'), or for a file outside it, relative to the pattern's
             folder (the part before the first wildcard) or, for a listed path, its name. It
             can be mapped in columns (e.g. event: source_file) and is always kept in extra
             (e.g. for the split policy group with split_by: source_file). A file with its
             own column or field named source_file is an IngestError (rename it); two files
             outside the data root with the same source_file are an IngestError.
           - when more than one file is read, each row's id becomes '<source_file>:<id>', so
             ids that restart in every file stay unique; one file keeps its ids.
           - every file must have the same format; a mix is an IngestError naming the files.
           - the report's source lists the patterns and paths, and how many files matched.
           A single plain path reads as it always has (no source_file; ids as in the file).
  format   csv | tsv | jsonl; default from the extension (.csv, .tsv/.tab, .jsonl/.ndjson).
  encoding the file's text encoding (default utf-8, a BOM allowed; e.g. latin-1, cp1252).
           Bytes that do not decode become U+FFFD and are counted in the report's notes.
  columns  canonical field -> source column. id, text and label are required; title,
           image_paths, timestamp, user_id, event, split and lang are optional.
           image_paths holds one path or a ';'-separated list (a JSON list in JSONL),
           relative to the folder of the row's file; paths are stored relative to the data
           root when the file lies inside it, else absolute. Only existing files are kept; a
           row whose image paths have no file is counted as 'image file not found'. A path
           that resolves (symlinks followed) outside the data root, the folder of option
           path (for a pattern: the folder above its first wildcard) and image_root is removed
           and the row counted as 'image path outside the data folder'.
           split values must be train, val or test (anything else is a counted skip);
           without a split column ingest's default split is stratified (see default_split).
           Timestamps without a zone are read as UTC.
  labels   source label value -> 1 (fake) / 0 (real), or None to exclude (required), e.g.
           {"fake": 1, "real": 0}; values are matched case-insensitively and values not in
           it are counted skips 'label not in mapping'.
  lang     language code for every row when no lang column is mapped (default "en").
  image_root  a further folder (absolute or relative to the data root) that image paths
           may point into, e.g. a shared image store outside the data root.

Source columns that are not mapped are kept in extra. Each CSV/TSV file's header is checked
on its own: one without a mapped column is an IngestError naming the file and the columns;
in JSONL each object is checked on its own: an object without a mapped id, text or label
field is a counted skip 'missing field <name>', a missing optional field is null, and a
mapped field that is in none of a file's objects is an IngestError naming the file. A JSON
object or list where text or a number is expected is a counted skip. Malformed rows or JSON
lines, empty text, empty ids and duplicate ids (within a file) are counted skips (see
readers.py and ingest.py); rows_read counts the records of all files, and each row's
location names its file and line.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.data.readers import UTF8, read_csv, read_jsonl
from pipeline.data.schema import SPLITS, IngestError, IngestReport, article, where
from pipeline.data.timeparse import parse_timestamp
from pipeline.data.validate import IMAGE_OUTSIDE, clean_text, map_label
from pipeline.paths import image_roots, inside, is_pattern, pattern_folder, resolve_path

NAME = "generic"
FOLDER = ""
NEEDS = "options: path, columns (id, text, label), labels"
DESCRIPTION = "a user's labelled CSV / TSV / JSONL file, or several (a glob pattern or a list)"
TEXT_REQUIRED = True
REQUIRED_FIELDS = ("id", "text", "label")
OPTIONAL_FIELDS = ("title", "image_paths", "timestamp", "user_id", "event", "split", "lang")


def default_split(options: dict) -> str:
    # a mapped split column is the user's own split; a timestamp alone no longer makes it chronological
    return "column" if "split" in (options.get("columns") or {}) else "stratified"


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


def _records(path: Path, fmt: str, required: list[str], encoding: str, report: IngestReport):
    if fmt == "jsonl":
        return read_jsonl(path, report, encoding=encoding, encoding_option="encoding")
    return read_csv(
        path,
        report,
        delimiter="\t" if fmt == "tsv" else ",",
        encoding=encoding,
        encoding_option="encoding",
        required=required,
    )


def _file_path(data_root: Path, options: dict) -> Path:
    path = Path(str(_option(options, "path", "the CSV/TSV/JSONL file to read")))
    return path if path.is_absolute() else data_root / path


SOURCE_FILE = "source_file"  # the virtual source column with the row's file, for a pattern or list
SHOWN = 10  # folder entries or file names shown in an error


@dataclass(frozen=True)
class _Input:
    path: Path  # as read and shown in locations: the data root joined with the match
    source_file: str


def _entries(options: dict) -> list[str] | None:
    """The entries of option path when it is a pattern or a list, else None (one plain path)."""
    value = _option(options, "path", "the CSV/TSV/JSONL file to read, a glob pattern, or a list of them")
    if isinstance(value, (list, tuple)):
        bad = [e for e in value if not isinstance(e, (str, os.PathLike)) or not str(e).strip()]
        if bad:
            raise IngestError(f"{NAME}: option 'path' must list file paths or glob patterns (text); got {bad[:3]}")
        return [str(e) for e in value]
    return [str(value)] if is_pattern(str(value)) else None


def _normal(path: Path) -> Path:
    return Path(os.path.normpath(Path(path).absolute()))


def _source_file(data_root: Path, path: Path, base: Path | None) -> str:
    """The file's path relative to the data root (or, outside it, to the pattern's folder
    `base`, or for a listed path its name), with '/'."""
    file, root = _normal(path), _normal(data_root)
    if file.is_relative_to(root):
        return file.relative_to(root).as_posix()
    real_file, real_root = resolve_path(path), resolve_path(data_root)
    if real_file is not None and real_root is not None and real_file.is_relative_to(real_root):
        return real_file.relative_to(real_root).as_posix()
    if base is not None and file.is_relative_to(_normal(base)):
        return file.relative_to(_normal(base)).as_posix()
    return file.name


def _contents(folder: Path) -> str:
    """A short listing of the folder, for an error."""
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    except OSError as err:
        return f"{folder} cannot be listed ({err.strerror or err})" if folder.exists() else f"{folder} does not exist"
    if not names:
        return f"{folder} is empty"
    more = f", ... ({len(names)} entries)" if len(names) > SHOWN else ""
    return f"{folder} holds {', '.join(names[:SHOWN])}{more}"


def _match(data_root: Path, entry: str) -> list[_Input]:
    """The files one entry of option path names, sorted; an IngestError when there are none."""
    full = data_root / entry
    if not is_pattern(entry):
        if full.is_file():
            return [_Input(full, _source_file(data_root, full, None))]
        if full.is_dir():
            raise IngestError(
                f"{NAME}: option 'path' entry {entry!r} ({full}) is a folder, not a file; for its files "
                f"use a pattern such as '{Path(entry, '*.csv').as_posix()}'"
            )
        raise IngestError(f"{NAME}: option 'path' entry {entry!r} ({full}) matches no file; {_contents(full.parent)}")
    base = data_root / pattern_folder(entry)
    if Path(entry).is_absolute():
        found = [Path(m) for m in glob.glob(entry, recursive=True)]
    else:
        found = [data_root / m for m in glob.glob(entry, root_dir=data_root, recursive=True)]
    files = sorted((p for p in found if p.is_file()), key=_normal)
    if not files:
        raise IngestError(f"{NAME}: option 'path' pattern {entry!r} ({full}) matches no file; {_contents(base)}")
    return [_Input(p, _source_file(data_root, p, base)) for p in files]


def _inputs(data_root: Path, entries: list[str]) -> list[_Input]:
    """The files of all entries in sorted order, each once (symlinks followed)."""
    inputs, seen = [], set()
    for item in sorted((i for e in entries for i in _match(data_root, e)), key=lambda i: _normal(i.path)):
        key = resolve_path(item.path) or _normal(item.path)
        if key not in seen:
            seen.add(key)
            inputs.append(item)
    clash: dict[str, list[Path]] = {}
    for item in inputs:
        clash.setdefault(item.source_file, []).append(item.path)
    clash = {name: paths for name, paths in clash.items() if len(paths) > 1}
    if clash:
        name, paths = next(iter(clash.items()))
        raise IngestError(
            f"{NAME}: files {', '.join(map(str, paths))} would all have source_file {name!r} (and ids "
            f"'{name}:<id>'); give them one pattern, e.g. one folder with '*' for the differing part, "
            "or move them under the data root"
        )
    return inputs


def _format(inputs: list[_Input], options: dict) -> str:
    """The one format of all the files; an IngestError naming them when they differ."""
    formats: dict[str, list[_Input]] = {}
    for item in inputs:
        formats.setdefault(options.get("format") or FORMATS.get(item.path.suffix.lower()), []).append(item)
    unknown = [i for f, items in formats.items() if f not in ("csv", "tsv", "jsonl") for i in items]
    if unknown:
        others = f" (and {len(unknown) - 1} other file(s) of option 'path')" if len(unknown) > 1 else ""
        raise IngestError(
            f"{unknown[0].path}: cannot tell the format from the extension{others}; set option format to csv, "
            "tsv or jsonl, or narrow option 'path'"
        )
    if len(formats) > 1:
        listed = "; ".join(
            f"{fmt}: {', '.join(i.source_file for i in items[:SHOWN])}{' ...' if len(items) > SHOWN else ''}"
            for fmt, items in formats.items()
        )
        raise IngestError(
            f"{NAME}: option 'path' matches files of different formats ({listed}); all files must have one format: "
            "narrow the pattern or list, or convert the files"
        )
    return next(iter(formats))


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
    entries = _entries(options)
    if entries is None:
        path = _file_path(data_root, options)
        report.source = str(path)
        inputs = [_Input(path, "")]
        fmt = options.get("format") or FORMATS.get(path.suffix.lower())
        if fmt not in ("csv", "tsv", "jsonl"):
            raise IngestError(
                f"{path}: cannot tell the format from the extension; set option format to csv, tsv or jsonl"
            )
    else:
        report.source = ", ".join(str(data_root / e) for e in entries)
        inputs = _inputs(data_root, entries)
        if any(map(is_pattern, entries)):
            report.source += f" ({len(inputs)} file{'s' if len(inputs) != 1 else ''})"
        fmt = _format(inputs, options)
    columns = _mapping_option(options, "columns", "canonical field -> source column, with id, text and label")
    _check_columns(columns)
    mapping = _label_mapping(_mapping_option(options, "labels", "source label value -> 1 fake / 0 real"))
    encoding = _encoding(options)
    _check_image_root(data_root, options)
    roots = image_roots(data_root, FOLDER, options)
    reading = _Reading(columns, mapping, encoding, fmt, roots, data_root, options.get("lang", "en"), report)
    rows = []
    for item in inputs:
        rows += reading.rows(item, virtual=entries is not None, prefix=len(inputs) > 1)
    return rows


@dataclass
class _Reading:
    """The settings shared by all the files of one read."""

    columns: dict
    mapping: dict
    encoding: str
    fmt: str
    roots: list[Path]
    data_root: Path
    default_lang: str
    report: IngestReport

    def rows(self, item: _Input, virtual: bool, prefix: bool) -> list[dict]:
        """The rows of one file; with `virtual`, each record gets the column source_file and,
        with `prefix`, its id becomes '<source_file>:<id>'."""
        columns, report, path = self.columns, self.report, item.path
        mapped = set(columns.values())
        required = [c for c in dict.fromkeys(columns.values()) if not (virtual and c == SOURCE_FILE)]
        rows = []
        seen, objects = set(), 0
        for line, rec in _records(path, self.fmt, required, self.encoding, report):
            loc = where(path, line)
            if virtual:
                if SOURCE_FILE in rec:
                    kind = "field" if self.fmt == "jsonl" else "column"
                    raise IngestError(
                        f"{loc}: the file has its own {kind} {SOURCE_FILE!r}, the name of the column that option "
                        f"'path' with a pattern or list adds (the file's path); rename that {kind}"
                    )
                rec[SOURCE_FILE] = item.source_file
            seen.update(rec)
            objects += 1
            problem = _unusable(rec, columns)
            if problem:
                report.reject(problem[0], where(path, line, problem[1]))
                continue
            record_id = clean_text(_value(rec, columns, "id"))
            if not record_id:
                report.reject("empty id", f"{loc} [{columns['id']}]")
                continue
            if prefix:
                record_id = f"{item.source_file}:{record_id}"
            label = map_label(_value(rec, columns, "label"), self.mapping, report, f"{loc} [{columns['label']}]")
            if label is None:
                continue
            split = clean_text(_value(rec, columns, "split")).lower() or None
            if "split" in columns and split not in SPLITS:
                report.reject(f"split not train/val/test ({split or 'empty'})", f"{loc} [{columns['split']}]")
                continue
            image_paths, listed, outside = _image_paths(
                _value(rec, columns, "image_paths"), path.parent, self.data_root, self.roots
            )
            if outside:
                report.flag(IMAGE_OUTSIDE, f"{loc} [{columns['image_paths']}]")
            if listed and not image_paths:
                report.flag("image file not found", f"{loc} [{columns['image_paths']}]")
            extra = {k: v for k, v in rec.items() if k not in mapped}
            if virtual:
                extra[SOURCE_FILE] = item.source_file  # kept even when mapped, e.g. for split_by: source_file
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
                    lang=clean_text(_value(rec, columns, "lang")) or self.default_lang,
                    split=split,
                    extra=extra,
                )
                | {"_loc": loc}
            )
        if self.fmt == "jsonl":
            _check_fields_seen(path, columns, seen, objects)
        return rows
