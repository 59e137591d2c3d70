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

Hostile input is refused, not trusted: the dataset argument must be one of params.yaml's
dataset names (it names the models/<method>/<dataset>/ folder whose pickle is loaded); relative
image paths in a batch file are read from the file's folder; every image must load before the
slow work starts; CSV output neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import functools
import json
import pickle
import sys
import unicodedata
from collections.abc import Callable
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
from pipeline.features.images import NO_IMAGE, OK, load_image
from pipeline.methods import METHODS, MethodSpec, not_applicable, spec
from pipeline.models.inputs import MethodInputs
from pipeline.progress import progress_bar
from pipeline.vectors import read_meta, vectors

CHUNK = 32  # items featurised between two progress updates
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # cell starts a spreadsheet reads as a formula
MULTILINGUAL = "mul"  # a dataset whose articles say lang 'mul' was trained on many languages
SCRIPT_SAMPLE = 2000  # characters of a text the script heuristic reads
SHOWN_IDS = 5  # item ids a warning names


class PredictError(FndError):
    """A request fnd predict cannot serve: the message says why and what to do."""


def single_item(text: str, image: str | None = None, title: str = "") -> pd.DataFrame:
    """One --text article; a relative --image path is read from the current directory."""
    if not text or not text.strip():
        raise PredictError("--text is empty: give the article text")
    return _items([{"id": "item-1", "text": text, "title": title, "image": image}], "--text", Path.cwd())


def read_items(path: Path) -> pd.DataFrame:
    """A CSV or JSONL batch: `text` required; optional `id`, `title`, `image` (path), `lang`.

    A relative image path is read from the batch file's folder (not the current directory). JSONL
    is split into lines on "\\n" only: U+2028 and the other Unicode line breaks are valid inside a
    JSON string."""
    path = Path(path)
    if not path.is_file():
        raise PredictError(f"{path}: input file not found")
    rows = _read_rows(path)
    if not rows:
        raise PredictError(f"{path}: no articles in the file")
    return _items(rows, str(path), path.parent)


