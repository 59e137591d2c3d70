"""Shared fixtures: a tiny real slice of the embedded default MediaEval data, the whole default
MediaEval slice ingested and embedded in memory."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml

# Set before anything imports torch (so this file imports it lazily): on 2 cores shared with other
# jobs, OpenMP threads spin-waiting for each other made embedding the default slice 3x slower
# (101 s against 31 s, measured with another job training). Subprocesses (dvc repro) inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "raw"
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())


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


@pytest.fixture(scope="session")
def mediaeval_default(tmp_path_factory) -> tuple[pd.DataFrame, pa.Table]:
    """The embedded default MediaEval slice (456 posts) as `dvc repro` ingests and embeds it: the same
    rows, splits and vectors as its DVC outputs data/interim and data/processed, which a clean clone
    lacks. Built with the pipeline's own ingest and embed from a scratch copy of the
    committed raw files, so nothing under the repository's data/ is read as an output or written
    (8 s on an idle 2-core machine)."""
    from pipeline.data.ingest import ingest
    from pipeline.features.embed import embed_articles

    root = tmp_path_factory.mktemp("default_root")
    shutil.copytree(DEFAULT_DATA / "mediaeval2016", root / "mediaeval2016")
    ingest_cfg = PARAMS.get("ingest") or {}
    articles, _ = ingest(
        "mediaeval2016",
        root,
        (ingest_cfg.get("options") or {}).get("mediaeval2016"),
        test_frac=ingest_cfg.get("test_frac", 0.2),
        val_frac=ingest_cfg.get("val_frac", 0.1),
        seed=ingest_cfg.get("seed", 0),
    )
    embed_cfg = PARAMS.get("embed") or {}
    table = embed_articles(
        articles,
        root,
        **{key: embed_cfg[key] for key in ("text", "image", "joint", "align_dim") if key in embed_cfg},
        device="cpu",
        progress=False,
    )
    return articles, table


@pytest.fixture
def one_thread():
    """Small models: one thread is as fast, and does not stall when other jobs share the CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def graph_data():
    """16 real PolitiFact articles with their per-article graphs (tests/graph_inputs.py)."""
    import graph_inputs

    return graph_inputs.build()[0]
