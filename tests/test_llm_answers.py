"""scripts/llm_answers.py: the LLM cache's answers go to committed files and come back into an
empty cache on another machine; an answer that differs between the two is an error."""

from __future__ import annotations

import gzip

import pytest

from pipeline.llm.cache import ResultCache
from tests.scripts_loader import load_script

llm_answers = load_script("llm_answers")


def _cache(path, answers: dict) -> ResultCache:
    cache = ResultCache(path / "results.sqlite")
    cache.put_many(answers)
    return cache


def test_exported_answers_fill_an_empty_cache_and_a_second_export_writes_nothing(tmp_path):
    answers = {"k1": {"answer": "Belief: …", "truncated": False}, "k2": {"answer": "réel", "truncated": True}}
    folder = tmp_path / "answers"
    first = llm_answers.export(_cache(tmp_path / "here", answers), folder)
    assert first is not None and first.parent == folder
    assert llm_answers.export(_cache(tmp_path / "here", {}), folder) is None

    elsewhere = _cache(tmp_path / "elsewhere", {"k1": answers["k1"]})
    assert llm_answers.import_(elsewhere, folder) == 1
    assert elsewhere.get_many(["k1", "k2"]) == answers

    # a new answer goes to a file of its own; the committed file is not rewritten
    before = first.read_bytes()
    second = llm_answers.export(_cache(tmp_path / "here", {"k3": {"answer": "x", "truncated": False}}), folder)
    assert second != first and first.read_bytes() == before
    assert set(llm_answers.read_folder(folder)) == {"k1", "k2", "k3"}


def test_an_answer_that_differs_between_the_cache_and_a_file_is_an_error_naming_both(tmp_path):
    folder = tmp_path / "answers"
    file = llm_answers.export(_cache(tmp_path / "a", {"k1": {"answer": "yes"}}), folder)
    other = _cache(tmp_path / "b", {"k1": {"answer": "no"}})
    for step in (llm_answers.export, llm_answers.import_):
        with pytest.raises(SystemExit, match=rf"answer k1: .*results.sqlite has .*no.*, {file} has .*yes"):
            step(other, folder)
    assert other.get_many(["k1"]) == {"k1": {"answer": "no"}}


def test_a_line_that_is_not_an_answer_names_its_file_and_line(tmp_path):
    folder = tmp_path / "answers"
    folder.mkdir()
    bad = folder / "answers-bad.jsonl.gz"
    bad.write_bytes(gzip.compress(b'{"key": "k1", "value": 1}\n{"key": "k2"}\n'))
    with pytest.raises(SystemExit, match=rf"{bad}, line 2: not a {{key, value}} answer"):
        llm_answers.read_folder(folder)
