"""`fnd predict`: score new articles with a method trained by the pipeline.

A new article gets the features its method reads from the same components the stages used
(params.yaml's encoders and LLM, the dataset's joint alignment, spaCy and the sentence-entity
builder), then every seed's model scores it; the probability is the mean over seeds. Each
method explains itself in its own terms:
- glpn and gcn_lp (transductive): the article joins the dataset's similarity graph as a test
  node; the explanation is its most similar labelled (train) posts;
- mmfnd: its SE attention weights over the text, image and cross-modal branches;
- inside: the LLM's four intent paragraphs the intent graph was built from;
- llm_only: the LLM's P(fake); logreg and mlp give no per-article explanation.
LGCL is not offered: it scores an article by its news propagation graph, which a new article
does not have.
"""

from __future__ import annotations

import functools
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline import config
from pipeline.device import resolve_device
from pipeline.errors import FndError
from pipeline.features import registry
from pipeline.features.alignment import CCAAlignment
from pipeline.features.embed import encoder_input, load_row_images
from pipeline.features.images import NO_IMAGE, OK
from pipeline.methods import METHODS, MethodSpec, not_applicable, spec
from pipeline.models.inputs import MethodInputs
from pipeline.vectors import read_meta, vectors


class PredictError(FndError):
    """A request fnd predict cannot serve: the message says why and what to do."""


def single_item(text: str, image: str | None = None, title: str = "") -> pd.DataFrame:
    if not text or not text.strip():
        raise PredictError("--text is empty: give the article text")
    return _items([{"id": "item-1", "text": text, "title": title, "image": image}], "--text")


