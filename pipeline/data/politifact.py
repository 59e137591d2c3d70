"""FakeNewsNet PolitiFact article bodies, joined to the UPFD propagation graphs.

Source files (under fakenewsnet/):
- politifact_content/{fake,real}/<id>/news content.json: one article each (text, title,
  authors, publish_date as unix seconds or null, top_img URL, url). No image files, so
  image_paths stays empty; the top image URL goes to extra.
- upfd_politifact/pol_id_twitter_mapping.pkl: dict node index -> news id or Twitter user
  id. An article whose id (the folder name, e.g. politifact11773) is a node there gets
  extra.in_upfd = true, so rows join the UPFD graphs by id.
- ids/politifact_{fake,real}.csv: id, news_url, title, tweet_ids (tab-separated); the
  number of tweet ids goes to extra.tweet_ids (null when the id is not listed).

Labels come from the folder: fake -> 1, real -> 0. No official split and publish_date is
often null, so ingest splits chronologically where dated and stratified where not.

Policies: a file that is not a JSON object is a counted skip ('malformed JSON file') and an
id folder without news content.json is a counted skip. An id that appears under both fake/
and real/ has no usable label: both copies are counted skips ('id in both fake/ and
real/'). A publish_date before 1900 (the source has year 1 for at least one article) is
kept as null and counted. A text identical to an earlier article's (scraped boilerplate) is
kept and counted as 'text identical to another article's'. Empty text stays "" and ingest's empty-text policy counts it.

Options: upfd_only (default false) keeps only the articles that have a UPFD propagation
graph (LGCL's setting); the others are counted skips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.data.plain_pickle import load_plain
from pipeline.data.readers import read_csv, read_text
from pipeline.data.schema import IngestError, IngestReport, article, where
from pipeline.data.timeparse import parse_timestamp
from pipeline.data.validate import clean_text, require_columns

NAME = "politifact"
FOLDER = "fakenewsnet"
NEEDS = (
    "politifact_content/{fake,real}/<id>/news content.json, upfd_politifact/pol_id_twitter_mapping.pkl, "
    "ids/politifact_{fake,real}.csv"
)
DESCRIPTION = "FakeNewsNet PolitiFact news articles (text, title, date), id-joined to the UPFD graphs"
TEXT_REQUIRED = True
PROVIDES = frozenset({"propagation"})  # inputs beyond text the methods can use (see pipeline/methods.py)
LABELS = {"fake": 1, "real": 0}
CONTENT_FILE = "news content.json"
UPFD_MAPPING = "upfd_politifact/pol_id_twitter_mapping.pkl"
EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")


def _upfd_news_ids(path: Path) -> set[str]:
    """News ids that are nodes of the UPFD graphs (the mapping also holds Twitter user ids)."""
    mapping = load_plain(path)
    if not isinstance(mapping, dict):
        raise IngestError(f"{path}: expected a dict node index -> id, got {type(mapping).__name__}")
    return {str(v) for v in mapping.values() if str(v).startswith("politifact")}


def _tweet_counts(data_root: Path, report: IngestReport) -> dict[str, int]:
    """id -> number of tweet ids, from ids/politifact_{fake,real}.csv."""
    counts = {}
    for folder in LABELS:
        path = data_root / FOLDER / "ids" / f"politifact_{folder}.csv"
        side = IngestReport(dataset=NAME, source=str(path))  # these rows are not articles
        header_checked = False
        for _, rec in read_csv(path, side):
            if not header_checked:
                require_columns(list(rec), ("id", "tweet_ids"), path)
                header_checked = True
            counts[clean_text(rec["id"])] = len(rec["tweet_ids"].split())
        for reason, n in side.rejected.items():
            report.note(f"{path}: {n} row(s) skipped ({reason}); those ids get tweet_ids null")
        report.notes.extend(side.notes)
    return counts


def _load(path: Path, report: IngestReport) -> dict | None:
    try:
        obj = json.loads(read_text(path, report))
    except json.JSONDecodeError as err:
        report.reject("malformed JSON file", where(path, err.lineno, f"{err.msg} at column {err.colno}"))
        return None
    if not isinstance(obj, dict):
        report.reject("malformed JSON file", where(path, None, "not an object"))
        return None
    return obj


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    content = data_root / FOLDER / "politifact_content"
    folders = {}
    for folder in LABELS:
        if not (content / folder).is_dir():
            raise IngestError(f"{content / folder}: folder not found ({NEEDS})")
        folders[folder] = sorted(p for p in (content / folder).iterdir() if p.is_dir())
    in_upfd = _upfd_news_ids(data_root / FOLDER / UPFD_MAPPING)
    upfd_only = bool(options.get("upfd_only", False))
    tweets = _tweet_counts(data_root, report)
    fake_ids = {p.name for p in folders["fake"]}
    conflicting = fake_ids & {p.name for p in folders["real"]}

    rows = []
    texts = {}
    for folder, label in LABELS.items():
        for item in folders[folder]:
            path = item / CONTENT_FILE
            report.rows_read += 1
            if not path.exists():
                report.reject(f"no {CONTENT_FILE}", where(item))
                continue
            if item.name in conflicting:
                report.reject("id in both fake/ and real/ (conflicting labels)", where(path))
                continue
            if upfd_only and item.name not in in_upfd:
                report.reject("no UPFD propagation graph (option upfd_only)", where(path))
                continue
            doc = _load(path, report)
            if doc is None:
                continue
            loc = where(path)
            text = clean_text(doc.get("text"))
            if text and texts.setdefault(text, item.name) != item.name:
                report.flag("text identical to another article's", f"{loc} [text same as {texts[text]}]")
            timestamp = parse_timestamp(doc.get("publish_date"), report, f"{loc} [publish_date]", unit="s")
            if timestamp is not None and timestamp < EARLIEST:
                report.flag(
                    "implausible publish_date before 1900 (kept as null)", f"{loc} [publish_date={timestamp.date()}]"
                )
                timestamp = None
            rows.append(
                article(
                    id=item.name,
                    text=text,
                    title=clean_text(doc.get("title")) or None,
                    label=label,
                    timestamp=timestamp,
                    lang="en",
                    extra={
                        "in_upfd": item.name in in_upfd,
                        "tweet_ids": tweets.get(item.name),
                        "url": doc.get("url"),
                        "authors": doc.get("authors") or [],
                        "top_img": doc.get("top_img") or None,
                    },
                )
                | {"_loc": loc}
            )
    return rows
