"""PHEME rumour source tweets (9 events) with thread veracity labels.

Source files (under pheme/):
- source_tweets/<event>-all-rnr-threads.{rumours,non-rumours}.json: a JSON list of full
  tweet objects (text, created_at in Twitter format, user, entities). The row number in
  locations is the tweet's position in the list (1-based). Charlie Hebdo non-rumours are
  missing and the Ebola-Essien non-rumour file is empty in this copy.
- labels/thread_id.txt + labels/thread_label.txt: parallel lines, one per thread (source
  tweet id): 0 = non-rumour, 1 = true, 2 = false, 3 = unverified (4023/1067/638/697
  lines; each tweet's own VERACITY field agrees with them).

Option `mapping`:
- "rumour" (default, rumour detection): a rumour of any veracity -> 1, non-rumour -> 0.
- "veracity": false -> 1, true -> 0; non-rumour and unverified are counted skips
  ('label excluded by mapping').
A source tweet whose id is not in the label files is labelled by its file (rumours ->
'rumour', non-rumours -> 'non-rumour') and flagged 'no veracity label'; under the
veracity mapping such a rumour is excluded ('label excluded by mapping (rumour)').
A thread label that contradicts the file it sits in (a non-rumour in a rumours file or the
reverse) or the tweet's own VERACITY field is a counted skip. A label value outside 0-3 is
a counted skip. A file that is not a JSON list is an IngestError.

event = the event name; user_id = user.id_str; image_paths stays empty (no image files):
the media URLs go to extra.media_urls, with extra.veracity (4-way name or null) and
extra.rumour_file (rumours / non-rumours). No official split: ingest splits chronologically.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.data.readers import read_text
from pipeline.data.schema import IngestError, IngestReport, article, where
from pipeline.data.timeparse import TWITTER_FORMAT, parse_timestamp
from pipeline.data.validate import clean_text, map_label

NAME = "pheme"
FOLDER = "pheme"
LABEL_FIELDS = ("veracity", "rumour_file")  # extra fields that restate the label: no shortcut check on them
NEEDS = (
    "source_tweets/<event>-all-rnr-threads.{rumours,non-rumours}.json, labels/thread_id.txt, labels/thread_label.txt"
)
DESCRIPTION = "PHEME source tweets of 9 breaking-news events; rumour (default) or veracity labels"
TEXT_REQUIRED = True
PROVIDES = frozenset()  # inputs beyond text the methods can use (see pipeline/methods.py)
VERACITY = {"0": "non-rumour", "1": "true", "2": "false", "3": "unverified"}
FILE_KINDS = {"rumours": "rumour", "non-rumours": "non-rumour"}
MAPPINGS = {
    "rumour": {"non-rumour": 0, "rumour": 1, "true": 1, "false": 1, "unverified": 1},
    "veracity": {"non-rumour": None, "rumour": None, "true": 0, "false": 1, "unverified": None},
}
SUFFIX = "-all-rnr-threads."


def _thread_labels(data_root: Path, report: IngestReport) -> dict[str, str]:
    """thread id -> label code ('0'..'3') from the two parallel label files."""
    ids_path = data_root / FOLDER / "labels" / "thread_id.txt"
    labels_path = data_root / FOLDER / "labels" / "thread_label.txt"
    ids = read_text(ids_path, report).split()
    codes = read_text(labels_path, report).split()
    if len(ids) != len(codes):
        raise IngestError(
            f"{ids_path} has {len(ids)} ids but {labels_path} has {len(codes)} labels; they must be parallel"
        )
    labels = dict(zip(ids, codes))
    if len(labels) < len(ids):
        report.note(f"{ids_path}: {len(ids) - len(labels)} repeated thread id(s); the last label wins")
    return labels


def _tweets(path: Path, report: IngestReport) -> list:
    try:
        tweets = json.loads(read_text(path, report))
    except json.JSONDecodeError as err:
        raise IngestError(f"{where(path, err.lineno)}: not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(tweets, list):
        raise IngestError(f"{path}: expected a JSON list of tweets, got {type(tweets).__name__}")
    if not tweets:
        report.note(f"{path}: no tweets")
    return tweets


def _media_urls(tweet: dict) -> list[str]:
    urls = []
    for entities in (tweet.get("entities") or {}, tweet.get("extended_entities") or {}):
        for media in entities.get("media") or []:
            url = media.get("media_url_https") or media.get("media_url")
            if url and url not in urls:
                urls.append(url)
    return urls


def _contradiction(file_kind: str, veracity: str, tweet: dict) -> str | None:
    """Reason why the thread label cannot be trusted for this tweet, or None."""
    if veracity not in VERACITY.values():
        return None  # unknown label value: map_label counts it
    if (veracity == "non-rumour") != (file_kind == "non-rumour"):
        return f"thread label contradicts file ({veracity} in a {file_kind} file)"
    own = tweet.get("VERACITY")
    if own is not None and veracity != "non-rumour" and own != veracity:
        return f"thread label contradicts tweet VERACITY field ({veracity} vs {own})"
    return None


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    mapping_name = options.get("mapping", "rumour")
    if mapping_name not in MAPPINGS:
        raise IngestError(f"pheme option 'mapping': unknown {mapping_name!r}; choose from {list(MAPPINGS)}")
    mapping = MAPPINGS[mapping_name]
    labels = _thread_labels(data_root, report)
    paths = sorted((data_root / FOLDER / "source_tweets").glob(f"*{SUFFIX}*.json"))
    if not paths:
        raise IngestError(f"{data_root / FOLDER / 'source_tweets'}: no source tweet files ({NEEDS})")

    rows = []
    seen_threads = set()
    for path in paths:
        event, kind = path.name.removesuffix(".json").split(SUFFIX)
        if kind not in FILE_KINDS:
            raise IngestError(f"{path}: file name must end in {SUFFIX}rumours.json or {SUFFIX}non-rumours.json")
        file_kind = FILE_KINDS[kind]
        for number, tweet in enumerate(_tweets(path, report), start=1):
            report.rows_read += 1
            loc = where(path, number)
            tweet_id = clean_text(tweet.get("id_str")) if isinstance(tweet, dict) else ""
            if not tweet_id:
                report.reject("malformed tweet (no id_str)", f"{loc} [id_str]")
                continue
            seen_threads.add(tweet_id)
            code = labels.get(tweet_id)
            veracity = VERACITY.get(code, code)
            if code is None:
                key = file_kind
            else:
                key = veracity
                problem = _contradiction(file_kind, veracity, tweet)
                if problem:
                    report.reject(problem, f"{loc} [id_str={tweet_id}]")
                    continue
            label = map_label(key, mapping, report, f"{loc} [thread label of {tweet_id}]")
            if label is None:
                continue
            if code is None:
                report.flag("no veracity label (labelled by file name)", f"{loc} [id_str={tweet_id}]")
            user = tweet.get("user") or {}
            rows.append(
                article(
                    id=tweet_id,
                    text=clean_text(tweet.get("text")),
                    label=label,
                    timestamp=parse_timestamp(
                        tweet.get("created_at"), report, f"{loc} [created_at]", fmt=TWITTER_FORMAT
                    ),
                    user_id=clean_text(user.get("id_str")) or None,
                    event=event,
                    lang="en",
                    extra={"veracity": veracity, "rumour_file": kind, "media_urls": _media_urls(tweet)},
                )
                | {"_loc": loc}
            )
    unmatched = len(set(labels) - seen_threads)
    if unmatched:
        report.note(f"{unmatched} labelled thread(s) have no source tweet in source_tweets/")
    return rows
