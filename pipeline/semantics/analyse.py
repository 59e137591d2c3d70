"""Articles -> per-id sentences, entities, AMR (PENMAN), evidence links and WikiAMR graphs.

Policies, each counted in the report rather than crashing the stage:
- empty text: no sentences, no graph (status 'empty text');
- text longer than `max_chars`: cut to `max_chars` characters ('truncated');
- Chinese: sentences split at punctuation, entities and AMR unavailable ('no English
  pipeline (zh)'); any other language outside en/mul likewise;
- AMR covers the first `amr_max_sentences` sentences; a graph that does not decode with
  penman, or a parser that returns nothing usable, leaves amr null ('AMR parser failure').
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pyarrow as pa

from pipeline.features.embed import encoder_input
from pipeline.progress import progress_bar
from pipeline.semantics import amr as amr_lib
from pipeline.semantics import wikiamr
from pipeline.semantics.kb import KnowledgeBase
from pipeline.semantics.text import SPACY_LANGS, TextAnalysis, from_doc, split_chinese

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("status", pa.string()),
        ("sentences", pa.list_(pa.string())),
        (
            "entities",
            pa.list_(pa.struct([("text", pa.string()), ("label", pa.string()), ("sentences", pa.list_(pa.int32()))])),
        ),
        ("amr", pa.string()),
        (
            "links",
            pa.list_(
                pa.struct(
                    [("mention", pa.string()), ("title", pa.string()), ("method", pa.string()), ("score", pa.float32())]
                )
            ),
        ),
        ("wikiamr_nodes", pa.list_(pa.struct([("id", pa.string()), ("concept", pa.string()), ("kind", pa.string())]))),
        ("wikiamr_edges", pa.list_(pa.struct([("src", pa.string()), ("role", pa.string()), ("dst", pa.string())]))),
    ]
)


def analyse_articles(
    df: pd.DataFrame,
    kb: KnowledgeBase,
    nlp,
    *,
    amr_parser: amr_lib.AmrlibParser | None = None,
    max_entities: int = 32,
    max_chars: int = 10_000,
    amr_max_sentences: int = 32,
    batch_size: int = 32,
    progress: bool = True,
) -> tuple[pa.Table, dict]:
    counts: Counter = Counter()
    full_texts = encoder_input(df)
    truncated = sum(len(t) > max_chars for t in full_texts)
    texts = [t[:max_chars] for t in full_texts]
    english = {i for i, (t, lang) in enumerate(zip(texts, df["lang"])) if t.strip() and lang in SPACY_LANGS}
    parsed_docs = nlp.pipe((texts[i] for i in sorted(english)), batch_size=batch_size)  # lazy, in row order

    analyses, graphs = [], []
    for i in progress_bar(range(len(df)), desc="semantics", unit="doc", disable=not progress):
        if not texts[i].strip():
            analysis, graph = TextAnalysis([], status="empty text"), None
        elif i not in english:
            analysis, graph = (
                TextAnalysis(split_chinese(texts[i]), status=f"no English pipeline ({df['lang'].iloc[i]})"),
                None,
            )
        else:
            doc = next(parsed_docs)
            analysis = from_doc(doc, max_entities)
            sentences = list(doc.sents)[:amr_max_sentences]
            if amr_parser is None:
                graph = amr_lib.dependency_amr(sentences)
            else:
                parsed = [g for g in amr_parser.parse([s.text for s in sentences]) if g]
                graph = amr_parser.join(parsed) if parsed else None
            if not amr_lib.is_valid(graph):
                analysis.status, graph = "AMR parser failure", None
        counts[analysis.status] += 1
        analyses.append(analysis)
        graphs.append(graph)

    names_per_doc = [sorted({name for _, name in wikiamr.entity_names(g)}) if g else [] for g in graphs]
    distinct = sorted({name for names in names_per_doc for name in names})
    link_of = {name: link for name, link in zip(distinct, kb.link(distinct)) if link is not None}
    linkable = Counter()
    rows = []
    for i, (analysis, graph, names) in enumerate(zip(analyses, graphs, names_per_doc)):
        links = {name: link_of[name] for name in names if name in link_of}
        linkable["entity names"] += len(names)
        linkable["linked"] += len(links)
        for link in links.values():
            linkable[f"linked by {link.method}"] += 1
        nodes, edges = wikiamr.build(graph, links, kb) if graph else ([], [])
        rows.append(
            {
                "id": df["id"].iloc[i],
                "status": analysis.status,
                "sentences": analysis.sentences,
                "entities": analysis.entities,
                "amr": graph,
                "links": [link.to_dict() for link in links.values()],
                "wikiamr_nodes": nodes,
                "wikiamr_edges": edges,
            }
        )

    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    report = {
        "docs": len(df),
        "status": dict(counts),
        f"truncated_to_{max_chars}_chars": int(truncated),
        "sentences": int(sum(len(r["sentences"]) for r in rows)),
        "entities": int(sum(len(r["entities"]) for r in rows)),
        "amr_graphs": int(table.column("amr").length() - table.column("amr").null_count),
        "entity_linking": dict(linkable)
        | {
            "fraction_linked": round(linkable["linked"] / linkable["entity names"], 4)
            if linkable["entity names"]
            else None
        },
        "evidence_edges": int(sum(e["role"] == ":wiki-mentions" for r in rows for e in r["wikiamr_edges"])),
    }
    return table, report
