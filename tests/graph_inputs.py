"""Tiny real inputs for the per-article graph methods (InSide, LGCL): 16 PolitiFact articles of
the embedded default with their UPFD propagation graphs, spaCy semantics, sentence-entity
and WikiAMR graphs built by the pipeline's own builders, and MiniLM vectors.

The LLM's intent paragraphs are the one stand-in: generating them with SmolLM2 would take
about half a minute, so each article's title and first sentences, encoded by the same
text encoder, play the four intents; one paragraph is left out to exercise the
missing-intent path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pipeline.data.ingest import ingest
from pipeline.features import registry
from pipeline.features.intents import embed_intents
from pipeline.graphs.propagation import upfd_graphs
from pipeline.graphs.sentence_entity import sentence_entity_graphs
from pipeline.graphs.wikiamr import wikiamr_graphs
from pipeline.models.inputs import MethodInputs, hide_test_labels
from pipeline.semantics.analyse import analyse_articles
from pipeline.semantics.kb import KnowledgeBase
from pipeline.semantics.text import load_spacy

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "raw"
KB_TITLES = (
    "Barack Obama",
    "United States",
    "Donald Trump",
    "Hillary Clinton",
    "Democratic Party (United States)",
    "Republican Party (United States)",
    "Texas",
    "Florida",
    "Medicare (United States)",
)


def text_encoder():
    return registry.text_encoder("minilm", torch.device("cpu"))[0]


def build(n_per_split: dict[str, int] | None = None) -> tuple[MethodInputs, pd.DataFrame]:
    n_per_split = n_per_split or {"train": 10, "val": 3, "test": 3}
    articles, _ = ingest("politifact", DEFAULT_DATA)
    picked = []
    for split, n in n_per_split.items():
        part = articles[articles["split"] == split].sort_values("id")
        picked += [part[part["label"] == 1].head(n - n // 2), part[part["label"] == 0].head(n // 2)]
    articles = pd.concat(picked).reset_index(drop=True)
    encoder = text_encoder()
    text = encoder.encode(articles["text"].tolist(), progress=False)
    entries = json.loads((DEFAULT_DATA / "wikipedia" / "summaries_en.json").read_text(encoding="utf-8"))
    kb = KnowledgeBase({t: entries[t] for t in KB_TITLES if t in entries})
    semantics, _ = analyse_articles(articles, kb, load_spacy(), max_chars=1500, amr_max_sentences=6, progress=False)
    semantics = semantics.to_pandas()
    sentence_graphs, _ = sentence_entity_graphs(semantics, encoder, window=3, max_sentences=12, progress=False)
    amr_graphs, _, _ = wikiamr_graphs(semantics, encoder, max_path_len=3, progress=False)
    propagation, _ = upfd_graphs(DEFAULT_DATA, articles, dict(zip(articles["id"], text)))
    sentences = dict(zip(semantics["id"], semantics["sentences"]))
    stand_in = pd.DataFrame(
        {"id": articles["id"]}
        | {
            f"intent_{p}": [
                (list(sentences[i]) + [articles["title"].iat[k] or ""] * 4)[j] for k, i in enumerate(articles["id"])
            ]
            for j, p in enumerate(("belief", "desire", "plan", "outcome"))
        }
    )
    stand_in.loc[0, "intent_plan"] = None
    table, _ = embed_intents(stand_in, encoder, {"name": "minilm"}, progress=False)
    intents = np.stack(
        [
            np.stack(
                [
                    np.zeros(encoder.dim, np.float32) if v is None else np.asarray(v, np.float32)
                    for v in table.column(p).to_pylist()
                ]
            )
            for p in ("belief", "desire", "plan", "outcome")
        ],
        axis=1,
    )
    ids = articles["id"].tolist()
    return MethodInputs(
        ids=ids,
        split=articles["split"].to_numpy(),
        y=hide_test_labels(articles["split"], articles["label"]),
        text=text,
        llm_prob_fake=np.linspace(0.1, 0.9, len(ids)),
        llm_zero_shot=np.arange(len(ids)) % 2,  # the LLM's zero-shot class: every article gets one
        sentence_graphs=[sentence_graphs.get(i) for i in ids],
        intents=intents,
        intent_mask=np.stack(
            [~np.asarray(table.column(p).is_null()) for p in ("belief", "desire", "plan", "outcome")], axis=1
        ),
        amr_graphs=[amr_graphs.get(i) for i in ids],
        propagation_graphs=[propagation.get(i) for i in ids],
    ), articles


def write_artifacts(
    root: Path, dataset: str, data: MethodInputs, articles: pd.DataFrame, llm_provenance: dict | None = None
) -> None:
    """`data` as the artifacts the stages would have written under `root` (pipeline.methods.ARTIFACTS),
    so that train stages can run on it: articles, embeddings (text only), llm, intent vectors,
    semantics (provenance only), an empty similarity graph and the three per-article graph files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.graphs.io import save_graphs
    from pipeline.methods import artifact_path
    from pipeline.vectors import META_KEY, vector_column

    def path(name: str) -> Path:
        out = root / artifact_path(name, dataset)
        out.parent.mkdir(parents=True, exist_ok=True)
        return out

    def with_meta(table: pa.Table, meta: dict) -> pa.Table:
        return table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})

    n, ids = len(data), data.ids
    articles[["id", "split", "label", "text", "title"]].to_parquet(path("articles"), index=False)
    pq.write_table(
        with_meta(
            pa.table(
                {
                    "id": ids,
                    "has_image": [False] * n,
                    "text": vector_column(list(data.text), data.text.shape[1]),
                    **{c: vector_column([None] * n, 4) for c in ("image", "clip_text", "clip_image")},
                }
            ),
            {"substitutes": ["all-MiniLM-L6-v2 stands in for BERT"]},
        ),
        path("embeddings"),
    )
    provenance = llm_provenance or {}
    pq.write_table(
        with_meta(
            pa.table({"id": ids, "veracity_prob_fake": data.llm_prob_fake, "zero_shot_label": data.llm_zero_shot}),
            provenance,
        ),
        path("llm"),
    )
    intents = {"id": ids} | {
        p: vector_column(
            [v if m else None for v, m in zip(data.intents[:, k], data.intent_mask[:, k])], data.intents.shape[2]
        )
        for k, p in enumerate(("belief", "desire", "plan", "outcome"))
    }
    encoder = {"name": "all-MiniLM-L6-v2", "source": "test", "substitute_for": "BERT"}
    pq.write_table(
        with_meta(pa.table(intents), {"intent_encoder": encoder, "llm": provenance}), path("intent_embeddings")
    )
    pq.write_table(
        with_meta(pa.table({"id": ids}), {"amr_source": "dependency parse (substitute for amrlib)"}), path("semantics")
    )
    save_graphs({}, path("similarity_graph"))  # what the similarity stage writes for a dataset without images
    for name, graphs in (
        ("sentence_entity_graphs", data.sentence_graphs),
        ("wikiamr_graphs", data.amr_graphs),
        ("propagation_graphs", data.propagation_graphs),
    ):
        save_graphs({key: g for key, g in zip(ids, graphs) if g is not None}, path(name))
