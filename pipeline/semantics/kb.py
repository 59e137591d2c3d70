"""Offline Wikipedia knowledge base for evidence linking (LGCL follows EA2N's linking).

The KB is a JSON object {title: {title, extract, ...}} (10k lead summaries by default; a
larger file of the same shape drops in). An entity mention links to a title by:
1. its normalised text equal to a normalised title ("title");
2. equal to a title without its parenthetical qualifier, e.g. "Mercury (planet)" ("alias");
3. otherwise the nearest title by text-encoder cosine similarity, when it reaches
   `min_similarity` ("embedding").
Two linked titles are related when one's summary mentions the other's title.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from unidecode import unidecode

from pipeline.errors import BadInput, MissingFile, ParamsError

LINKABLE_TYPES = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"}


# semantics.kb when params.yaml names none: the 10k Wikipedia lead summaries shipped with the project.
DEFAULT_KB = "data/raw/wikipedia/summaries_en.json"


def knowledge_base_path(cfg: dict, data_root: Path | str | None = None) -> Path:
    """The KB file that params' semantics section (`cfg`) names: `semantics.kb`, an absolute path or
    one relative to the project root (the working directory of `fnd` and of the DVC stages). It is
    never read from under data_root: a dataset folder of the user's own need not hold it.

    A relative value that is missing from the project root but present under `data_root` (the
    old meaning of semantics.kb) is an error that gives the value to set, not a silent fallback."""
    value = str(cfg.get("kb") or DEFAULT_KB)
    path = Path(value)
    if path.is_file():
        return path
    old = None if path.is_absolute() or data_root is None else Path(data_root) / path
    if old is not None and old.is_file():
        raise ParamsError(
            f"semantics.kb: {value} is not a file under the project root, but {old} is: semantics.kb is "
            f"now absolute or relative to the project root, not to data_root; set `semantics.kb: {old.as_posix()}`"
        )
    raise MissingFile(
        f"{path}: knowledge base file not found (semantics.kb in params.yaml: an absolute path, or one "
        f"relative to the project root {Path.cwd()}; the default is {DEFAULT_KB})"
    )


def normalise(text: str) -> str:
    text = unidecode(text).lower()
    text = re.sub(r"'s\b", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    return re.sub(r"^the ", "", text)


def _without_qualifier(title: str) -> str:
    return re.sub(r"\s*\([^)]*\)\s*$", "", title)


@dataclass
class Link:
    mention: str
    title: str
    method: str  # title | alias | embedding
    score: float

    def to_dict(self) -> dict:
        return {"mention": self.mention, "title": self.title, "method": self.method, "score": round(self.score, 4)}


class KnowledgeBase:
    def __init__(
        self,
        entries: dict[str, dict],
        title_vectors: np.ndarray | None = None,
        encoder=None,
        min_similarity: float = 0.85,
    ):
        self.titles = sorted(entries)
        self.extracts = {t: normalise(entries[t].get("extract", "")) for t in self.titles}
        self.by_title = {normalise(t): t for t in self.titles}
        self.by_alias: dict[str, str] = {}
        for t in self.titles:
            self.by_alias.setdefault(normalise(_without_qualifier(t)), t)
        self.title_vectors = title_vectors
        self.encoder = encoder
        self.min_similarity = min_similarity

    @classmethod
    def load(cls, path: Path, **kwargs) -> KnowledgeBase:
        path = Path(path)
        if not path.is_file():
            raise MissingFile(f"{path}: knowledge base file not found (semantics.kb in params.yaml)")
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise BadInput(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
        if not isinstance(entries, dict):
            raise BadInput(f"{path}: expected a JSON object {{title: {{title, extract}}}}")
        return cls(entries, **kwargs)

    def embed_titles(self, encoder, batch_size: int = 256, progress: bool = True) -> None:
        """Enable embedding-similarity linking with `encoder` (any pipeline text encoder)."""
        self.encoder = encoder
        self.title_vectors = encoder.encode(self.titles, batch_size=batch_size, progress=progress)

    def link(self, mentions: list[str]) -> list[Link | None]:
        out: list[Link | None] = [None] * len(mentions)
        unresolved = []
        for i, mention in enumerate(mentions):
            key = normalise(mention)
            if key in self.by_title:
                out[i] = Link(mention, self.by_title[key], "title", 1.0)
            elif key in self.by_alias:
                out[i] = Link(mention, self.by_alias[key], "alias", 1.0)
            elif key:
                unresolved.append(i)
        if unresolved and self.encoder is not None and self.title_vectors is not None:
            vectors = self.encoder.encode([mentions[i] for i in unresolved], progress=False)
            sims = vectors @ self.title_vectors.T
            for row, i in enumerate(unresolved):
                best = int(sims[row].argmax())
                if sims[row, best] >= self.min_similarity:
                    out[i] = Link(mentions[i], self.titles[best], "embedding", float(sims[row, best]))
        return out

    def mentions(self, source: str, target: str) -> bool:
        """Does source's summary mention target's title (as whole words)?"""
        needle = normalise(_without_qualifier(target))
        return bool(needle) and f" {needle} " in f" {self.extracts.get(source, '')} "