def _read_rows(path: Path) -> list:
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")
        if path.suffix in (".jsonl", ".json"):
            return _jsonl_rows(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise PredictError(f"{path}: cannot parse ({err})") from None
    raise PredictError(f"{path}: unknown input format {path.suffix!r}; use .csv or .jsonl")


def _jsonl_rows(path: Path) -> list:
    rows = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8-sig").split("\n"), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise PredictError(f"{path}:{line_no}: not a JSON object ({err.msg})") from None
    return rows


def _items(rows: list[dict], source: str, base: Path) -> pd.DataFrame:
    """The rows as test items; `base` is the folder relative image paths are read from."""
    items = pd.DataFrame([_item(row, number, f"{source} row {number}", base) for number, row in enumerate(rows, 1)])
    repeated = items["id"][items["id"].duplicated()].tolist()
    if repeated:
        raise PredictError(f"{source} [id]: repeated ids {repeated[:3]}")
    return items.assign(split="test", label=-1)


def _item(row: dict, number: int, where: str, base: Path) -> dict:
    if not isinstance(row, dict):
        raise PredictError(f"{where}: expected an object with a 'text' field")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise PredictError(f"{where} [text]: missing or empty")
    return {
        "id": str(row.get("id") or f"item-{number}"),
        "text": text,
        "title": str(row.get("title") or ""),
        "image_paths": _image_paths(row.get("image"), where, base),
        "lang": str(row.get("lang") or "en"),
        "lang_given": bool(row.get("lang")),
    }


def _image_paths(image, where: str, base: Path) -> list[str]:
    """[the image's absolute path], or [] without an image; a relative path is read from `base`."""
    if not image:
        return []
    if not isinstance(image, str):
        raise PredictError(f"{where} [image]: expected a file path, got {image!r}")
    path = base / image  # an absolute `image` stays itself
    if not path.is_file():
        hint = "" if Path(image).is_absolute() else f" (a relative path is read from {base})"
        raise PredictError(f"{where} [image]: {image} does not exist{hint}")
    return [str(path.resolve())]


def check_dataset(dataset: str, params: dict) -> None:
    """`dataset` must be one of params.yaml's dataset names, and a plain one (no path separator,
    no '..'): it names the models/<method>/<dataset>/ folder whose pickle is loaded."""
    known = [name for name in params.get("datasets") or {} if _plain(name)]
    if dataset in known:
        return
    problem = "is not in params.yaml's datasets" if _plain(dataset) else "is a path, not a dataset name"
    raise PredictError(f"dataset {dataset!r} {problem}; use one of: {', '.join(known) or '(params.yaml lists none)'}")


def _plain(name) -> bool:
    return isinstance(name, str) and bool(name) and ".." not in name and not any(c in name for c in "/\\\0")


def load_models(method: str, dataset: str, params: dict) -> tuple[MethodSpec, dict]:
    """The method's entry and its {seed: model}, unpickled only from models/<method>/<dataset>/
    of a dataset params.yaml lists (a pickle runs code when loaded)."""
    method_spec = spec(method)
    if method_spec.predicts is None:
        usable = ", ".join(name for name, entry in METHODS.items() if entry.predicts)
        raise PredictError(
            f"{method}: LGCL scores an article by its news propagation graph, which a new article does not "
            f"have; use {usable}"
        )
    check_dataset(dataset, params)
    reason = not_applicable(method_spec.name, dataset, params)
    if reason:
        raise PredictError(f"{method} was not trained on {dataset}: {reason}")
    folder = _model_folder(method, dataset)
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


def _model_folder(method: str, dataset: str) -> Path:
    """models/<method>/<dataset>, whose files must resolve inside the project's models/ folder of
    that name: a pickle runs code when loaded, so a symlink out of it is refused."""
    folder = config.model_dir(method, dataset)
    expected = Path("models").resolve() / method / dataset
    for path in (folder / "model.pkl", folder / "train.json"):
        if path.exists() and not path.resolve().is_relative_to(expected):
            raise PredictError(
                f"{path}: resolves to {path.resolve()}, outside {expected}; models are loaded only from the "
                f"project's models/<method>/<dataset>/ folder: replace the link with the trained files"
            )
    return folder


def check_images(items: pd.DataFrame) -> None:
    """Every item's image loads, checked before the slow work: any status but OK (missing,
    corrupt, too large, ...) is a PredictError naming the item, the file and the status."""
    for item_id, paths in zip(items["id"], items["image_paths"]):
        for path in paths:
            _, status = load_image(Path(path))
            if status != OK:
                raise PredictError(f"item {item_id} [image]: {path}: {status}; fix the image or leave it out")


def training_languages(dataset: str) -> set[str]:
    """The languages (primary subtags) of the dataset's articles: the `lang` column of its articles.parquet."""
    table = pq.read_table(config.require(config.articles_path(dataset)), columns=["lang"])
    return {_primary(lang) for lang in table.column("lang").to_pylist() if lang}


def language_warning(items: pd.DataFrame, dataset: str, languages: set[str]) -> str | None:
    """A warning naming the items that look written in a language the models were not trained
    on (count and first ids), or None. A simple heuristic, not language identification:
    - an item with a `lang` field is off when its primary subtag (en-US -> en) is not among the
      training articles' `languages`; a dataset whose articles say 'mul' (multilingual) takes any;
    - an item without one is off when the training data is English only and more than half of
      the letters in its text's first 2,000 characters are not Latin script (by Unicode character
      name: Cyrillic, CJK, Arabic, ... letters count; digits, punctuation and spaces do not).
    """
    if not languages or MULTILINGUAL in languages:
        return None
    given = items["lang_given"] if "lang_given" in items else [True] * len(items)
    off = [
        item_id
        for item_id, text, lang, has_lang in zip(items["id"], items["text"], items["lang"], given)
        if (_primary(lang) not in languages if has_lang else languages == {"en"} and _mostly_non_latin(text))
    ]
    if not off:
        return None
    shown = ", ".join(off[:SHOWN_IDS]) + (", ..." if len(off) > SHOWN_IDS else "")
    return (
        f"{len(off)} of {len(items)} items may not be in {dataset}'s training language "
        f"({', '.join(sorted(languages))}), by their lang field or script: {shown}; their scores may be unreliable"
    )


def _primary(lang: str) -> str:
    return str(lang).strip().lower().replace("_", "-").split("-")[0]


def _mostly_non_latin(text: str) -> bool:
    letters = [c for c in text[:SCRIPT_SAMPLE] if c.isalpha()]
    return 2 * sum(not unicodedata.name(c, "").startswith("LATIN ") for c in letters) > len(letters)


def write_results(results: list[dict], path: Path) -> None:
    """The results as JSON lines (.jsonl) or CSV (.csv; explanation and prob_fake_by_seed as JSON).

    In CSV, a string cell starting with =, +, -, @, a tab or a carriage return gets a leading '
    so that a spreadsheet shows it as text instead of running it as a formula (OWASP's advice on
    CSV injection); numbers are written as they are. Every string is quoted, so a carriage
    return inside one cannot split its row."""
    path = Path(path)
    if path.suffix != ".csv":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8")
        return
    rows = [
        r
        | {
            "explanation": json.dumps(r["explanation"], ensure_ascii=False),
            "prob_fake_by_seed": json.dumps(r["prob_fake_by_seed"]),
        }
        for r in results
    ]
    pd.DataFrame(rows).map(neutralise).to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)


