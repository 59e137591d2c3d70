"""Text-image alignment for when the joint encoder is not a real CLIP.

Regularised CCA fitted on the train split's (text vector, image vector) pairs maps both
modalities into one shared space, so text-to-image cosine similarities mean something.
It stands in for CLIP's contrastively trained joint space and is labelled so in metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANK_TOLERANCE = 1e-6  # relative to the largest singular value


def _inv_sqrt(cov: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    return (vectors / np.sqrt(np.clip(values, 1e-12, None))) @ vectors.T


def _shrunk_cov(x: np.ndarray, shrinkage: float) -> np.ndarray:
    cov = x.T @ x / max(len(x) - 1, 1)
    target = np.trace(cov) / cov.shape[0]
    return (1 - shrinkage) * cov + shrinkage * target * np.eye(cov.shape[0])


@dataclass
class CCAAlignment:
    text_mean: np.ndarray
    image_mean: np.ndarray
    text_proj: np.ndarray
    image_proj: np.ndarray
    correlations: np.ndarray  # per component, of the projected train pairs

    @classmethod
    def fit(cls, text: np.ndarray, image: np.ndarray, dim: int = 128, shrinkage: float = 0.1) -> CCAAlignment:
        if len(text) != len(image) or len(text) < 3:
            raise ValueError(f"need at least 3 paired rows to fit the alignment, got {len(text)}")
        text = text.astype(np.float64)
        image = image.astype(np.float64)
        t_mean, i_mean = text.mean(0), image.mean(0)
        tc, ic = text - t_mean, image - i_mean
        for name, raw, centred in (("text", text, tc), ("image", image, ic)):
            if np.abs(centred).max() <= RANK_TOLERANCE * np.abs(raw).max():
                raise ValueError(
                    f"the paired {name} vectors are all the same, so they share no direction with the other side"
                )
        wt, wi = _inv_sqrt(_shrunk_cov(tc, shrinkage)), _inv_sqrt(_shrunk_cov(ic, shrinkage))
        cross = wt @ (tc.T @ ic / (len(text) - 1)) @ wi
        u, s, vt = np.linalg.svd(cross, full_matrices=False)
        # Components past the cross-covariance's rank (at most the number of distinct images)
        # have no shared signal: their directions are rounding noise, so they are dropped.
        rank = int((s > RANK_TOLERANCE * s[0]).sum())
        k = min(dim, rank, len(text) - 1)
        if k == 0:
            raise ValueError("the paired text and image vectors share no direction (zero cross-covariance)")
        text_proj, image_proj = wt @ u[:, :k], wi @ vt[:k].T
        zt, zi = tc @ text_proj, ic @ image_proj
        corr = (zt * zi).sum(0) / np.clip(np.linalg.norm(zt, axis=0) * np.linalg.norm(zi, axis=0), 1e-12, None)
        return cls(t_mean, i_mean, text_proj.astype(np.float32), image_proj.astype(np.float32), corr)

    @staticmethod
    def _project(x: np.ndarray, mean: np.ndarray, proj: np.ndarray) -> np.ndarray:
        z = (x - mean.astype(np.float32)) @ proj
        return (z / np.clip(np.linalg.norm(z, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)

    def text(self, x: np.ndarray) -> np.ndarray:
        return self._project(x, self.text_mean, self.text_proj)

    def image(self, x: np.ndarray) -> np.ndarray:
        return self._project(x, self.image_mean, self.image_proj)
