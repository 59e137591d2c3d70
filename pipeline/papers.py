"""The papers' published test numbers, for the report's side-by-side table.

`ours` names our datasets that correspond to the paper's: the embedded slice's name and the
full-data runs' names (reports/full/<name>/). `differs` says how our data or protocol differs
from the paper's where the pair is not like for like; the report prints it in the row.
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
    differs: str = ""


TEST_SELECTED = "the paper keeps the epoch with the best test score; ours is chosen on validation"

PUBLISHED = (
    Published("GLPN-LLM", "glpn", "Twitter (MediaEval 2016)", 0.8883, 0.8903, ("mediaeval2016",), TEST_SELECTED),
    Published("MMFND", "mmfnd", "Twitter (MediaEval 2016)", 0.896, None, ("mediaeval2016",), TEST_SELECTED),
    Published(
        "MMFND",
        "mmfnd",
        "Weibo",
        0.935,
        None,
        ("weibo",),
        f"ours is the EANN Weibo subset, in which 74 of 3,920 posts have an image; {TEST_SELECTED}",
    ),
    Published(
        "InSide",
        "inside",
        "PolitiFact",
        0.6855,
        0.6823,
        ("politifact",),
        "a different dataset: the paper's is Popat et al. 2018 (3,446 claims, chronological split); ours is "
        "FakeNewsNet PolitiFact (816 articles, about half undated and split at random)",
    ),
    Published(
        "InSide",
        "inside",
        "GossipCop",
        0.9002,
        0.8653,
        ("gossipcop",),
        "a different dataset: the paper's is FakeNewsNet GossipCop (11,580, chronological split); ours is "
        "LLMFake's GossipCop subset (1,386, with LLM-written fakes), split at random by source article",
    ),
    Published(
        "InSide",
        "inside",
        "LLMFake",
        0.9247,
        0.9218,
        ("llmfake",),
        "the paper uses 995 LLMFake items; ours has 4,920, split at random by source article",
    ),
    Published(
        "LGCL + GMAE",
        "lgcl",
        "PolitiFact",
        0.919,
        0.918,
        ("politifact", "politifact_upfd"),
        "the paper uses an 80:20 split with 5-fold CV; ours is the chronological split, with the undated "
        "articles (122 of 272 in UPFD PolitiFact) split at random",
    ),
)