def read_items(path: Path) -> pd.DataFrame:
    """A CSV or JSONL batch: `text` required; optional `id`, `title`, `image` (path), `lang`."""
    path = Path(path)
    if not path.is_file():
        raise PredictError(f"{path}: input file not found")
    try:
        if path.suffix == ".csv":
            rows = pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")
        elif path.suffix in (".jsonl", ".json"):
            rows = []
            for line_no, line in enumerate(path.read_text().splitlines(), 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as err:
                        raise PredictError(f"{path}:{line_no}: not a JSON object ({err.msg})") from None
        else:
            raise PredictError(f"{path}: unknown input format {path.suffix!r}; use .csv or .jsonl")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise PredictError(f"{path}: cannot parse ({err})") from None
    if not rows:
        raise PredictError(f"{path}: no articles in the file")
    return _items(rows, str(path))


def _items(rows: list[dict], source: str) -> pd.DataFrame:
    clean = []
    for number, row in enumerate(rows, 1):
        where = f"{source} row {number}"
        if not isinstance(row, dict):
            raise PredictError(f"{where}: expected an object with a 'text' field")
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise PredictError(f"{where} [text]: missing or empty")
        image = row.get("image") or None
        if image is not None and not Path(image).is_file():
            raise PredictError(f"{where} [image]: {image} does not exist")
        clean.append(
            {
                "id": str(row.get("id") or f"item-{number}"),
                "text": text,
                "title": str(row.get("title") or ""),
                "image_paths": [str(Path(image).resolve())] if image else [],
                "lang": str(row.get("lang") or "en"),
            }
        )
    items = pd.DataFrame(clean)
    repeated = items["id"][items["id"].duplicated()].tolist()
    if repeated:
        raise PredictError(f"{source} [id]: repeated ids {repeated[:3]}")
    return items.assign(split="test", label=-1)


def load_models(method: str, dataset: str, params: dict) -> tuple[MethodSpec, dict]:
    method_spec = spec(method)
    if method_spec.predicts is None:
        usable = ", ".join(name for name, entry in METHODS.items() if entry.predicts)
        raise PredictError(
            f"{method}: LGCL scores an article by its news propagation graph, which a new article does not "
            f"have; use {usable}"
        )
    reason = not_applicable(method_spec.name, dataset, params) if dataset in params.get("datasets", {}) else None
    if reason:
        raise PredictError(f"{method} was not trained on {dataset}: {reason}")
    folder = config.model_dir(method, dataset)
    if not (folder / "model.pkl").is_file():
        raise PredictError(
            f"{folder}/model.pkl: no trained {method} for {dataset}; run `dvc repro` "
            f"(or `fnd train {method} {dataset}`) first"
        )
    records = json.loads((folder / "train.json").read_text())
    if "not_applicable" in records[0]:
        raise PredictError(f"{method} was not trained on {dataset}: {records[0]['not_applicable']}")
    with open(folder / "model.pkl", "rb") as fh:
        return method_spec, pickle.load(fh)


class Featuriser:
    """The new items' inputs, computed by the components that built the dataset's."""

    def __init__(self, dataset: str, params: dict, data_root: Path):
        self.dataset, self.params, self.root = dataset, params, data_root
        self.embeddings = pq.read_table(config.embeddings_path(dataset))
        self.meta = read_meta(self.embeddings)
        self.device = resolve_device(params.get("embed", {}).get("device", "auto"))

    @functools.cached_property
    def text_encoder(self) -> tuple:
        """(encoder, info) of embed.text: the articles', sentences' and intents' encoder, loaded once."""
        return registry.text_encoder(self.params.get("embed", {}).get("text", registry.DEFAULTS["text"]), self.device)

    def vectors(self, items: pd.DataFrame) -> dict:
        cfg = self.params.get("embed", {})
        texts = encoder_input(items)
        out = {"text": self.text_encoder[0].encode(texts, progress=False)}
        chosen, statuses, loaded = load_row_images(items, self.root)
        for item_id, status in zip(items["id"], statuses):
            if status not in (OK, NO_IMAGE):
                raise PredictError(f"item {item_id} [image]: {status}")
        has_image = np.array([c is not None for c in chosen])
        images = [loaded[c] for c in chosen if c is not None]
        image_encoder, _ = registry.image_encoder(cfg.get("image", registry.DEFAULTS["image"]), self.device)
        image = np.zeros((len(items), image_encoder.dim), np.float32)
        if images:
            image[has_image] = image_encoder.encode(images, progress=False)
        out |= {"image": image, "has_image": has_image}
        if self.embeddings.column("clip_text").null_count == self.embeddings.num_rows:
            return out  # the dataset has no joint vectors (no images)
        joint, _ = registry.joint_encoder(cfg.get("joint", registry.DEFAULTS["joint"]), self.device)
        if joint is not None:
            clip_text = joint.encode_text(texts, progress=False)
            clip_image = np.zeros_like(clip_text)
            if images:
                clip_image[has_image] = joint.encode_image(images, progress=False)
        else:
            align = self._alignment(cfg.get("align_dim", 128))
            clip_text = align.text(out["text"])
            clip_image = np.where(has_image[:, None], align.image(image), 0).astype(np.float32)
        return out | {"clip_text": clip_text, "clip_image": clip_image}

    def _alignment(self, dim: int) -> CCAAlignment:
        """The embed stage's CCA, refitted on the same train pairs, checked against the stored vectors."""
        articles = pq.read_table(config.articles_path(self.dataset), columns=["split"]).to_pandas()
        text, image = vectors(self.embeddings, "text"), vectors(self.embeddings, "image")
        has_image = np.asarray(self.embeddings.column("has_image").to_pylist(), dtype=bool)
        pairs = has_image & (articles["split"] == "train").to_numpy()
        align = CCAAlignment.fit(text[pairs], image[pairs], dim=dim)
        gap = float(np.abs(align.text(text) - vectors(self.embeddings, "clip_text")).max())
        if gap > 1e-4:
            raise PredictError(
                f"{config.embeddings_path(self.dataset)}: the joint alignment refitted on its train pairs differs "
                f"from the stored one by up to {gap:.3g}, so new items would not share its space; "
                f"re-run `fnd embed {self.dataset}` with this code"
            )
        return align

    def llm(self, items: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
        from pipeline.llm.annotate import Annotator, assemble
        from pipeline.llm.backends import make_backend
        from pipeline.llm.cache import ResultCache

        cfg = self.params.get("llm", {})
        cache = ResultCache(Path(cfg.get("cache_dir", ".cache/llm")) / "results.sqlite")
        annotator = Annotator(cfg, cache, lambda: make_backend(cfg, str(resolve_device(cfg.get("device", "auto")))))
        try:
            results = {task: annotator.run_task(task, items, progress=False)[:2] for task in tasks}
        finally:
            cache.close()
        return assemble(items, results, annotator.prompts)

    def sentence_graphs(self, items: pd.DataFrame) -> list:
        from pipeline.graphs.sentence_entity import sentence_entity_graphs
        from pipeline.semantics.analyse import analyse_articles
        from pipeline.semantics.kb import KnowledgeBase
        from pipeline.semantics.text import load_spacy

        cfg, graph_cfg = self.params.get("semantics", {}), self.params.get("graphs", {}).get("sentence_entity", {})
        kb = KnowledgeBase.load(
            self.root / cfg.get("kb", "wikipedia/summaries_en.json"),
            min_similarity=cfg.get("link_min_similarity", 0.85),
        )
        encoder, _ = registry.text_encoder(cfg.get("link_encoder", "minilm"), self.device)
        kb.embed_titles(encoder, progress=False)
        table, _ = analyse_articles(
            items,
            kb,
            load_spacy(cfg.get("spacy_model", "en_core_web_sm")),
            max_entities=cfg.get("max_entities", 32),
            max_chars=cfg.get("max_chars", 10_000),
            amr_max_sentences=cfg.get("amr_max_sentences", 32),
            progress=False,
        )
        graphs, _ = sentence_entity_graphs(
            table.to_pandas(),
            self.text_encoder[0],
            window=graph_cfg.get("window", 3),
            max_sentences=graph_cfg.get("max_sentences", 64),
            progress=False,
        )
        return [graphs.get(key) for key in items["id"]]

    def intents(self, llm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        from pipeline.features.intents import PERSPECTIVES, embed_intents

        encoder, info = self.text_encoder
        table, _ = embed_intents(llm, encoder, info.to_dict(), progress=False)
        mask = np.stack([~np.asarray(table.column(p).is_null()) for p in PERSPECTIVES], axis=1)
        return np.stack([vectors(table, p) for p in PERSPECTIVES], axis=1), mask


def predict(
    method: str, dataset: str, items: pd.DataFrame, params: dict, data_root: Path, top_k: int = 5
) -> list[dict]:
    """One result per item: label, mean P(fake) over the trained seeds, and the method's explanation."""
    method_spec, models = load_models(method, dataset, params)
    base, transductive = method_spec.name, method_spec.predicts == "transductive"
    features = Featuriser(dataset, params, data_root)
    inputs = features.vectors(items)
    reads = method_spec.reads  # a new article gets what the method reads, from the same components
    tasks = (["veracity"] if "llm" in reads else []) + (["intents"] if "intent_embeddings" in reads else [])
    llm = features.llm(items, tasks) if tasks else None
    if "veracity" in tasks:
        inputs["llm_prob_fake"] = llm["veracity_prob_fake"].to_numpy(dtype=float)
    if "intents" in tasks:
        inputs["intents"], inputs["intent_mask"] = features.intents(llm)
    if "sentence_entity_graphs" in reads:
        inputs["sentence_graphs"] = features.sentence_graphs(items)
    if not features.embeddings.column("has_image").to_pylist().count(True):
        inputs |= {"image": None}  # trained without an image branch: score the same way
    if transductive:
        data, rows = _joined(dataset, method_spec, items, inputs, params)
    else:
        data, rows = (
            MethodInputs(ids=items["id"].tolist(), split=items["split"], y=items["label"], **inputs),
            np.arange(len(items)),
        )
    by_seed = {int(seed): np.asarray(model.predict_proba(data), dtype=float)[rows] for seed, model in models.items()}
    prob = np.mean(list(by_seed.values()), axis=0)
    explanations = _explanations(base, transductive, models, data, rows, llm, top_k)
    return [
        {
            "id": item_id,
            "method": method,
            "trained_on": dataset,
            "label": "fake" if p >= 0.5 else "real",
            "prob_fake": round(float(p), 6),
            "prob_fake_by_seed": {s: round(float(v[k]), 6) for s, v in by_seed.items()},
            "explanation": explanations[k],
        }
        for k, (item_id, p) in enumerate(zip(items["id"], prob))
    ]


def _joined(
    dataset: str, method_spec: MethodSpec, items: pd.DataFrame, inputs: dict, params: dict
) -> tuple[MethodInputs, np.ndarray]:
    """The dataset's posts plus the new items (as test nodes), with the similarity graph over all of them."""
    from pipeline.graphs.similarity import similarity_graph
    from pipeline.train import load_inputs

    stored, articles = load_inputs(dataset, [name for name in method_spec.reads if name != "similarity_graph"])
    clash = sorted(set(articles["id"]) & set(items["id"]))
    if clash:
        raise PredictError(f"item ids {clash[:3]} are already {dataset} article ids; give the items other ids")
    joined = {}
    for name in ("text", "image", "clip_text", "clip_image", "has_image", "llm_prob_fake"):
        old, new = getattr(stored, name), inputs.get(name)
        if old is None:
            joined[name] = None
        else:
            joined[name] = np.concatenate([old, new if new is not None else np.full(len(items), np.nan)])
    cfg = params.get("graphs", {}).get("similarity", {})
    graph, _ = similarity_graph(
        stored.ids + items["id"].tolist(),
        joined["clip_text"],
        joined["clip_image"],
        theta=cfg.get("theta", 0.95),
        max_neighbours=cfg.get("max_neighbours"),
        block=cfg.get("block", 2048),
        progress=False,
    )
    data = MethodInputs(
        ids=stored.ids + items["id"].tolist(),
        split=np.concatenate([stored.split, items["split"]]),
        y=np.concatenate([stored.y, items["label"]]),
        edge_index=graph.edge_index.numpy(),
        edge_weight=graph.edge_weight.numpy(),
        substitutes=stored.substitutes,
        **joined,
    )
    return data, np.arange(len(stored), len(data))


def _explanations(
    base: str,
    transductive: bool,
    models: dict,
    data: MethodInputs,
    rows: np.ndarray,
    llm: pd.DataFrame | None,
    top_k: int,
) -> list[dict | None]:
    if transductive:
        return [_neighbours(data, row, top_k) for row in rows]
    if base == "mmfnd":
        try:
            weights = np.mean([model.explain(data)[rows] for model in models.values()], axis=0)
        except ValueError as err:  # trained without attention
            return [{"attention": str(err)}] * len(rows)
        from pipeline.models.mmfnd import BRANCHES

        return [{"attention": {b: round(float(w), 4) for b, w in zip(BRANCHES, row)}} for row in weights]
    if base == "inside":
        from pipeline.features.intents import PERSPECTIVES

        return [{"intents": {p: llm[f"intent_{p}"].iat[k] for p in PERSPECTIVES}} for k in range(len(rows))]
    if base == "llm_only":
        return [{"llm_prob_fake": round(float(p), 6)} for p in data.llm_prob_fake[rows]]
    return [None] * len(rows)  # logreg, mlp: no per-article explanation


def _neighbours(data: MethodInputs, row: int, top_k: int) -> dict:
    """The labelled (train) posts most similar to `row` in the similarity graph."""
    src, dst = data.edge_index
    edges = np.flatnonzero((src == row) & (data.split[dst] == "train"))
    edges = edges[np.argsort(-data.edge_weight[edges], kind="stable")][:top_k]
    degree = int((src == row).sum())
    return {
        "similarity_edges": degree,
        "nearest_labelled": [
            {
                "id": data.ids[dst[e]],
                "label": "fake" if data.y[dst[e]] == 1 else "real",
                "similarity": round(float(data.edge_weight[e]), 4),
            }
            for e in edges
        ],
    }
