"""MediaEval 2016 'verifying multimedia use' (the Twitter set of GLPN-LLM and MMFND).

Official train (train_posts_clean.csv) and test (test_posts.csv, other events) splits.
Labels: fake -> 1, real -> 0 (humor, absent from the clean copy, would count as fake as in
MediaEval). `image_id` may list several ids; each resolves to a file in images_{split}/
whatever its extension. Posts whose image ids have no file keep an empty image list and
are counted as 'no image file' (the embed stage gives them a no-image mask).
Posts sharing an image are near-duplicates (retweets, copies), so the image id is the
split group: validation is carved from train by image, never splitting one image's posts.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.data.readers import read_csv
from pipeline.data.schema import IngestReport, article, where
from pipeline.data.timeparse import TWITTER_FORMAT, parse_timestamp
from pipeline.data.validate import clean_text, map_label, require_columns

NAME = "mediaeval2016"
FOLDER = "mediaeval2016"
NEEDS = "train_posts_clean.csv, test_posts.csv, images_train/, images_test/"
DESCRIPTION = "MediaEval 2016 Twitter posts with images; official train/test events"
TEXT_REQUIRED = True
PROVIDES = frozenset({"images"})  # inputs beyond text the methods can use (see pipeline/methods.py)
LABELS = {"fake": 1, "humor": 1, "real": 0}
FILES = {"train": ("train_posts_clean.csv", "images_train"), "test": ("test_posts.csv", "images_test")}
COLUMNS = ("post_id", "post_text", "user_id", "image_id", "timestamp", "label")


def _event(image_id: str) -> str:
    return re.sub(r"(_(fake|real))?_\d+$", "", image_id)


def _repair_time(value: str) -> str:
    # Some rows of the cleaned copy read "Tue Mar 11 23: 59: 22 +0000 2014".
    return re.sub(r":\s+", ":", value)


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    rows = []
    for split, (csv_name, image_dir) in FILES.items():
        path = data_root / FOLDER / csv_name
        images = {p.stem: p.name for p in sorted((data_root / FOLDER / image_dir).glob("*"))}
        header_checked = False
        for line, rec in read_csv(path, report):
            if not header_checked:
                require_columns(list(rec), COLUMNS, path)
                header_checked = True
            loc = where(path, line)
            label = map_label(rec["label"], LABELS, report, f"{loc} [label]")
            if label is None:
                continue
            image_ids = [i.strip() for i in rec["image_id"].split(",") if i.strip()]
            found = [f"{FOLDER}/{image_dir}/{images[i]}" for i in image_ids if i in images]
            if not found:
                report.flag("no image file", f"{loc} [image_id={rec['image_id']}]")
            rows.append(
                article(
                    id=clean_text(rec["post_id"]),
                    text=clean_text(rec["post_text"]),
                    label=label,
                    image_paths=found,
                    timestamp=parse_timestamp(
                        _repair_time(rec["timestamp"]), report, f"{loc} [timestamp]", fmt=TWITTER_FORMAT
                    ),
                    user_id=clean_text(rec["user_id"]) or None,
                    event=_event(image_ids[0]) if image_ids else None,
                    lang="mul",
                    split=split,
                    extra={"username": rec.get("username"), "image_id": rec["image_id"]},
                )
                | {"_loc": loc, "_group": image_ids[0] if image_ids else f"post:{rec['post_id']}"}
            )
    return rows
