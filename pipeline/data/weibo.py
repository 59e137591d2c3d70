"""Weibo rumour subset (EANN release, Chinese microblog posts).

Source files: tweets/{train,test}_{rumor,nonrumor}.txt, the official train/test split
(about 3.3k train and 0.6k test posts). Each post is three lines (see dataformat.txt):
15 '|'-separated meta fields (tweet id, user name, tweet url, user url, publish time,
original?, retweet/comment/praise counts, user id, user authentication type, fans,
follows, user tweet count, platform), a line of image URLs ending with 'null', and the
text (may be empty: such posts are counted skips by ingest's empty-text policy).
Labels: rumor -> 1, nonrumor -> 0. lang "zh". Meta values 'null' become null.

Publish times come in two forms: "2012-11-13 16:55" (the rumor files) is Beijing time
(Asia/Shanghai) and is converted to UTC; an all-digit value (the nonrumor files, e.g.
1452440393000) is Unix epoch milliseconds, already absolute. Note the format artefacts
that give the label away: nonrumor posts have epoch times and null user name, user id,
user url, fans/follow/tweet counts; rumor posts have all of them. Do not feed these fields
to a model as they are.

Images: files in rumor_images/ and nonrumor_images/ named by the last part of their URL
(only 268 images exist, covering few posts). image_paths are the files that exist,
relative to the data root; a post whose image URLs have no file keeps an empty list and is
counted as 'no image file'.

Validation split: validate_id.pickle (EANN, dict tweet id -> event id) covers 286 of the
3,334 train posts (8.6%, both labels), so those posts are the official validation split
(split "val"). The EANN pickles come from EANN's own split of the full Weibo corpus, not
from these txt files: validate_id also lists 54 test-file posts, which stay test (the
official test split wins), and train_id/test_id.pickle each cross the txt train/test
split, so they are not used.

Bad input: a post whose meta line does not have 15 fields, or whose second line is not an
image-URL line ending with 'null', is a counted skip with its line number; reading
resumes at the next line that looks like a meta line, so the following posts are kept.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.data.plain_pickle import load_plain
from pipeline.data.readers import read_text
from pipeline.data.schema import IngestError, IngestReport, article, where
from pipeline.data.timeparse import parse_timestamp
from pipeline.data.validate import clean_text

NAME = "weibo"
FOLDER = "weibo"
NEEDS = "tweets/{train,test}_{rumor,nonrumor}.txt, rumor_images/, nonrumor_images/, validate_id.pickle"
DESCRIPTION = "Weibo rumour posts (Chinese) with a few images; official train/test split"
TEXT_REQUIRED = True
PROVIDES = frozenset({"images"})  # inputs beyond text the methods can use (see pipeline/methods.py)
FILES = {
    ("train", 1): "tweets/train_rumor.txt",
    ("train", 0): "tweets/train_nonrumor.txt",
    ("test", 1): "tweets/test_rumor.txt",
    ("test", 0): "tweets/test_nonrumor.txt",
}
IMAGE_DIRS = ("rumor_images", "nonrumor_images")
VALIDATE_IDS = "validate_id.pickle"
META_FIELDS = (
    "tweet_id",
    "user_name",
    "tweet_url",
    "user_url",
    "publish_time",
    "original",
    "retweet_count",
    "comment_count",
    "praise_count",
    "user_id",
    "user_auth_type",
    "user_fans_count",
    "user_follow_count",
    "user_tweet_count",
    "platform",
)
TIME_FORMAT = "%Y-%m-%d %H:%M"
TIME_ZONE = "Asia/Shanghai"


def _is_meta_line(line: str) -> bool:
    fields = line.split("|")
    return len(fields) == len(META_FIELDS) and fields[0].strip().isdigit()


def _next_meta_line(lines: list[str], start: int) -> int:
    """Index of the first line at or after `start` that looks like a meta line (resync)."""
    for i in range(start, len(lines)):
        if _is_meta_line(lines[i]):
            return i
    return len(lines)


def _publish_time(value: str, report: IngestReport, location: str):
    """UTC time of a post: epoch milliseconds as they are, 'YYYY-MM-DD HH:MM' from Beijing time."""
    if value.isdigit():
        return parse_timestamp(value, report, location, unit="ms")
    ts = parse_timestamp(value, report, location, fmt=TIME_FORMAT)  # naive time, read as UTC
    if ts is None:
        return None
    return ts.tz_localize(None).tz_localize(TIME_ZONE).tz_convert("UTC")


def _validate_ids(data_root: Path, report: IngestReport) -> set[str]:
    path = data_root / FOLDER / VALIDATE_IDS
    if not path.exists():
        report.note(f"{path} not found: validation split carved from train instead")
        return set()
    ids = load_plain(path)
    if not isinstance(ids, (dict, list, tuple, set, frozenset)):
        raise IngestError(f"{path}: expected a collection of tweet ids, got {type(ids).__name__}")
    return {str(i) for i in ids}


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    images = {}
    for image_dir in IMAGE_DIRS:
        for p in sorted((data_root / FOLDER / image_dir).glob("*")):
            images[p.name] = f"{FOLDER}/{image_dir}/{p.name}"
    val_ids = _validate_ids(data_root, report)

    rows = []
    for (split, label), file_name in FILES.items():
        path = data_root / FOLDER / file_name
        lines = [line.rstrip("\r") for line in read_text(path, report).split("\n")]
        i = 0
        while i < len(lines):
            if not lines[i].strip():
                i += 1  # blank line between posts or at the end of the file
                continue
            report.rows_read += 1
            loc = where(path, i + 1)
            fields = lines[i].split("|")
            if len(fields) != len(META_FIELDS):
                report.reject("malformed meta line (not 15 '|' fields)", f"{loc} [{len(fields)} fields]")
                i = _next_meta_line(lines, i + 1)
                continue
            url_line = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if not url_line.endswith("null"):
                report.reject("malformed post (no image-URL line ending with 'null')", where(path, i + 2))
                i = _next_meta_line(lines, i + 1)
                continue
            text = lines[i + 2] if i + 2 < len(lines) else ""
            i += 3

            meta = {k: (None if v.strip() == "null" else v.strip()) for k, v in zip(META_FIELDS, fields)}
            urls = [u.strip() for u in url_line.split("|") if u.strip() and u.strip() != "null"]
            names = [u.rsplit("/", 1)[-1] for u in urls]
            found = [images[n] for n in names if n in images]
            if urls and not found:
                report.flag("no image file", f"{loc} [image urls]")
            tweet_id = meta["tweet_id"]
            rows.append(
                article(
                    id=tweet_id,
                    text=clean_text(text),
                    label=label,
                    image_paths=found,
                    timestamp=_publish_time(meta["publish_time"] or "", report, f"{loc} [publish time]"),
                    user_id=meta["user_id"],
                    lang="zh",
                    split="val" if split == "train" and tweet_id in val_ids else split,
                    extra={k: v for k, v in meta.items() if k not in ("tweet_id", "user_id", "publish_time")}
                    | {"image_urls": urls},
                )
                | {"_loc": loc}
            )
    return rows
