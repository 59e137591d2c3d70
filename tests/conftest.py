"""Shared fixtures: a tiny real slice of the embedded default MediaEval data."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "raw"


def _slice_mediaeval(dst: Path, train_posts: int, test_posts: int) -> None:
    """Copy the first posts of each label and split (and the images they use)."""
    src = DEFAULT_DATA / "mediaeval2016"
    for csv_name, image_dir, per_split in (
        ("train_posts_clean.csv", "images_train", train_posts),
        ("test_posts.csv", "images_test", test_posts),
    ):
        with open(src / csv_name, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header, rows = reader.fieldnames, list(reader)
        rows = [r for r in rows if r["label"] == "fake"][: per_split // 2] + [r for r in rows if r["label"] == "real"][
            : per_split // 2
        ]
        (dst / image_dir).mkdir(parents=True, exist_ok=True)
        stems = {r["image_id"].split(",")[0].strip() for r in rows}
        for image in (src / image_dir).iterdir():
            if image.stem in stems:
                shutil.copy2(image, dst / image_dir / image.name)
        with open(dst / csv_name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)


KB_TITLES = [
    "Barack Obama",
    "Boston",
    "Donald Trump",
    "Mercury (planet)",
    "New York City",
    "Statue of Liberty",
    "United States",
]


def _slice_kb(dst: Path) -> None:
    """A 500-title real slice of the Wikipedia KB: every 20th title plus a few the tests name."""
    entries = json.loads((DEFAULT_DATA / "wikipedia" / "summaries_en.json").read_text(encoding="utf-8"))
    titles = sorted(entries)[::20] + [t for t in KB_TITLES if t in entries]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps({t: entries[t] for t in titles}), encoding="utf-8")


@pytest.fixture(scope="session")
def mediaeval_root(tmp_path_factory) -> Path:
    """Data root holding 60 real train and 20 real test MediaEval posts with their images,
    and a 500-title slice of the Wikipedia KB."""
    root = tmp_path_factory.mktemp("data_root")
    _slice_mediaeval(root / "mediaeval2016", train_posts=60, test_posts=20)
    _slice_kb(root / "wikipedia" / "summaries_en.json")
    return root


@pytest.fixture
def one_thread():
    """Small models: one thread is as fast, and does not stall when other jobs share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def graph_data():
    """16 real PolitiFact articles with their per-article graphs (tests/graph_inputs.py)."""
    import graph_inputs

    return graph_inputs.build()[0]
