"""WikiAMR graph: an article's AMR graph plus Wikipedia evidence nodes.

Each AMR entity node (a node with a :name) whose name links to the KB gets an evidence
node (concept = the Wikipedia title) and an edge `:wiki`; two evidence nodes get an edge
`:wiki-mentions` when the first title's summary mentions the second's title. Nodes are
AMR variables and evidence nodes; edges join variables (constants such as names and
polarity stay in the PENMAN string).
"""

from __future__ import annotations

import penman

from pipeline.semantics.amr import named_entities
from pipeline.semantics.kb import KnowledgeBase, Link

UNLINKABLE = {"date", "time", "percent", "money", "quantity", "ordinal", "cardinal", "date-entity"}


def entity_names(amr: str) -> list[tuple[str, str]]:
    """(variable, name) of the AMR entity nodes worth linking (not dates, numbers, amounts)."""
    return [(var, name) for var, concept, name in named_entities(amr) if concept not in UNLINKABLE]


def build(amr: str, links: dict[str, Link], kb: KnowledgeBase) -> tuple[list[dict], list[dict]]:
    graph = penman.decode(amr)
    nodes = [{"id": var, "concept": concept, "kind": "amr"} for var, _, concept in graph.instances()]
    edges = [{"src": s, "role": r, "dst": t} for s, r, t in graph.edges()]
    evidence: dict[str, str] = {}  # title -> evidence node id
    for var, name in entity_names(amr):
        link = links.get(name)
        if link is None:
            continue
        if link.title not in evidence:
            evidence[link.title] = f"wiki{len(evidence) + 1}"
            nodes.append({"id": evidence[link.title], "concept": link.title, "kind": "evidence"})
        edges.append({"src": var, "role": ":wiki", "dst": evidence[link.title]})
    for source, source_id in evidence.items():
        for target, target_id in evidence.items():
            if source != target and kb.mentions(source, target):
                edges.append({"src": source_id, "role": ":wiki-mentions", "dst": target_id})
    return nodes, edges
