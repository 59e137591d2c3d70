"""The method registry: everything the pipeline knows about a method, in one entry.

Training, prediction, the report, params validation and the stage graph (`fnd stages`, which
writes dvc.yaml) all read `METHODS`. A method's entry names:
- `detector`: "module:Class"; the class has `Settings`, a dataclass holding every default once;
- `reads`: the artifacts it loads (keys of `ARTIFACTS`), which become its stages' exact deps;
- `needs`: what a dataset must have beyond text ("images", "propagation", "intents", and "llm"
  for a method that reads the LLM's scores), else the method is not applicable there and no
  stage is made for the pair;
- `requires`: the `MethodInputs` fields it cannot run without; where one is empty at training
  time (e.g. every image of a user's CSV failed to load) the method records why, not a crash;
- `predicts`: how `fnd predict` scores a new article ("inductive", "transductive") or None;
- `variants`: the paper's ablations, each a named override of the method's settings;
- `sweeps`: settings whose variants form a curve in the report;
- `top_level`: settings read from a top-level params key instead of `train.<method>`
  (`mask_rate`, so that `dvc exp run -S mask_rate=0.3` re-runs GLPN-LLM alone);
- `unscored`: for a method whose prediction of a row uses the LLM's score of that row, what a
  row the LLM did not score gets; its metrics then carry the share of val and test rows the
  LLM scored (`llm_coverage`, pipeline/evaluate.py) and the report marks a coverage below 1.

Adding a method: a model file with a detector class and its Settings, an entry here, and a
`train.<name>` section in params.yaml (docs/methods.md has the recipe). This module imports no
model code, so a stage that trains one method imports that method's file alone.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field

from pipeline.settings import ParamsError, parse

# Artifact name -> path under the project root ({dataset} filled in).
ARTIFACTS = {
    "articles": "data/interim/{dataset}/articles.parquet",
    "embeddings": "data/processed/{dataset}/embeddings.parquet",
    "llm": "data/processed/{dataset}/llm.parquet",
    "intent_embeddings": "data/processed/{dataset}/intent_embeddings.parquet",
    "semantics": "data/processed/{dataset}/semantics.parquet",
    "similarity_graph": "data/processed/{dataset}/graphs/similarity.pt",
    "sentence_entity_graphs": "data/processed/{dataset}/graphs/sentence_entity.pt",
    "wikiamr_graphs": "data/processed/{dataset}/graphs/wikiamr.pt",
    "propagation_graphs": "data/processed/{dataset}/graphs/propagation.pt",
}

# Why a dataset lacking a need cannot run the method, for the report and the error messages.
NEEDS = {
    "images": "it has no images",
    "propagation": "it has no news propagation graphs (only UPFD PolitiFact and Twitter15/16 ship them)",
    "intents": "the LLM wrote no intents for it (list the dataset in llm.intents.datasets)",
    "llm": "the LLM does not score it (list the dataset in llm.veracity.datasets)",
}


@dataclass(frozen=True)
class MethodSpec:
    name: str
    detector: str
    paper: str
    reads: tuple[str, ...]
    kind: str = "method"  # "method" (a paper's) or "baseline"
    needs: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    predicts: str | None = "inductive"
    variants: dict[str, dict] = field(default_factory=dict)
    sweeps: tuple[str, ...] = ()
    top_level: tuple[str, ...] = ()
    unscored: str | None = None

    @property
    def module(self) -> str:
        return self.detector.split(":")[0]

    def detector_class(self) -> type:
        module, name = self.detector.split(":")
        return getattr(importlib.import_module(module), name)


GLPN_PAPER = "GLPN-LLM: global label propagation with LLM pseudo labels for multimodal fake news detection"
METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "logreg",
            "pipeline.models.baselines:LogRegDetector",
            "baseline: logistic regression on the embeddings",
            reads=("articles", "embeddings"),
            kind="baseline",
        ),
        MethodSpec(
            "mlp",
            "pipeline.models.mlp:MLPDetector",
            "baseline: two-layer MLP on the embeddings",
            reads=("articles", "embeddings"),
            kind="baseline",
        ),
        MethodSpec(
            "llm_only",
            "pipeline.models.llm_only:LLMOnlyDetector",
            "baseline: the LLM's P(fake) alone",
            reads=("articles", "embeddings", "llm"),
            kind="baseline",
            needs=("llm",),
            requires=("llm_prob_fake",),
            unscored="a row the LLM did not score gets the train-set fake prior",
        ),
        MethodSpec(
            "gcn_lp",
            "pipeline.models.glpn:GCNLPDetector",
            "baseline: GLPN-LLM's GCN label propagation without the LLM",
            reads=("articles", "embeddings", "similarity_graph"),
            kind="baseline",
            needs=("images",),
            requires=("clip_text", "clip_image", "edge_index"),
            predicts="transductive",
        ),
        MethodSpec(
            "glpn",
            "pipeline.models.glpn:GLPNDetector",
            GLPN_PAPER,
            reads=("articles", "embeddings", "similarity_graph", "llm"),
            needs=("images", "llm"),
            predicts="transductive",
            requires=("clip_text", "clip_image", "edge_index", "llm_prob_fake"),
            unscored="a row the LLM did not score gets no pseudo label",
            top_level=("mask_rate",),
            sweeps=("mask_rate", "pseudo_top_p"),
            variants={
                "glpn_no_mask": {"mask_rate": 0.0},
                "glpn_mask01": {"mask_rate": 0.1},
                "glpn_mask03": {"mask_rate": 0.3},
                "glpn_mask07": {"mask_rate": 0.7},
                "glpn_mask09": {"mask_rate": 0.9},
                "glpn_no_pseudo": {"use_pseudo_labels": False},
                "glpn_top1": {"pseudo_top_p": 0.01},
                "glpn_top10": {"pseudo_top_p": 0.10},
                "glpn_top25": {"pseudo_top_p": 0.25},
                "glpn_authors_3layer": {"layers": 3, "edge_weights": False},  # the authors' code's depth, unweighted
            },
        ),
        MethodSpec(
            "mmfnd",
            "pipeline.models.mmfnd:MMFNDDetector",
            "MMFND: multimodal fake news detection with CLIP features, one PLE per modality and modality attention",
            reads=("articles", "embeddings"),
            needs=("images",),
            requires=("image", "clip_text", "clip_image"),
            # The paper's Table 2, with its definitions (pipeline/models/mmfnd.py).
            variants={
                "mmfnd_no_ple": {"use_ple": False},  # w/o P
                "mmfnd_no_similarity": {"use_similarity_weighting": False},  # w/o S
                "mmfnd_no_attention": {"use_attention": False, "use_similarity_weighting": False},  # w/o A
                "mmfnd_no_fusion": {"branches": ["text", "image"]},  # w/o F
                "mmfnd_no_clip": {"use_clip": False, "use_similarity_weighting": False},  # w/o C
                "mmfnd_text_only": {"branches": ["text"]},
                "mmfnd_image_only": {"branches": ["image"]},
                "mmfnd_multimodal_only": {"branches": ["cross_modal"]},
            },
        ),
        MethodSpec(
            "inside",
            "pipeline.models.inside:InSideDetector",
            "InSide: intent-semantic graphs with dual-level message passing and pathway alignment",
            reads=("articles", "intent_embeddings", "sentence_entity_graphs"),
            needs=("intents",),
            requires=("sentence_graphs", "intents"),
            variants={
                "inside_no_entity": {"use_entities": False},
                "inside_no_window": {"use_window": False},
                "inside_no_fine": {"use_fine_intents": False},
                "inside_no_global": {"use_global": False},
                "inside_no_alignment": {"use_alignment": False},
            },
        ),
        MethodSpec(
            "lgcl",
            "pipeline.models.lgcl:LGCLDetector",
            "LGCL: LLM-guided contrastive learning on WikiAMR graphs, with a multi-view GMAE on propagation graphs",
            reads=("articles", "embeddings", "llm", "semantics", "wikiamr_graphs", "propagation_graphs"),
            needs=("propagation", "llm"),
            requires=("amr_graphs", "propagation_graphs"),
            predicts=None,
            variants={"lgcl_only_lgcl": {"use_propagation": False}, "lgcl_only_prop": {"use_lgcl": False}},
        ),
    )
}

# Every variant name -> its method.
VARIANT_OF = {variant: spec.name for spec in METHODS.values() for variant in spec.variants}


def spec(name: str) -> MethodSpec:
    """The entry of a method, or of the method a variant belongs to."""
    base = VARIANT_OF.get(name, name)
    if base not in METHODS:
        raise ParamsError(
            f"unknown method {name!r}; known: {', '.join(METHODS)} and their variants ({', '.join(VARIANT_OF)})"
        )
    return METHODS[base]


def artifact_path(name: str, dataset: str) -> str:
    return ARTIFACTS[name].format(dataset=dataset)


def train_params(params: dict) -> dict:
    """params["train"], with its lists of methods checked."""
    train = params.get("train") or {}
    unknown = sorted(set(train) - {"device", "seeds", "methods", "ablations"} - set(METHODS))
    if unknown:
        raise ParamsError(
            f"train: unknown key(s) {', '.join(unknown)}; allowed: device, seeds, methods, ablations and one "
            f"section per method ({', '.join(METHODS)})"
        )
    for key in ("methods", "ablations"):
        for name in train.get(key, []):
            if name not in METHODS:
                raise ParamsError(f"train.{key}: unknown method {name!r}; known: {', '.join(METHODS)}")
    return train


def settings(name: str, params: dict):
    """The settings a method or variant trains with: its Settings defaults, then the method's
    `train.<method>` section, then (the method itself) its top-level keys or (a variant) its
    overrides. Unknown keys and out-of-range values raise ParamsError naming the key."""
    method = spec(name)
    cls = method.detector_class().Settings
    section = dict((params.get("train") or {}).get(method.name) or {})
    misplaced = sorted(set(section) & set(method.top_level))
    if misplaced:
        raise ParamsError(f"train.{method.name}.{misplaced[0]}: set the top-level key {misplaced[0]} instead")
    values = section | (
        method.variants[name]
        if name != method.name
        else {key: params[key] for key in method.top_level if key in params}
    )
    return parse(
        cls, values, f"train.{method.name}" if name == method.name else f"train.{method.name} (variant {name})"
    )


def settings_dict(name: str, params: dict) -> dict:
    return dataclasses.asdict(settings(name, params))


def dataset_options(dataset: str, params: dict) -> dict:
    return ((params.get("ingest") or {}).get("options") or {}).get(dataset) or {}


def llm_scores(dataset: str, params: dict) -> bool:
    """Whether the LLM scores `dataset` (its stage llm runs): llm.veracity.datasets lists it, or
    is absent or null (every dataset); `[]` switches the LLM off everywhere."""
    listed = ((params.get("llm") or {}).get("veracity") or {}).get("datasets")
    return listed is None or dataset in listed


def dataset_has(dataset: str, params: dict) -> frozenset[str]:
    """What a dataset has beyond text: its adapter's "images" / "propagation", "intents" where
    the LLM writes intents for it, and "llm" where the LLM scores it."""
    from pipeline.data import registry

    has = set(registry.provides(dataset, dataset_options(dataset, params)))
    if dataset in (((params.get("llm") or {}).get("intents") or {}).get("datasets") or []):
        has.add("intents")
    if llm_scores(dataset, params):
        has.add("llm")
    return frozenset(has)


def not_applicable(method: str, dataset: str, params: dict) -> str | None:
    """Why `method` cannot run on `dataset` (None when it can)."""
    missing = [need for need in spec(method).needs if need not in dataset_has(dataset, params)]
    if not missing:
        return None
    return f"{spec(method).name} needs {', '.join(missing)}: {dataset}: " + "; ".join(NEEDS[m] for m in missing)


def trained(params: dict) -> list[tuple[str, str]]:
    """(name, dataset) for every train stage: each method of train.methods on each dataset where
    it applies, then each of its variants where train.ablations lists it (default: every method).
    A variant is a stage of its own, so an interrupted run keeps the variants it finished."""
    train = train_params(params)
    ablations = train.get("ablations", list(METHODS))
    out = []
    for dataset in params.get("datasets", {}):
        for method in train.get("methods", []):
            if not_applicable(method, dataset, params):
                continue
            out.append((method, dataset))
            if method in ablations:
                out += [(variant, dataset) for variant in METHODS[method].variants]
    return out
