"""InSide's coarse intent vectors: the LLM's four intent paragraphs per article (belief,
desire, plan, outcome; columns `intent_<name>` of llm_intents.parquet) embedded by the text encoder.

One row per article id, one fixed-size vector column per perspective, null where the LLM
gave no paragraph (its reason is in llm_intents.parquet) or the dataset got no intents at all
(params `llm.intents.datasets`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.vectors import META_KEY, vector_column

PERSPECTIVES = ("belief", "desire", "plan", "outcome")


def embed_intents(
    llm: pd.DataFrame, encoder, encoder_info: dict, progress: bool = True, llm_provenance: dict | None = None
) -> tuple[pa.Table, dict]:
    """(table, report): the intent paragraphs of `llm` encoded once per distinct paragraph. The
    table's metadata names the encoder and, when given, the LLM that wrote the paragraphs."""
    columns = {p: llm[f"intent_{p}"].tolist() if f"intent_{p}" in llm else [None] * len(llm) for p in PERSPECTIVES}
    distinct = sorted({t for texts in columns.values() for t in texts if isinstance(t, str) and t.strip()})
    encoded = dict(zip(distinct, encoder.encode(distinct, progress=progress))) if distinct else {}
    rows = {p: [encoded.get(t) if isinstance(t, str) else None for t in texts] for p, texts in columns.items()}
    present = np.array([[r is not None for r in rows[p]] for p in PERSPECTIVES]).reshape(len(PERSPECTIVES), len(llm))
    table = {"id": pa.array(llm["id"].tolist(), pa.string())} | {
        p: vector_column(rows[p], encoder.dim) for p in PERSPECTIVES
    }
    report = {
        "articles": len(llm),
        "distinct_paragraphs": len(distinct),
        "missing": {p: int((~present[k]).sum()) for k, p in enumerate(PERSPECTIVES)},
        "articles_with_all_four": int(present.all(0).sum()),
        "encoder": encoder_info,
    }
    out = pa.table(table)
    return out.replace_schema_metadata(
        {META_KEY: json.dumps({"intent_encoder": encoder_info, "llm": llm_provenance}).encode()}
    ), report