def neutralise(cell):
    """A string cell a spreadsheet would run as a formula, prefixed with ' (other cells as they are)."""
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


class Featuriser:
    """The new items' inputs, computed by the components that built the dataset's. Each
    component loads once and serves every chunk of items; use it as a context manager (the LLM
    results cache is closed on exit)."""

    def __init__(self, dataset: str, params: dict, data_root: Path):
        self.dataset, self.params, self.root = dataset, params, data_root
        self.cfg = params.get("embed", {})
        self.embeddings = pq.read_table(config.require(config.embeddings_path(dataset)))
        self.meta = read_meta(self.embeddings)
        self.device = resolve_device(self.cfg.get("device", "auto"))

    def __enter__(self) -> Featuriser:
        return self

    def __exit__(self, *exc) -> None:
        if "annotator" in self.__dict__:
            self.annotator.cache.close()

    @property
    def has_images(self) -> bool:
        """Whether the dataset's models were trained with an image branch."""
        return True in self.embeddings.column("has_image").to_pylist()

    @functools.cached_property
    def text_encoder(self) -> tuple:
        """(encoder, info) of embed.text: the articles', sentences' and intents' encoder, loaded once."""
        return registry.text_encoder(self.cfg.get("text", registry.DEFAULTS["text"]), self.device)

    @functools.cached_property
    def image_encoder(self):
        return registry.image_encoder(self.cfg.get("image", registry.DEFAULTS["image"]), self.device)[0]

    @functools.cached_property
    def joint_encoder(self):
        return registry.joint_encoder(self.cfg.get("joint", registry.DEFAULTS["joint"]), self.device)[0]

    def inputs(self, items: pd.DataFrame, reads: tuple[str, ...]) -> tuple[dict, pd.DataFrame | None]:
        """The MethodInputs fields a method that `reads` these artifacts needs, and the LLM's
        table (None when it reads no LLM output)."""
        tasks = (["veracity"] if "llm" in reads else []) + (["intents"] if "intent_embeddings" in reads else [])
        inputs = self.vectors(items)
        llm = self.llm(items, tasks) if tasks else None
        if "veracity" in tasks:
            inputs["llm_prob_fake"] = llm["veracity_prob_fake"].to_numpy(dtype=float)
        if "intents" in tasks:
            inputs["intents"], inputs["intent_mask"] = self.intents(llm)
        if "sentence_entity_graphs" in reads:
            inputs["sentence_graphs"] = self.sentence_graphs(items)
        return inputs, llm

    def vectors(self, items: pd.DataFrame) -> dict:
        chosen, statuses, loaded = load_row_images(items, self.root)
        for item_id, status in zip(items["id"], statuses):
            if status not in (OK, NO_IMAGE):
                raise PredictError(f"item {item_id} [image]: {status}")
        texts = encoder_input(items)
        out = {"text": self.text_encoder[0].encode(texts, progress=False)}
        has_image = np.array([c is not None for c in chosen])
        images = [loaded[c] for c in chosen if c is not None]
        image = np.zeros((len(items), self.image_encoder.dim), np.float32)
        if images:
            image[has_image] = self.image_encoder.encode(images, progress=False)
        out |= {"image": image, "has_image": has_image}
        if self.embeddings.column("clip_text").null_count == self.embeddings.num_rows:
            return out  # the dataset has no joint vectors (no images)
        if self.joint_encoder is not None:
            clip_text = self.joint_encoder.encode_text(texts, progress=False)
            clip_image = np.zeros_like(clip_text)
            if images:
                clip_image[has_image] = self.joint_encoder.encode_image(images, progress=False)
        else:
            clip_text = self.alignment.text(out["text"])
            clip_image = np.where(has_image[:, None], self.alignment.image(image), 0).astype(np.float32)
        return out | {"clip_text": clip_text, "clip_image": clip_image}

    @functools.cached_property
    def alignment(self) -> CCAAlignment:
        """The embed stage's full-fit CCA (pipeline/features/embed.py), refitted on the same train
        pairs with the dim and shrinkage its metadata records, and checked against the stored
        vectors of the rows that fit embedded: every row but the train pairs, whose stored vectors
        are out-of-fold by design (cross-fitted). A new item is an unseen row: the full fit embeds it."""
        articles = pq.read_table(config.articles_path(self.dataset), columns=["split"]).to_pandas()
        text, image = vectors(self.embeddings, "text"), vectors(self.embeddings, "image")
        has_image = np.asarray(self.embeddings.column("has_image").to_pylist(), dtype=bool)
        pairs = has_image & (articles["split"] == "train").to_numpy()
        fitted = self.meta.get("joint_alignment", {})
        # An embeddings file from before the cross-fitting has no shrinkage: it used 0.1 on every row.
        align = CCAAlignment.fit(text[pairs], image[pairs], dim=fitted["dim"], shrinkage=fitted.get("shrinkage", 0.1))
        full = ~pairs  # the rows the full fit embedded: val, test and text-only train rows
        stored_text, stored_image = vectors(self.embeddings, "clip_text"), vectors(self.embeddings, "clip_image")
        gap = max(
            float(np.abs(align.text(text[full]) - stored_text[full]).max(initial=0.0)),
            float(np.abs(align.image(image[full & has_image]) - stored_image[full & has_image]).max(initial=0.0)),
        )
        if gap > 1e-4:
            raise PredictError(
                f"{config.embeddings_path(self.dataset)}: the joint alignment refitted on its train pairs differs "
                f"from the stored one by up to {gap:.3g} on the rows it embedded, so new items would not share "
                f"its space; re-run `fnd embed {self.dataset}` with this code"
            )
        return align

    @functools.cached_property
    def annotator(self):
        from pipeline.llm.annotate import Annotator

        return Annotator.of(self.params.get("llm", {}))

    def llm(self, items: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
        from pipeline.llm.annotate import assemble

        results = {task: self.annotator.run_task(task, items, progress=False)[:2] for task in tasks}
        return assemble(items, results, self.annotator.prompts)

    @functools.cached_property
    def semantics(self) -> tuple:
        """(knowledge base with its titles embedded, spaCy pipeline) of params' semantics section."""
        from pipeline.semantics.kb import KnowledgeBase, knowledge_base_path
        from pipeline.semantics.text import load_spacy

        cfg = self.params.get("semantics", {})
        kb = KnowledgeBase.load(
            knowledge_base_path(cfg, self.root),
            min_similarity=cfg.get("link_min_similarity", 0.85),
        )
        encoder, _ = registry.text_encoder(cfg.get("link_encoder", "minilm"), self.device)
        kb.embed_titles(encoder, progress=False)
        return kb, load_spacy(cfg.get("spacy_model", "en_core_web_sm"))

    def sentence_graphs(self, items: pd.DataFrame) -> list:
        from pipeline.graphs.sentence_entity import sentence_entity_graphs
        from pipeline.semantics.analyse import analyse_articles

        cfg, graph_cfg = self.params.get("semantics", {}), self.params.get("graphs", {}).get("sentence_entity", {})
        kb, nlp = self.semantics
        table, _ = analyse_articles(
            items,
            kb,
            nlp,
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
    method: str,
    dataset: str,
    items: pd.DataFrame,
    params: dict,
    data_root: Path,
    top_k: int = 5,
    progress: bool = True,
    warn: Callable[[str], None] | None = None,
) -> list[dict]:
    """One result per item: label, mean P(fake) over the trained seeds, and the method's explanation.

    Before the slow work: the dataset name and model files are checked (load_models), every
    image must load (check_images), and items that look written in another language than the
    training data's get a warning (language_warning), passed to `warn` (default: printed to
    stderr). With `progress`, progress on stderr (pipeline/progress.py: a bar on a terminal, a line per
    update in a pipe) follows feature building (one update per CHUNK items) and scoring (one per seed)."""
    method_spec, models = load_models(method, dataset, params)
    check_images(items)
    message = language_warning(items, dataset, training_languages(dataset))
    if message:
        (warn or _print_warning)(message)
    base, transductive = method_spec.name, method_spec.predicts == "transductive"
    with Featuriser(dataset, params, data_root) as features:
        inputs, llm = featurise(features, method_spec.reads, items, progress)
        if not features.has_images:
            inputs |= {"image": None}  # trained without an image branch: score the same way
    if transductive:
        data, rows = _joined(dataset, method_spec, items, inputs, params, progress)
    else:
        data, rows = (
            MethodInputs(ids=items["id"].tolist(), split=items["split"], y=items["label"], **inputs),
            np.arange(len(items)),
        )
    by_seed = _score(models, data, rows, progress)
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


def _print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _progress(total: int, what: str, unit: str, progress: bool):
    """A stderr bar that shows every update (an update is a chunk or a seed: seconds apart)."""
    return progress_bar(total=total, desc=f"fnd predict: {what}", unit=unit, disable=not progress, every_update=True)


def featurise(features: Featuriser, reads: tuple[str, ...], items: pd.DataFrame, progress: bool) -> tuple:
    """(inputs, LLM table or None) for every item, CHUNK items at a time: one progress update each."""
    parts, llm_parts = [], []
    with _progress(len(items), "features", "item", progress) as bar:
        for start in range(0, len(items), CHUNK):
            chunk = items.iloc[start : start + CHUNK].reset_index(drop=True)
            inputs, llm = features.inputs(chunk, reads)
            parts.append(inputs)
            llm_parts.append(llm)
            bar.update(len(chunk))
    llm = None if llm_parts[0] is None else pd.concat(llm_parts, ignore_index=True)
    return _stack(parts), llm


def _stack(parts: list[dict]) -> dict:
    """The chunks' inputs as one: arrays concatenated along rows, lists (graphs) joined."""
    return {
        key: np.concatenate([p[key] for p in parts])
        if isinstance(parts[0][key], np.ndarray)
        else [value for p in parts for value in p[key]]
        for key in parts[0]
    }


def _score(models: dict, data: MethodInputs, rows: np.ndarray, progress: bool) -> dict[int, np.ndarray]:
    """Each seed's P(fake) for the `rows` of `data`: one progress update per seed."""
    by_seed = {}
    with _progress(len(models), "scoring", "seed", progress) as bar:
        for seed, model in models.items():
            by_seed[int(seed)] = np.asarray(model.predict_proba(data), dtype=float)[rows]
            bar.update()
    return by_seed


def _joined(
    dataset: str, method_spec: MethodSpec, items: pd.DataFrame, inputs: dict, params: dict, progress: bool
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
        progress=progress,
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
