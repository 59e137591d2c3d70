"""Every value in params.yaml checked when the file is read, before any stage does work.

A stage reads its keys with the defaults written next to them; this module makes sure that a
value set in the file has the right type and range, and that no key is misspelt, so that a
wrong setting fails in the first second (`mask_rate: 1.5` used to fail inside GLPN-LLM's
training, after every upstream stage had run). The methods' own sections (train.<method>) are
checked by their Settings dataclasses when the train stage starts (pipeline/settings.py);
encoder names are checked by the embed stage before it loads anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.errors import ParamsError

SPLITS = ("train", "val", "test")
NAME = re.compile(r"[A-Za-z0-9_.-]+")  # a dataset name is part of artifact paths


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# (test, what the value must be); a rule name used below maps to one of these.
RULES: dict[str, tuple[Callable, str]] = {
    "text": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string"),
    "flag": (lambda v: isinstance(v, bool), "true or false"),
    "int": (_integer, "an integer"),
    "positive": (lambda v: _number(v) and v > 0, "a number > 0"),
    "positive int": (lambda v: _integer(v) and v > 0, "an integer > 0"),
    "positive int or null": (lambda v: v is None or (_integer(v) and v > 0), "null or an integer > 0"),
    "non-negative int": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "rate": (lambda v: _number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "open fraction": (lambda v: _number(v) and 0 < v < 1, "a number in (0, 1)"),
    "fraction": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "threshold": (lambda v: _number(v) and 0 < v <= 1, "a cosine similarity threshold in (0, 1]"),
    "similarity": (lambda v: _number(v) and -1 <= v <= 1, "a number in [-1, 1]"),
    "device": (
        lambda v: isinstance(v, str) and (v in ("auto", "cpu", "cuda", "mps") or v.startswith("cuda:")),
        "auto, cpu, cuda, cuda:<n> or mps",
    ),
    "backend": (lambda v: v in ("transformers", "vllm", "openai"), "transformers, vllm or openai"),
    "splits": (lambda v: _strings(v) and v and set(v) <= set(SPLITS), f"a non-empty list of {', '.join(SPLITS)}"),
    "names": (_strings, "a list of names"),
    "names or null": (lambda v: v is None or _strings(v), "null or a list of names"),
    "seeds": (lambda v: isinstance(v, list) and v and all(_integer(s) for s in v), "a non-empty list of integers"),
    "mapping": (lambda v: isinstance(v, dict), "a mapping"),
    "split method": (
        lambda v: v in ("stratified", "chronological", "group", "column"),
        "stratified, chronological, group or column",
    ),
    "margin": (lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "check policy": (lambda v: v in ("flag", "drop", "keep"), "flag, drop or keep"),
    "repeat count": (lambda v: _integer(v) and v >= 2, "an integer >= 2"),
}

# Every key params.yaml may hold (dotted), with its rule. A mapping whose keys are the user's
# own (datasets, per-dataset ingest options, a method's settings) is checked as a whole; of the
# per-dataset ingest options, ingest's own keys (INGEST_OPTIONS) are checked one by one.
KEYS = {
    "data_root": "text",
    "datasets": "mapping",
    "mask_rate": "rate",
    "ingest.test_frac": "open fraction",
    "ingest.val_frac": "fraction",
    "ingest.seed": "int",
    "ingest.options": "mapping",
    "embed.text": "text",
    "embed.image": "text",
    "embed.joint": "text",
    "embed.device": "device",
    "embed.batch_size": "positive int",
    "embed.image_batch_size": "positive int",
    "embed.align_dim": "positive int",
    "embed.cache_dir": "text",
    "llm.backend": "backend",
    "llm.model": "text",
    "llm.device": "device",
    "llm.batch_size": "positive int",
    "llm.batches_per_commit": "positive int",
    "llm.commit_seconds": "positive",
    "llm.max_input_tokens": "positive int",
    "llm.cache_dir": "text",
    "llm.veracity.splits": "splits",
    "llm.veracity.datasets": "names or null",
    "llm.zero_shot.datasets": "names",
    "llm.zero_shot.max_new_tokens": "positive int",
    "llm.intents.datasets": "names",
    "llm.intents.max_new_tokens": "positive int",
    "llm.intents.share_prefix": "flag",
    "llm.vllm.tensor_parallel_size": "positive int",
    "llm.vllm.max_model_len": "positive int",
    "llm.vllm.gpu_memory_utilization": "open fraction",
    "llm.vllm.top_logprobs": "positive int",
    "llm.openai.base_url": "text",
    "llm.openai.api_key_env": "text",
    "llm.openai.concurrency": "positive int",
    "llm.openai.max_retries": "non-negative int",
    "llm.openai.timeout_s": "positive",
    "llm.openai.top_logprobs": "positive int",
    "semantics.kb": "text",
    "semantics.spacy_model": "text",
    "semantics.amr": "text",
    "semantics.max_entities": "positive int",
    "semantics.max_chars": "positive int",
    "semantics.amr_max_sentences": "positive int",
    "semantics.link_encoder": "text",
    "semantics.link_min_similarity": "similarity",
    "semantics.batch_size": "positive int",
    "semantics.device": "device",
    "graphs.device": "device",
    "graphs.similarity.theta": "threshold",
    "graphs.similarity.max_neighbours": "positive int or null",
    "graphs.similarity.block": "positive int",
    "graphs.propagation.max_tree_nodes": "positive int",
    "graphs.sentence_entity.window": "positive int",
    "graphs.sentence_entity.max_sentences": "positive int",
    "graphs.wikiamr.max_path_len": "positive int",
    "train.device": "device",
    "train.seeds": "seeds",
    "train.methods": "names",
    "train.ablations": "names",
}
SECTIONS = {key.rsplit(".", 1)[0] for key in KEYS if "." in key}


def check_params(params: dict, source: str = "params.yaml") -> None:
    """Raise ParamsError naming the first key whose value is not allowed, or that is unknown."""
    if not isinstance(params, dict):
        raise ParamsError(f"{source}: expected a mapping of settings, got {type(params).__name__}")
    _check_section(params, "", source)
    for dataset, folder in (params.get("datasets") or {}).items():
        if not (isinstance(dataset, str) and NAME.fullmatch(dataset) and dataset not in (".", "..")):
            raise ParamsError(f"{source}: datasets: {dataset!r} is not a plain name (letters, digits, '.', '_', '-')")
        _check(f"datasets.{dataset}", folder, "text", source)
    for dataset, options in (params.get("ingest") or {}).get("options", {}).items():
        _check(f"ingest.options.{dataset}", options, "mapping", source)
        _check_ingest_options(f"ingest.options.{dataset}", options, source)
    for method, settings in (params.get("train") or {}).items():
        if f"train.{method}" not in KEYS:
            _check(f"train.{method}", settings, "mapping", source)
    _check_llm_datasets(params, source)


# Ingest's own per-dataset options (pipeline/data/ingest.py); the others are the adapter's.
INGEST_OPTIONS = {
    "split": "split method",
    "split_by": "text",
    "label_shift_margin": "margin",
    "duplicates": "check policy",
    "conflicts": "check policy",
    "repeated": "check policy",
    "repeated_min": "repeat count",
}


def _check_ingest_options(key: str, options: dict, source: str) -> None:
    """Ingest's split policy and data-check options of one dataset: values, and split_by
    exactly with split: group."""
    for name, rule in INGEST_OPTIONS.items():
        if name in options:
            _check(f"{key}.{name}", options[name], rule, source)
    if (options.get("split") == "group") != ("split_by" in options):
        raise ParamsError(
            f"{source}: {key}: split: group needs split_by (the column whose values must not share a split), "
            "and split_by is used only with split: group"
        )


def _check_section(values: dict, prefix: str, source: str) -> None:
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if dotted in KEYS:
            _check(dotted, value, KEYS[dotted], source)
        elif dotted in SECTIONS:
            _check(dotted, value, "mapping", source)
            _check_section(value, dotted + ".", source)
        elif prefix != "train.":  # other train.<name> keys are method sections
            allowed = sorted({k[len(prefix) :].split(".")[0] for k in KEYS if k.startswith(prefix)})
            raise ParamsError(f"{source}: unknown key {dotted}; allowed here: {', '.join(allowed)}")


def _check(key: str, value, rule: str, source: str) -> None:
    test, allowed = RULES[rule]
    if not test(value):
        raise ParamsError(f"{source}: {key} = {value!r}: must be {allowed}")


def _check_llm_datasets(params: dict, source: str) -> None:
    """Zero-shot labels come from the llm stage, which runs only for the datasets the LLM
    scores (llm.veracity.datasets), and LGCL, their only reader, needs the scores too: a
    dataset of the run listed for zero-shot labels but not scored is an error, not a silent no."""
    llm = params.get("llm") or {}
    scored = (llm.get("veracity") or {}).get("datasets")
    if scored is None:
        return
    zero_shot = (llm.get("zero_shot") or {}).get("datasets") or []
    orphans = [name for name in params.get("datasets") or {} if name in zero_shot and name not in scored]
    if orphans:
        raise ParamsError(
            f"{source}: llm.zero_shot.datasets lists {', '.join(orphans)}, which llm.veracity.datasets leaves "
            "out: zero-shot labels come from the same llm stage, which runs only for the datasets the LLM "
            f"scores; add {orphans[0]} to llm.veracity.datasets or remove it from llm.zero_shot.datasets"
        )
