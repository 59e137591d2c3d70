"""Shared training: join the artifacts a method reads by article id into `MethodInputs` (test
labels hidden), fit it on train with validation-based selection, predict every split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline import config
from pipeline.errors import BadInput
from pipeline.features.intents import PERSPECTIVES
from pipeline.graphs.io import load_graphs
from pipeline.methods import MethodSpec, artifact_path
from pipeline.models.inputs import MethodInputs, hide_test_labels
from pipeline.vectors import read_meta, vectors

# Which substitute lines a method's metrics name: the encoders', and those of what it reads.
SUBSTITUTES_OF = {"llm": "llm", "intent_embeddings": "intents_llm", "semantics": "amr"}
PER_ARTICLE_GRAPHS = {
    "sentence_entity_graphs": "sentence_graphs",
    "wikiamr_graphs": "amr_graphs",
    "propagation_graphs": "propagation_graphs",
}


class NotApplicable(Exception):
    """The dataset lacks an input the method needs."""


def _column(table, name: str) -> np.ndarray | None:
    return (
        None
        if name not in table.column_names or table.column(name).null_count == table.num_rows
        else vectors(table, name)
    )


def _rows(ids: list[str], table_ids: list[str], path, stage: str) -> np.ndarray:
    """Row of each article id in an artifact; a missing id is an error, never a row shift."""
    position = {key: i for i, key in enumerate(table_ids)}
    missing = [key for key in ids if key not in position]
    if missing:
        raise BadInput(f"{path}: no row for {len(missing)} article id(s), e.g. {missing[:3]}; re-run {stage}")
    return np.array([position[key] for key in ids], dtype=np.int64)


def load_inputs(
    dataset: str, reads: tuple[str, ...] | list[str], root: Path | str = "."
) -> tuple[MethodInputs, pd.DataFrame]:
    """(MethodInputs, articles) from exactly the artifacts named in `reads` (see pipeline.methods.ARTIFACTS)."""
    path = {name: config.require(Path(root) / artifact_path(name, dataset)) for name in reads}
    articles = pq.read_table(path["articles"]).to_pandas()
    ids = articles["id"].tolist()
    inputs, substitutes = {}, {}
    if "embeddings" in reads:
        inputs, substitutes["encoders"] = _embeddings(ids, path["embeddings"])
    if "similarity_graph" in reads:
        inputs |= _similarity_graph(ids, path["similarity_graph"])
    if "llm" in reads:
        llm = pq.read_table(path["llm"])
        frame = llm.to_pandas().iloc[_rows(ids, llm.column("id").to_pylist(), path["llm"], "llm")]
        inputs["llm_prob_fake"] = frame["veracity_prob_fake"].to_numpy(dtype=float)
        if "zero_shot_label" in frame:
            inputs["llm_zero_shot"] = frame["zero_shot_label"].fillna(-1).to_numpy(dtype=np.int64)
        substitutes["llm"] = _llm_substitute(read_meta(llm))
    if "intent_embeddings" in reads:
        intents = pq.read_table(path["intent_embeddings"])
        substitutes["intents_llm"] = _llm_substitute(read_meta(intents).get("llm"))
        if "embeddings" not in reads:  # the same text encoder embedded the intents
            substitutes["encoders"] = _encoder_substitute(read_meta(intents).get("intent_encoder"))
        inputs |= _intents(
            intents, _rows(ids, intents.column("id").to_pylist(), path["intent_embeddings"], "intent-embeddings")
        )
    if "semantics" in reads:
        amr_source = read_meta(path["semantics"]).get("amr_source", "")
        substitutes["amr"] = [f"AMR: {amr_source}"] if "substitute" in amr_source else []
    for artifact, name in PER_ARTICLE_GRAPHS.items():
        if artifact in reads:
            inputs[name] = _per_article(ids, path[artifact])
    data = MethodInputs(
        ids=ids,
        split=articles["split"].to_numpy(),
        y=hide_test_labels(articles["split"], articles["label"]),
        substitutes=substitutes,
        **inputs,
    )
    return data, articles


def _embeddings(ids: list[str], path: Path) -> tuple[dict, list[str]]:
    """The encoders' vectors in article order, and their substitute lines."""
    table = pq.read_table(path)
    rows = _rows(ids, table.column("id").to_pylist(), path, "embed")
    has_image = np.asarray(table.column("has_image").to_pylist(), dtype=bool)[rows]
    inputs = {
        name: None if (matrix := _column(table, name)) is None else matrix[rows]
        for name in ("text", "image", "clip_text", "clip_image")
    }
    if not has_image.any():
        inputs["image"] = None
    inputs["has_image"] = has_image
    return inputs, read_meta(table).get("substitutes", [])


def _encoder_substitute(info: dict | None) -> list[str]:
    """An encoder's substitute line, worded as the embed stage words it (none for the paper's encoder)."""
    if not info or not info.get("substitute_for"):
        return []
    return [f"{info['name']} stands in for {info['substitute_for']}"]


def _similarity_graph(ids: list[str], path: Path) -> dict:
    graph = load_graphs(path).get("all")
    if graph is None:  # the similarity stage found no joint vectors to build it from
        return {}
    node = {key: i for i, key in enumerate(graph.node_ids)}
    order = np.array([node[key] for key in ids])  # graph node -> article row
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return {"edge_index": inverse[graph.edge_index.numpy()], "edge_weight": graph.edge_weight.numpy()}


def _intents(table, rows: np.ndarray) -> dict:
    present = np.stack([~np.asarray(table.column(p).is_null()) for p in PERSPECTIVES], axis=1)[rows]
    if not present.any():
        return {}
    return {"intents": np.stack([vectors(table, p)[rows] for p in PERSPECTIVES], axis=1), "intent_mask": present}


def _llm_substitute(provenance: dict | None) -> list[str]:
    """The LLM's substitute line from an LLM stage's provenance metadata (none for the paper's model)."""
    if not provenance or not provenance.get("substitute_for"):
        return []
    return [f"LLM {provenance['model']} ({provenance['backend']}) stands in for {provenance['substitute_for']}"]


def _per_article(ids: list[str], path: Path) -> list | None:
    """The graphs of `path` in article order (None where an article has none); None when the file holds none."""
    graphs = load_graphs(path)
    return [graphs.get(key) for key in ids] if graphs else None


def train(method: MethodSpec, data: MethodInputs, settings: dict, seed: int, device: str = "cpu"):
    """Returns (fitted model, predictions frame without labels, training record)."""
    missing = [name for name in method.requires if getattr(data, name) is None]
    if missing:
        raise NotApplicable(f"{method.name} needs {', '.join(missing)}, which this dataset does not have")
    if not data.mask("train").any() or not data.mask("val").any():
        raise BadInput(f"{method.name}: need non-empty train and val splits")
    model = method.detector_class()(seed=seed, device=device, **settings)
    record = model.fit(data)
    prob = np.asarray(model.predict_proba(data), dtype=float)
    predictions = pd.DataFrame(
        {"id": data.ids, "split": data.split, "prob_fake": prob, "pred": (prob >= 0.5).astype(int), "seed": seed}
    )
    return model, predictions, record | {"seed": seed}


def substitutes(data: MethodInputs, reads) -> list[str]:
    """The substitute lines of the encoders and of the artifacts a method reads."""
    parts = ["encoders"] + [SUBSTITUTES_OF[name] for name in reads if name in SUBSTITUTES_OF]
    return [line for part in parts for line in data.substitutes.get(part, [])]
