"""The tutorial's dataset (docs/tutorial.md), written by the test: a news archive in three yearly
CSV releases whose ids restart in every file, a publisher column, one image per article, and
the traps the tutorial shows: a publisher that only publishes fake news, and a scraped error
page repeated 24 times.

    python -m tests.tutorial_data <folder>   writes <folder>/newsroom/ (to try the tutorial by hand)
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

from PIL import Image

PUBLISHERS = [f"outlet{i:02d}" for i in range(24)] + ["dailybuzz"]  # dailybuzz: fake only
YEARS = (2019, 2020, 2021)
FAKE_WORDS = "shocking secret miracle exposed hoax banned cure leaked insiders outrage".split()
REAL_WORDS = "council report budget announced study percent officials quarterly minister survey".split()
COMMON_WORDS = "the a city people new year said on in for with about after".split()
ERROR_PAGE = "This website is using a security service to protect itself from online attacks."
HEADER = ["id", "publisher", "headline", "body", "verdict", "image", "published"]


def _text(rng: random.Random, fake: bool, words: int) -> str:
    pool = (FAKE_WORDS if fake else REAL_WORDS) * 2 + COMMON_WORDS
    return " ".join(rng.choice(pool) for _ in range(words)).capitalize() + "."


def _image(path: Path, rng: random.Random, fake: bool) -> None:
    base = (200, 60, 60) if fake else (60, 60, 200)
    colour = tuple(min(255, c + rng.randrange(40)) for c in base)
    Image.new("RGB", (32, 32), colour).save(path)


def write(root: Path) -> Path:
    """Write root/newsroom/ (releases/<year>.csv and images/) and return that folder."""
    rng = random.Random(0)
    folder = root / "newsroom"
    (folder / "releases").mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    for year in YEARS:
        rows = []
        for publisher in PUBLISHERS:
            for k in range(4 if publisher == "dailybuzz" else 2):
                fake = publisher == "dailybuzz" or (k + year) % 2 == 0
                image = f"{publisher}_{year}_{k}.png"
                worded = fake if rng.random() > 0.15 else not fake  # some articles look like the other class
                _image(folder / "images" / image, rng, worded)
                rows.append(
                    [publisher, _text(rng, worded, 8), _text(rng, worded, 40), "fake" if fake else "real", image]
                )
        for k in range(8):  # the scraped error page, mostly under one label
            rows.append([PUBLISHERS[k], "Access denied", ERROR_PAGE, "real" if k else "fake", ""])
        with open(folder / "releases" / f"{year}.csv", "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(HEADER)
            for i, (publisher, title, body, verdict, image) in enumerate(rows, start=1):
                day = f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}"
                out.writerow([i, publisher, title, body, verdict, f"../images/{image}" if image else "", day])
    return folder


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
