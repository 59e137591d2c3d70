"""Rebuild the embedded default dataset in data/raw/ from the full datasets.

A small, stratified, real slice in the same layout as the full data, so the same adapters
read it and `dvc repro` runs on a fresh machine:
- mediaeval2016: images sampled per label and split (official train/test kept), up to
  MAX_POSTS_PER_IMAGE posts each, plus a few real posts whose image file is absent.
- fakenewsnet: PolitiFact articles that join to the UPFD propagation graphs, sampled per
  label, with the UPFD graph files and the id lists.

Usage: python scripts/make_default_data.py [--source ../shared/datasets] [--out data/raw]
"""

from __future__ import annotations

import argparse
import csv
import pickle
import random
import shutil
from collections import defaultdict
from pathlib import Path

SEED = 0
MEDIAEVAL_POSTS = {"train": 160, "test": 60}  # per label
MAX_POSTS_PER_IMAGE = 8
POSTS_WITHOUT_IMAGE = 3  # per split
POLITIFACT_ARTICLES = 130  # per label
MAX_ARTICLE_BYTES = 60_000


def _mediaeval(source: Path, out: Path, rng: random.Random) -> None:
    src, dst = source / "mediaeval2016", out / "mediaeval2016"
    files = {"train": ("train_posts_clean.csv", "images_train"), "test": ("test_posts.csv", "images_test")}
    for split, (csv_name, image_dir) in files.items():
        images = {p.stem: p for p in (src / image_dir).iterdir()}
        with open(src / csv_name, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header, rows = reader.fieldnames, list(reader)
        by_image, without = defaultdict(list), []
        for row in rows:
            first = row["image_id"].split(",")[0].strip()
            (by_image[(row["label"], first)] if first in images else without).append(row)
        keep, used = [], set()
        for label in ("fake", "real"):
            keys = sorted(k for k in by_image if k[0] == label)
            rng.shuffle(keys)
            taken = 0
            for key in keys:
                if taken >= MEDIAEVAL_POSTS[split]:
                    break
                posts = by_image[key][:MAX_POSTS_PER_IMAGE]
                keep += posts
                used.add(key[1])
                taken += len(posts)
        keep += rng.sample(without, min(POSTS_WITHOUT_IMAGE, len(without)))
        (dst / image_dir).mkdir(parents=True, exist_ok=True)
        for stem in sorted(used):
            shutil.copy2(images[stem], dst / image_dir / images[stem].name)
        keep.sort(key=lambda r: rows.index(r))
        with open(dst / csv_name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(keep)
        print(f"mediaeval2016 {split}: {len(keep)} posts, {len(used)} images")


def _politifact(source: Path, out: Path, rng: random.Random) -> None:
    src, dst = source / "fakenewsnet", out / "fakenewsnet"
    shutil.copytree(src / "upfd_politifact", dst / "upfd_politifact", dirs_exist_ok=True)
    (dst / "ids").mkdir(parents=True, exist_ok=True)
    for name in ("politifact_fake.csv", "politifact_real.csv"):
        shutil.copy2(src / "ids" / name, dst / "ids" / name)
    with open(src / "upfd_politifact" / "pol_id_twitter_mapping.pkl", "rb") as fh:
        upfd_news = {v for v in pickle.load(fh).values() if str(v).startswith("politifact")}
    for label in ("fake", "real"):
        candidates = sorted(
            d
            for d in (src / "politifact_content" / label).iterdir()
            if d.name in upfd_news and (d / "news content.json").stat().st_size <= MAX_ARTICLE_BYTES
        )
        chosen = rng.sample(candidates, min(POLITIFACT_ARTICLES, len(candidates)))
        for d in chosen:
            shutil.copytree(d, dst / "politifact_content" / label / d.name, dirs_exist_ok=True)
        print(f"politifact {label}: {len(chosen)} of {len(candidates)} UPFD-joined articles")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("data/raw"))
    args = parser.parse_args()
    for sub in ("mediaeval2016", "fakenewsnet"):
        shutil.rmtree(args.out / sub, ignore_errors=True)
    _mediaeval(args.source, args.out, random.Random(SEED))
    _politifact(args.source, args.out, random.Random(SEED))


if __name__ == "__main__":
    main()
