"""Shared training: join a dataset's artifacts by article id into `MethodInputs` (test labels
hidden), fit a method on train with validation-based selection, predict every split.

A method named in params `train.<name>` with a `method:` key is a variant of that method
with other settings (the ablations); `mask_rate` reaches GLPN-LLM from the top-level key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline.features.embed import read_meta, vectors
from pipeline.features.intents import PERSPECTIVES
from pipeline.graphs.io import load_graphs
from pipeline.models.baselines import LogRegDetector
from pipeline.models.glpn import GCNLPDetector, GLPNDetector
from pipeline.models.inputs import MethodInputs, hide_test_labels
from pipeline.models.inside import InSideDetector
from pipeline.models.lgcl import LGCLDetector
from pipeline.models.llm_only import LLMOnlyDetector
from pipeline.models.mlp import MLPDetector
from pipeline.models.mmfnd import MMFNDDetector

METHODS = {cls.name: cls for cls in (LogRegDetector, MLPDetector, LLMOnlyDetector, GCNLPDetector, GLPNDetector, MMFNDDetector,
                                      InSideDetector, LGCLDetector)}
# Methods over per-article graphs: the train_graph stage hands them the graphs too.
GRAPH_METHODS = ("inside", "lgcl")

# Inputs each method cannot run without; a dataset lacking one is reported as not applicable.
REQUIRES = {
    "glpn": ("clip_text", "clip_image", "edge_index", "llm_prob_fake"),
    "gcn_lp": ("clip_text", "clip_image", "edge_index"),
    "mmfnd": ("image", "clip_text", "clip_image"),
    "llm_only": ("llm_prob_fake",),
    "inside": ("sentence_graphs", "intents"),
    "lgcl": ("amr_graphs", "propagation_graphs"),
}
# Inputs from substituted components beyond the encoders, named in the metrics of the methods that read them.
USES = {"glpn": ("llm",), "llm_only": ("llm",), "inside": ("intents_llm",), "lgcl": ("llm", "amr")}
# Where a missing input comes from, for the not-applicable message.
SOURCES = {
    "intents": "the LLM's intent paragraphs: list the dataset in llm.intents.datasets",
    "propagation_graphs": "news propagation graphs: only UPFD PolitiFact and Twitter15/16 ship them",
}


class NotApplicable(Exception):
    """The dataset lacks an input the method needs (e.g. images for MMFND)."""


def resolve_method(name: str, train_params: dict) -> tuple[str, dict]:
    """(base method, its settings) for a method or a variant defined in params."""
    settings = dict(train_params.get(name, {}))
    base = settings.pop("method", name)
    if base not in METHODS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)} or a train.<name> section with 'method:'")
    return base, settings


def _column(table, name: str) -> np.ndarray | None:
    return None if name not in table.column_names or table.column(name).null_count == table.num_rows else vectors(table, name)


def load_inputs(articles: pd.DataFrame, embeddings_file, similarity_file=None, llm_file=None) -> tuple[MethodInputs, dict]:
    """Every artifact joined to `articles` by id; a missing id is an error, never a row shift."""
    table = pq.read_table(embeddings_file)
    position = {key: i for i, key in enumerate(table.column("id").to_pylist())}
    missing = [key for key in articles["id"] if key not in position]
    if missing:
        raise ValueError(f"{embeddings_file}: no embeddings for {len(missing)} article id(s), e.g. {missing[:3]}; re-run embed")
    rows = np.array([position[key] for key in articles["id"]])
    has_image = np.asarray(table.column("has_image").to_pylist(), dtype=bool)[rows]
    inputs = {name: None if (matrix := _column(table, name)) is None else matrix[rows]
              for name in ("text", "image", "clip_text", "clip_image")}
    if not has_image.any():
        inputs["image"] = None
    inputs["has_image"] = has_image
    if similarity_file is not None and (graph := load_graphs(similarity_file).get("all")) is not None:
        node = {key: i for i, key in enumerate(graph.node_ids)}
        order = np.array([node[key] for key in articles["id"]])  # graph node -> article row
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        inputs["edge_index"] = inverse[graph.edge_index.numpy()]
        inputs["edge_weight"] = graph.edge_weight.numpy()
    if llm_file is not None:
        llm = pq.read_table(llm_file).to_pandas().set_index("id")
        missing = [key for key in articles["id"] if key not in llm.index]
        if missing:
            raise ValueError(f"{llm_file}: no LLM row for {len(missing)} article id(s), e.g. {missing[:3]}; re-run llm")
        llm = llm.loc[articles["id"]]
        inputs["llm_prob_fake"] = llm["veracity_prob_fake"].to_numpy(dtype=float)
        if "zero_shot_label" in llm:
            inputs["llm_zero_shot"] = llm["zero_shot_label"].fillna(-1).to_numpy(dtype=np.int64)
    meta = read_meta(table)
    substitutes = {"encoders": meta.get("substitutes", [])}
    if llm_file is not None:
        substitutes["llm"] = _llm_substitute(read_meta(llm_file))
    data = MethodInputs(ids=articles["id"].tolist(), split=articles["split"].to_numpy(),
                        y=hide_test_labels(articles["split"], articles["label"]), substitutes=substitutes, **inputs)
    return data, meta


def _llm_substitute(provenance: dict | None) -> list[str]:
    """The LLM's substitute line from an LLM stage's provenance metadata (none for the paper's model)."""
    if not provenance or not provenance.get("substitute_for"):
        return []
    return [f"LLM {provenance['model']} ({provenance['backend']}) stands in for {provenance['substitute_for']}"]


def _per_article(ids: list[str], path: Path) -> list | None:
    """The graphs of `path` in article order (None where an article has none); None when the file holds none."""
    graphs = load_graphs(path) if path.exists() else {}
    return [graphs.get(key) for key in ids] if graphs else None


def attach_graphs(data: MethodInputs, graphs_dir: Path, intents_file: Path, semantics_file: Path) -> MethodInputs:
    """`data` with the per-article graphs and intent vectors joined by id; among the
    substitutes, the AMR source where it stands in for the paper's parser and the LLM that
    wrote the intent paragraphs."""
    graphs_dir, intents_file = Path(graphs_dir), Path(intents_file)
    amr_source = read_meta(semantics_file).get("amr_source", "")
    substitutes = data.substitutes | ({"amr": [f"AMR: {amr_source}"]} if "substitute" in amr_source else {})
    intents = mask = None
    if intents_file.exists():
        table = pq.read_table(intents_file)
        substitutes = substitutes | {"intents_llm": _llm_substitute(read_meta(table).get("llm"))}
        position = {key: i for i, key in enumerate(table.column("id").to_pylist())}
        missing = [key for key in data.ids if key not in position]
        if missing:
            raise ValueError(f"{intents_file}: no row for {len(missing)} article id(s), e.g. {missing[:3]}; re-run intents")
        rows = np.array([position[key] for key in data.ids], dtype=np.int64)
        present = np.stack([~np.asarray(table.column(p).is_null()) for p in PERSPECTIVES], axis=1)[rows]
        if present.any():
            intents, mask = np.stack([vectors(table, p)[rows] for p in PERSPECTIVES], axis=1), present
    return dataclasses.replace(
        data, intents=intents, intent_mask=mask, substitutes=substitutes,
        sentence_graphs=_per_article(data.ids, graphs_dir / "sentence_entity.pt"),
        amr_graphs=_per_article(data.ids, graphs_dir / "wikiamr.pt"),
        propagation_graphs=_per_article(data.ids, graphs_dir / "propagation.pt"),
    )


def train(method: str, data: MethodInputs, settings: dict, seed: int, device: str = "cpu"):
    """Returns (fitted model, predictions frame without labels, training record)."""
    missing = [name for name in REQUIRES.get(method, ()) if getattr(data, name) is None]
    if missing:
        sources = "".join(f"; {SOURCES[name]}" for name in missing if name in SOURCES)
        raise NotApplicable(f"{method} needs {', '.join(missing)}, which this dataset does not have{sources}")
    if not data.mask("train").any() or not data.mask("val").any():
        raise ValueError(f"{method}: need non-empty train and val splits")
    model = METHODS[method](seed=seed, device=device, **settings)
    record = model.fit(data)
    prob = np.asarray(model.predict_proba(data), dtype=float)
    predictions = pd.DataFrame({"id": data.ids, "split": data.split, "prob_fake": prob, "pred": (prob >= 0.5).astype(int), "seed": seed})
    substitutes = [s for part in ("encoders",) + USES.get(method, ()) for s in data.substitutes.get(part, [])]
    return model, predictions, record | {"seed": seed, "substitutes": substitutes}
