"""semantics.kb is its own path (absolute, or relative to the project root), not one under
data_root: a user's data root without the Wikipedia KB still runs the semantics stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import MissingFile, ParamsError
from pipeline.semantics.kb import DEFAULT_KB, knowledge_base_path

ROOT = Path(__file__).resolve().parents[1]


def _kb(path: Path, titles: int = 40) -> Path:
    """A slice of the real Wikipedia KB: its first titles plus two that news posts name."""
    entries = json.loads((ROOT / DEFAULT_KB).read_text(encoding="utf-8"))
    chosen = sorted(entries)[:titles] + [t for t in ("Barack Obama", "United States") if t in entries]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({t: entries[t] for t in chosen}), encoding="utf-8")
    return path


def test_the_default_is_the_projects_kb_whatever_the_data_root(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert knowledge_base_path({}, tmp_path / "my_data") == Path(DEFAULT_KB)
    assert knowledge_base_path({"kb": None}, tmp_path / "my_data") == Path(DEFAULT_KB)


def test_a_relative_kb_is_read_from_the_project_root_and_an_absolute_one_as_it_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _kb(tmp_path / "kb/summaries.json", titles=2)
    elsewhere = _kb(tmp_path / "elsewhere/wiki.json", titles=2)
    (tmp_path / "data_root/kb").mkdir(parents=True)  # data_root plays no part
    assert knowledge_base_path({"kb": "kb/summaries.json"}, tmp_path / "data_root") == Path("kb/summaries.json")
    assert knowledge_base_path({"kb": str(elsewhere)}, "data_root") == elsewhere


def test_the_old_meaning_under_data_root_is_an_error_with_the_value_to_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _kb(tmp_path / "data/raw/wikipedia/summaries_en.json", titles=2)
    with pytest.raises(ParamsError) as err:
        knowledge_base_path({"kb": "wikipedia/summaries_en.json"}, Path("data/raw"))
    assert "not to data_root; set `semantics.kb: data/raw/wikipedia/summaries_en.json`" in str(err.value)


def test_a_missing_kb_says_what_semantics_kb_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingFile, match=r"wiki\.json: knowledge base file not found \(semantics\.kb in params"):
        knowledge_base_path({"kb": "wiki.json"}, tmp_path)
    with pytest.raises(MissingFile, match="relative to the project root"):
        knowledge_base_path({"kb": str(tmp_path / "nowhere.json")}, tmp_path)


def test_the_stage_runs_with_a_data_root_that_lacks_the_kb(tmp_path, monkeypatch, mediaeval_root):
    """A user's data root holds only their dataset; the KB path in the report is semantics.kb."""
    import pyarrow.parquet as pq

    from pipeline.data.ingest import ingest
    from pipeline.data.schema import to_table
    from pipeline.vectors import read_meta
    from stages import semantics as stage

    articles, _ = ingest("mediaeval2016", mediaeval_root)
    monkeypatch.chdir(tmp_path)
    user_root = tmp_path / "my_data"
    user_root.mkdir()
    kb = _kb(tmp_path / "knowledge/summaries_en.json")
    (tmp_path / "data/interim/mediaeval2016").mkdir(parents=True)
    pq.write_table(to_table(articles.iloc[:3]), tmp_path / "data/interim/mediaeval2016/articles.parquet")
    params = {"data_root": str(user_root), "semantics": {"kb": "knowledge/summaries_en.json", "device": "cpu"}}
    report = stage.run("mediaeval2016", params)
    assert not (user_root / "wikipedia").exists()
    titles = len(json.loads(kb.read_text(encoding="utf-8")))
    assert report["knowledge_base"]["path"] == "knowledge/summaries_en.json"
    assert report["knowledge_base"]["titles"] == titles and report["docs"] == 3
    written = json.loads((tmp_path / "data/processed/mediaeval2016/semantics_report.json").read_text())
    assert written["knowledge_base"]["path"] == "knowledge/summaries_en.json"
    assert read_meta(tmp_path / "data/processed/mediaeval2016/semantics.parquet")["knowledge_base"]["titles"] == titles
