"""Pickled id files shipped with datasets are read as plain data: a crafted pickle under a data
root is refused with a clear error and runs nothing."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.data.ingest import ingest
from pipeline.data.plain_pickle import load_plain
from pipeline.data.schema import IngestError
from pipeline.graphs.propagation import upfd_graphs

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


class _WritesMarker:
    """Unpickling this calls os.system: what a hostile dataset file would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def crafted(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps({"3883426379286061": _WritesMarker(marker)}))


def test_the_shipped_pickles_read_as_before():
    """EANN's Python 2 pickle (NumPy int64 values) and UPFD's mapping load as pickle.load gives them."""
    for path in (
        FIXTURES / "weibo/validate_id.pickle",
        ROOT / "data/raw/fakenewsnet/upfd_politifact/pol_id_twitter_mapping.pkl",
    ):
        with path.open("rb") as handle:
            assert load_plain(path) == pickle.load(handle)


def test_a_crafted_weibo_validation_pickle_runs_nothing(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "weibo", root / "weibo")
    marker = tmp_path / "pwned"
    crafted(root / "weibo/validate_id.pickle", marker)
    with pytest.raises(IngestError, match=r"validate_id.pickle: not a plain-data pickle \(refused posix.system"):
        ingest("weibo", root)
    assert not marker.exists()


def test_a_crafted_upfd_mapping_runs_nothing_at_ingest_or_graph_building(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(ROOT / "data/raw/fakenewsnet", root / "fakenewsnet", copy_function=shutil.copyfile)
    articles, _ = ingest("politifact", root)
    marker = tmp_path / "pwned"
    crafted(root / "fakenewsnet/upfd_politifact/pol_id_twitter_mapping.pkl", marker)
    with pytest.raises(IngestError, match="pol_id_twitter_mapping.pkl: not a plain-data pickle"):
        ingest("politifact", root)
    with pytest.raises(IngestError, match="pol_id_twitter_mapping.pkl: not a plain-data pickle"):
        upfd_graphs(root, articles, {i: np.zeros(4, np.float32) for i in articles["id"]})
    assert not marker.exists()


@pytest.mark.parametrize("payload", [b"", b"not a pickle", pickle.dumps(np.arange(3))])
def test_unreadable_or_non_plain_pickles_are_clear_errors(tmp_path, payload):
    path = tmp_path / "ids.pkl"
    path.write_bytes(payload)
    with pytest.raises(IngestError, match=r"ids.pkl: not a plain-data pickle"):
        load_plain(path)
