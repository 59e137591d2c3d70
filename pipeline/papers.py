"""The papers' published test numbers, for the report's side-by-side table.

`ours` names our datasets that correspond to the paper's: the embedded slice's name and the
full-data runs' names (reports/full/<name>/).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    paper: str
    method: str  # our method name
    dataset: str  # as the paper names it
    accuracy: float | None
    f1: float | None  # macro-F1 (InSide states macro; GLPN-LLM and LGCL report F1)
    ours: tuple[str, ...]


PUBLISHED = (
    Published("GLPN-LLM", "glpn", "Twitter (MediaEval 2016)", 0.8883, 0.8903, ("mediaeval2016",)),
    Published("MMFND", "mmfnd", "Twitter (MediaEval 2016)", 0.896, None, ("mediaeval2016",)),
    Published("MMFND", "mmfnd", "Weibo", 0.935, None, ("weibo",)),
    Published("InSide", "inside", "PolitiFact", 0.6855, 0.6823, ("politifact",)),
    Published("InSide", "inside", "GossipCop", 0.9002, 0.8653, ("gossipcop",)),
    Published("InSide", "inside", "LLMFake", 0.9247, 0.9218, ("llmfake",)),
    Published("LGCL + GMAE", "lgcl", "PolitiFact", 0.919, 0.918, ("politifact", "politifact_upfd")),
)
