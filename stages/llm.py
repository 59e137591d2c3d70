"""Stages llm and llm_intents: articles -> data/processed/<dataset>/llm.parquet + llm_report.json
(veracity pseudo labels, zero-shot labels) and llm_intents.parquet + llm_intents_report.json
(InSide's intent paragraphs). Two stages because the intents are the slowest LLM task on CPU
and only InSide reads them: a change to them re-runs InSide alone.

Results live in a persistent cache (params llm.cache_dir, outside every DVC out), so a rerun,
a resumed run after a crash, or a prompt change recomputes only what is missing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import config
from pipeline.errors import ParamsError
from pipeline.llm.annotate import Annotator, assemble
from pipeline.llm.backends import PACKAGED, PAPER_MODEL
from pipeline.llm.quality import validation_quality
from pipeline.vectors import META_KEY


def tasks_for(dataset: str, cfg: dict) -> list[str]:
    """Stage llm: veracity everywhere (GLPN-LLM, llm_only); zero_shot only for the datasets
    listed under it (LGCL), as it costs a forward pass per article."""
    return ["veracity"] + (["zero_shot"] if dataset in cfg.get("zero_shot", {}).get("datasets", []) else [])


def task_rows(task: str, dataset: str, articles, cfg: dict) -> list[int] | None:
    """The rows a task runs on (None: all). Intents run only for the datasets in
    llm.intents.datasets; elsewhere no row is requested and every paragraph is null."""
    if task == "veracity":
        return veracity_rows(articles, cfg)
    if task == "intents" and dataset not in cfg.get("intents", {}).get("datasets", []):
        return []
    return None


def veracity_rows(articles, cfg: dict) -> list[int] | None:
    """The rows the veracity task scores: those in `llm.veracity.splits` (None: all).
    GLPN-LLM reads only test rows, llm_only val and test rows."""
    splits = cfg.get("veracity", {}).get("splits")
    if splits is None:
        return None
    unknown = sorted(set(splits) - {"train", "val", "test"})
    if unknown:
        raise ParamsError(f"params.yaml llm.veracity.splits: unknown split(s) {unknown}; use train, val, test")
    return [int(row) for row in np.flatnonzero(articles["split"].isin(splits).to_numpy())]


def provenance(cfg: dict, annotator: Annotator, tasks: list[str]) -> dict:
    model = cfg.get("model", "smollm2-135m")
    return {
        "backend": cfg.get("backend", "transformers"),
        "model": model,
        "substitute_for": PAPER_MODEL if model in PACKAGED else None,
        "prompt_versions": {task: annotator.prompts[task].version for task in tasks},
        "max_input_tokens": cfg.get("max_input_tokens", 512),
        "truncation_policy": "article text cut to its first max_input_tokens tokens (or the model context, if smaller)",
    }


def run(dataset: str, params: dict, progress: bool = True, backend_factory=None) -> dict:
    """Stage llm: veracity (and zero_shot where listed) -> llm.parquet."""
    return _annotate(
        dataset, params, tasks_for(dataset, params.get("llm", {})), config.llm_path(dataset), progress, backend_factory
    )


def run_intents(dataset: str, params: dict, progress: bool = True, backend_factory=None) -> dict:
    """Stage llm_intents: the four intent paragraphs per article -> llm_intents.parquet."""
    return _annotate(dataset, params, ["intents"], config.llm_intents_path(dataset), progress, backend_factory)


def _annotate(dataset: str, params: dict, tasks: list[str], out: Path, progress: bool, backend_factory) -> dict:
    cfg = params.get("llm", {})
    articles = pq.read_table(config.require(config.articles_path(dataset))).to_pandas()
    start = time.perf_counter()
    results, counts = {}, {}
    annotator = Annotator.of(cfg, backend_factory)  # reads and checks the llm keys it uses
    try:
        for task in tasks:
            requests, entries, counts[task] = annotator.run_task(
                task, articles, progress, task_rows(task, dataset, articles, cfg)
            )
            results[task] = (requests, entries)
    finally:
        annotator.cache.close()
    table = assemble(articles, results, annotator.prompts)
    meta = provenance(cfg, annotator, tasks)
    report = {
        "dataset": dataset,
        "articles": len(articles),
        "tasks": counts,
        "nulls": {
            column: table[column].value_counts().to_dict() for column in table if column.endswith("_null_reason")
        },
        "validation_quality": validation_quality(articles, table),
        "seconds": round(time.perf_counter() - start, 2),
    } | meta
    out.parent.mkdir(parents=True, exist_ok=True)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    pq.write_table(arrow.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), out)
    (out.parent / f"{out.stem}_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report


if __name__ == "__main__":
    from stages import main

    main({"veracity": run, "intents": run_intents}, __doc__)
