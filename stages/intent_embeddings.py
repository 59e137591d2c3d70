"""Stage intent_embeddings: the LLM's intent paragraphs (llm_intents.parquet) ->
data/processed/<dataset>/intent_embeddings.parquet + intents_report.json (InSide's coarse intent nodes)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from pipeline import config
from pipeline.device import resolve_device
from pipeline.features import registry
from pipeline.features.intents import embed_intents
from pipeline.vectors import read_meta


def run(dataset: str, params: dict) -> dict:
    cfg = params.get("embed", {})
    llm = pq.read_table(config.require(config.llm_intents_path(dataset)))
    encoder, info = registry.text_encoder(cfg.get("text", "minilm"), resolve_device(cfg.get("device", "auto")))
    table, report = embed_intents(llm.to_pandas(), encoder, info.to_dict(), llm_provenance=read_meta(llm))
    out = config.intent_embeddings_path(dataset)
    pq.write_table(table, out)
    (out.parent / "intents_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    from stages import main

    main({"intent_embeddings": run}, __doc__)
