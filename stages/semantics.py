"""Stage semantics: articles -> data/processed/<dataset>/semantics.parquet + semantics_report.json.

The Wikipedia knowledge base is params' semantics.kb: an absolute path or one relative to the
project root, never to data_root (pipeline.semantics.kb.knowledge_base_path); the report and the
Parquet metadata record it under knowledge_base.path.
"""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq

from pipeline import config
from pipeline.device import resolve_device
from pipeline.errors import ParamsError
from pipeline.features import registry
from pipeline.semantics import amr
from pipeline.semantics.analyse import analyse_articles
from pipeline.semantics.kb import KnowledgeBase, knowledge_base_path
from pipeline.semantics.text import load_spacy
from pipeline.vectors import META_KEY


def run(dataset: str, params: dict, data_root: str | None = None) -> dict:
    cfg = params.get("semantics", {})
    root = config.data_root(params, data_root)
    articles = pq.read_table(config.require(config.articles_path(dataset))).to_pandas()
    kb_path = knowledge_base_path(cfg, root)  # absolute or relative to the project root, not to data_root
    kb = KnowledgeBase.load(kb_path, min_similarity=cfg.get("link_min_similarity", 0.85))
    device = resolve_device(cfg.get("device", "auto"))
    encoder, encoder_info = registry.text_encoder(cfg.get("link_encoder", "minilm"), device)
    kb.embed_titles(encoder)
    amr_setting = cfg.get("amr", "dependency")
    parser = None
    if amr_setting.startswith("amrlib:"):
        parser = amr.AmrlibParser(amr_setting[len("amrlib:") :], device=str(device))
    elif amr_setting != "dependency":
        raise ParamsError(f"semantics.amr must be 'dependency' or 'amrlib:<model folder>', got {amr_setting!r}")

    start = time.perf_counter()
    table, report = analyse_articles(
        articles,
        kb,
        load_spacy(cfg.get("spacy_model", "en_core_web_sm")),
        amr_parser=parser,
        max_entities=cfg.get("max_entities", 32),
        max_chars=cfg.get("max_chars", 10_000),
        amr_max_sentences=cfg.get("amr_max_sentences", 32),
        batch_size=cfg.get("batch_size", 32),
    )
    seconds = time.perf_counter() - start
    report |= {
        "amr_source": amr.SUBSTITUTE if parser is None else f"amrlib {amr_setting[len('amrlib:') :]}",
        "knowledge_base": {"path": str(kb_path), "titles": len(kb.titles), "link_encoder": encoder_info.to_dict()},
    }
    out = config.semantics_path(dataset)
    out.parent.mkdir(parents=True, exist_ok=True)
    provenance = {k: report[k] for k in ("amr_source", "knowledge_base")}
    pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(provenance).encode()}), out)
    (out.parent / "semantics_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report | {"seconds": round(seconds, 2), "docs_per_s": round(len(articles) / seconds, 2)}


if __name__ == "__main__":
    from stages import main

    main({"semantics": run}, __doc__)
