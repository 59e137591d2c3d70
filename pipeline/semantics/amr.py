"""AMR graphs in PENMAN notation.

Real path: amrlib's sentence-to-graph models (e.g. parse_xfm_bart_large) from a configured
model folder. No AMR model can be obtained on these machines, so the offline default is a
dependency-based semantic graph, a labelled SUBSTITUTE for AMR built from spaCy's parse:

- nodes: content words (verbs, nouns, adjectives, adverbs, numbers, pronouns) with their
  lemma as concept, and one node per named entity, `(x / <entity type> :name (n / name
  :op1 "w1" :op2 "w2"))` as AMR writes names;
- edges: nsubj/csubj -> :ARG0; dobj/obj/nsubjpass/attr/ccomp/xcomp -> :ARG1;
  dative/iobj -> :ARG2; poss -> :poss; a preposition's object -> :prep-<preposition>;
  neg -> :polarity -; every other dependency -> :mod. Function words (determiners,
  auxiliaries, punctuation, conjunctions, case markers) are dropped and their dependents
  attach to the nearest kept ancestor;
- one graph per sentence, joined by a document root `(d / multi-sentence :snt1 … :sntN)`.

There are no PropBank senses, coreference or reentrancies: it has AMR's form, not its
semantics. Every produced graph is checked by decoding it with `penman`.
"""

from __future__ import annotations

import re

import penman

SUBSTITUTE = "dependency-based semantic graph in PENMAN (offline substitute for amrlib parse_xfm_bart_large)"
CONTENT_POS = {"VERB", "NOUN", "PROPN", "ADJ", "ADV", "NUM", "PRON"}
ROLES = {
    "nsubj": ":ARG0",
    "csubj": ":ARG0",
    "dobj": ":ARG1",
    "obj": ":ARG1",
    "nsubjpass": ":ARG1",
    "csubjpass": ":ARG1",
    "attr": ":ARG1",
    "ccomp": ":ARG1",
    "xcomp": ":ARG1",
    "oprd": ":ARG1",
    "dative": ":ARG2",
    "iobj": ":ARG2",
    "poss": ":poss",
}


def _concept(word: str) -> str:
    concept = re.sub(r"[^a-z0-9]+", "-", word.lower()).strip("-")
    return concept or "thing"


def _name_word(word: str) -> str:
    """A token as a PENMAN string constant's content: no quotes, backslashes or whitespace."""
    return re.sub(r'["\\\s]+', "", word)


def _sentence_triples(sent, prefix: str) -> tuple[str, list[tuple]]:
    """Triples of one sentence's graph and its top variable."""
    entity_of = {tok.i: ent for ent in sent.ents for tok in ent}
    root = sent.root

    def node_token(tok):
        """The token that stands for tok's node: the entity root, tok itself, or None if dropped."""
        if tok.i in entity_of:
            return entity_of[tok.i].root
        return tok if tok.pos_ in CONTENT_POS or tok.i == root.i else None

    var = {}
    triples = []
    for tok in sent:
        head = node_token(tok)
        if head is None or head.i in var:
            continue
        var[head.i] = f"{prefix}x{len(var) + 1}"
        if head.i in entity_of:
            ent = entity_of[head.i]
            name = f"{var[head.i]}n"
            triples += [
                (var[head.i], ":instance", _concept(ent.label_)),
                (var[head.i], ":name", name),
                (name, ":instance", "name"),
            ]
            words = [w for w in (_name_word(t.text) for t in ent) if w]
            triples += [(name, f":op{k}", f'"{w}"') for k, w in enumerate(words, start=1)]
        else:
            triples.append((var[head.i], ":instance", _concept(head.lemma_)))

    for i, v in var.items():
        tok = sent.doc[i]
        if tok.i == root.i:
            continue
        role = ROLES.get(tok.dep_, ":mod")
        parent = tok.head
        if tok.dep_ == "pobj" and parent.dep_ == "prep":
            role = f":prep-{_concept(parent.lemma_)}"
        while node_token(parent) is None or node_token(parent).i == i:
            if parent.i == parent.head.i:
                break
            parent = parent.head
        owner = node_token(parent)
        triples.append((var[owner.i] if owner is not None and owner.i != i else var[root.i], role, v))
    for tok in sent:
        owner = node_token(tok.head)
        if tok.dep_ == "neg" and owner is not None:
            triples.append((var[owner.i], ":polarity", "-"))
    return var[root.i], triples


def dependency_amr(sentences) -> str:
    """PENMAN string for parsed spaCy sentence spans (see module docstring)."""
    triples = [("d", ":instance", "multi-sentence")]
    for k, sent in enumerate(sentences, start=1):
        top, sentence_triples = _sentence_triples(sent, f"s{k}")
        triples.append(("d", f":snt{k}", top))
        triples += sentence_triples
    return penman.encode(penman.Graph(list(dict.fromkeys(triples)), top="d"), indent=None)


def is_valid(text: str | None) -> bool:
    """True when `text` decodes as a PENMAN graph with at least one concept."""
    if not text:
        return False
    try:
        return bool(penman.decode(text).instances())
    except penman.exceptions.PenmanError:
        return False


def named_entities(text: str) -> list[tuple[str, str, str]]:
    """(variable, concept, name) for every node with a :name, in graph order."""
    graph = penman.decode(text)
    concepts = {v: c for v, _, c in graph.instances()}
    ops: dict[str, list[tuple[int, str]]] = {}
    for source, role, target in graph.attributes():
        if role.startswith(":op") and role[3:].isdigit():
            ops.setdefault(source, []).append((int(role[3:]), target.strip('"')))
    return [
        (source, concepts.get(source, ""), " ".join(word for _, word in sorted(ops[name])))
        for source, role, name in graph.edges()
        if role == ":name" and name in ops
    ]


class AmrlibParser:
    """amrlib sentence-to-graph model loaded from a local folder; one PENMAN graph per
    sentence (None where the model's output does not deserialise), joined into one
    multi-sentence document graph like the substitute."""

    def __init__(self, model_dir: str, device: str = "cpu", batch_size: int = 8):
        import amrlib

        self.model = amrlib.load_stog_model(model_dir, device=device, batch_size=batch_size)

    def parse(self, sentences: list[str]) -> list[str | None]:
        graphs = self.model.parse_sents(sentences, add_metadata=False)
        return [g if is_valid(g) else None for g in graphs]

    @staticmethod
    def join(sentence_graphs: list[str]) -> str:
        triples = [("d", ":instance", "multi-sentence")]
        for k, text in enumerate(sentence_graphs, start=1):
            graph = penman.decode(text)
            rename = {v: f"s{k}{v}" for v, _, _ in graph.instances()}
            triples.append(("d", f":snt{k}", rename[graph.top]))
            triples += [(rename.get(s, s), r, rename.get(t, t) if r != ":instance" else t) for s, r, t in graph.triples]
        return penman.encode(penman.Graph(triples, top="d"), indent=None)
