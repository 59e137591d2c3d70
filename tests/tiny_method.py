"""A tiny method added the documented way (docs/methods.md): a detector class with a Settings
dataclass; tests/test_stage_graph.py registers it and trains it through the real train stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.settings import rates


@dataclass(frozen=True)
class CentroidSettings:
    """Args:
    shrink: how far each class centroid is pulled towards the overall mean (0 = not at all).
    """

    shrink: float = 0.0

    def __post_init__(self):
        rates(self, "shrink")


class CentroidDetector:
    """P(fake) = softmax over the cosine similarities to the train set's real and fake centroids."""

    name = "centroid"
    Settings = CentroidSettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        self.settings = CentroidSettings(**settings)
        self.centroids = None

    def fit(self, data) -> dict:
        train = data.mask("train")
        x, y = data.text[train], data.y[train]
        mean = x.mean(0)
        self.centroids = np.stack(
            [(1 - self.settings.shrink) * x[y == c].mean(0) + self.settings.shrink * mean for c in (0, 1)]
        )
        return {"selected": {"shrink": self.settings.shrink}}

    def predict_proba(self, data) -> np.ndarray:
        x = data.text / np.linalg.norm(data.text, axis=1, keepdims=True)
        c = self.centroids / np.linalg.norm(self.centroids, axis=1, keepdims=True)
        scores = 10 * x @ c.T
        return np.exp(scores[:, 1]) / np.exp(scores).sum(1)
