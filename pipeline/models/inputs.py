"""What the shared train stage hands every detector: one row per article, in article order.

Test labels are hidden before a detector sees the inputs (`y` is -1 on test rows), so no
method can train on them; validation labels are visible for model selection only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HIDDEN = -1


@dataclass
class MethodInputs:
    ids: list[str]
    split: np.ndarray  # "train" / "val" / "test" per row
    y: np.ndarray  # int64: 1 fake, 0 real, HIDDEN on test rows
    text: np.ndarray | None = None  # (N, d_text) text-encoder vectors (none for a method that does not read them)
    image: np.ndarray | None = None  # (N, d_image) CNN vectors, zeros where no image
    clip_text: np.ndarray | None = None  # (N, d_clip) joint text vectors
    clip_image: np.ndarray | None = None  # (N, d_clip) joint image vectors, zeros where no image
    has_image: np.ndarray | None = None  # (N,) bool
    edge_index: np.ndarray | None = None  # (2, E) similarity graph, both directions
    edge_weight: np.ndarray | None = None  # (E,)
    llm_prob_fake: np.ndarray | None = None  # (N,) LLM P(fake), NaN where the LLM gave none
    llm_zero_shot: np.ndarray | None = None  # (N,) LLM one-word label 1/0, HIDDEN where none
    # Per-article graphs (None where an article has none) and InSide's intent vectors
    sentence_graphs: list | None = None  # sentence-entity graphs (InSide)
    intents: np.ndarray | None = None  # (N, 4, d) belief/desire/plan/outcome vectors, zeros where missing
    intent_mask: np.ndarray | None = None  # (N, 4) bool: the LLM gave that paragraph
    amr_graphs: list | None = None  # WikiAMR graphs with relation paths (LGCL)
    propagation_graphs: list | None = None  # news propagation graphs (multi-view GMAE)
    substitutes: dict[str, list[str]] = field(default_factory=dict)  # input -> what stands in for the paper's component

    def __post_init__(self):
        self.split = np.asarray(self.split)
        self.y = np.asarray(self.y, dtype=np.int64)
        n = len(self.ids)
        for name in (
            "split",
            "y",
            "text",
            "image",
            "clip_text",
            "clip_image",
            "has_image",
            "llm_prob_fake",
            "llm_zero_shot",
            "sentence_graphs",
            "intents",
            "intent_mask",
            "amr_graphs",
            "propagation_graphs",
        ):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"MethodInputs.{name}: {len(value)} rows for {n} articles")
        if (self.y[self.split == "test"] != HIDDEN).any():
            raise ValueError("MethodInputs: test labels must be hidden (y = -1 on test rows)")

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, split: str) -> np.ndarray:
        return self.split == split

    @property
    def has_images(self) -> bool:
        """Whether the inputs carry an image modality (training leaves `image` None for a dataset
        without images; a predict batch whose items have no image still carries zeros)."""
        return self.image is not None and self.has_image is not None


def hide_test_labels(split: np.ndarray, y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64).copy()
    y[np.asarray(split) == "test"] = HIDDEN
    return y


def features(data: MethodInputs) -> np.ndarray:
    """Text vectors, plus image vectors and has_image where the dataset has images (the baselines' input)."""
    parts = [data.text]
    if data.image is None and data.has_image is not None and data.has_image.any():
        raise ValueError("MethodInputs: has_image is set but image is None")
    if data.has_images:
        parts += [data.image, data.has_image[:, None]]
    return np.hstack(parts).astype(np.float32)
