"""Text-image alignment for when the joint encoder is not a real CLIP.

Regularised CCA on the train split's (text vector, image vector) pairs maps both modalities
into one shared space, so text-to-image cosine similarities mean something. It stands in for
CLIP's contrastively trained joint space and is labelled so in metadata.

A CCA fitted on a few hundred pairs of 384-d text and 1280-d image vectors overfits: applied
to its own pairs, a post's text and image land almost on top of each other (mean cosine 0.95
on the MediaEval slice) while unseen pairs get ~0. Models trained on those vectors (MMFND's
similarity weight, GLPN's text-image edges) would learn from a world test rows never show.
So `cross_fit` embeds every pair with a CCA that did not see it:

- Folds group the pairs by identical image vector (MediaEval has many posts per image and
  test events with unseen images), so a held-out pair's image is unseen too, as at test time.
  Each fold is embedded by the CCA fitted on the other folds; rows outside the pairs (val,
  test, text-only) use the CCA fitted on all pairs (`CrossFit.full`).
- Each fold CCA has its own basis (signs, rotations within near-equal correlations), but the
  vectors are also features of models trained on train rows and applied to the others, so a
  fold's vectors are rotated into the full fit's coordinates: one orthogonal Procrustes
  rotation per fold, fitted on that fold's fitting rows (where both CCAs are in-sample) with
  text and image stacked. One rotation for both modalities keeps the fold's text-image
  cosines exactly (separate ones would change them); every fold and the full fit keep the
  same number of components (at most the smallest rank any of them supports), so the
  rotation is square.
- The shrinkage and the number of components are chosen on the held-out pairs, never on val
  or test rows: the grid point (SHRINKAGES x DIMS) whose out-of-fold text vectors best pick
  their own image among the fold's other images (`retrieval_auc`: per post, the share of
  the fold's other images less similar to its text than its own). The same-pair cosine
  itself would not do: it rises as dimensions are dropped (in one dimension every cosine is
  ±1), whatever they carry. Each shrinkage's fits are shared by all dims (a CCA with fewer
  components is the same fit truncated), so the grid costs one eigendecomposition per fold
  and modality.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

RANK_TOLERANCE = 1e-6  # relative to the largest singular value
SHRINKAGES = (0.1, 0.3, 0.5, 0.7, 0.9)
DIMS = (8, 16, 32, 64, 128)  # each capped by the caller's maximum


def _principal(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Centred rows -> (their coordinates on the axes with variance, those axes, the variances,
    the mean variance over all axes: the shrinkage target). With fewer rows than columns the
    axes come from the rows' Gram matrix, which is smaller than the covariance."""
    gram = len(x) < x.shape[1]
    values, vectors = np.linalg.eigh(x @ x.T if gram else x.T @ x)
    keep = values > RANK_TOLERANCE**2 * values.max()
    values, vectors = values[keep], vectors[:, keep]
    coords, axes = (vectors * np.sqrt(values), x.T @ vectors / np.sqrt(values)) if gram else (x @ vectors, vectors)
    n1 = max(len(x) - 1, 1)
    return coords, axes, values / n1, float((x * x).sum() / n1 / x.shape[1])


@dataclass
class CCAAlignment:
    text_mean: np.ndarray
    image_mean: np.ndarray
    text_proj: np.ndarray
    image_proj: np.ndarray
    correlations: np.ndarray  # per component, of the projected train pairs

    @property
    def dim(self) -> int:
        return self.text_proj.shape[1]

    @classmethod
    def fit(cls, text: np.ndarray, image: np.ndarray, dim: int = 128, shrinkage: float = 0.1) -> CCAAlignment:
        return cls.fit_grid(text, image, dim, (shrinkage,))[0]

    @classmethod
    def fit_grid(cls, text: np.ndarray, image: np.ndarray, dim: int, shrinkages) -> list[CCAAlignment]:
        """One CCA per shrinkage (covariances shrunk towards their mean variance), sharing one
        eigendecomposition per modality."""
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
        (t_coords, t_axes, t_var, t_target), (i_coords, i_axes, i_var, i_target) = _principal(tc), _principal(ic)
        cross_cov = t_coords.T @ i_coords / (len(text) - 1)
        fits = []
        for shrinkage in shrinkages:
            t_scale = 1 / np.sqrt((1 - shrinkage) * t_var + shrinkage * t_target)
            i_scale = 1 / np.sqrt((1 - shrinkage) * i_var + shrinkage * i_target)
            cross = t_scale[:, None] * cross_cov * i_scale
            u, s, vt = np.linalg.svd(cross, full_matrices=False)
            # Components past the cross-covariance's rank (at most the number of distinct images)
            # have no shared signal: their directions are rounding noise, so they are dropped.
            rank = int((s > RANK_TOLERANCE * s[0]).sum())
            k = min(dim, rank, len(text) - 1)
            if k == 0:
                raise ValueError("the paired text and image vectors share no direction (zero cross-covariance)")
            text_proj = t_axes @ (t_scale[:, None] * u[:, :k])
            image_proj = i_axes @ (i_scale[:, None] * vt[:k].T)
            zt, zi = tc @ text_proj, ic @ image_proj
            corr = (zt * zi).sum(0) / np.clip(np.linalg.norm(zt, axis=0) * np.linalg.norm(zi, axis=0), 1e-12, None)
            fits.append(cls(t_mean, i_mean, text_proj.astype(np.float32), image_proj.astype(np.float32), corr))
        return fits

    def truncated(self, dim: int) -> CCAAlignment:
        """The first `dim` components: the CCA the same fit gives with dim=`dim`."""
        return replace(
            self,
            text_proj=self.text_proj[:, :dim],
            image_proj=self.image_proj[:, :dim],
            correlations=self.correlations[:dim],
        )

    @staticmethod
    def _project(x: np.ndarray, mean: np.ndarray, proj: np.ndarray) -> np.ndarray:
        z = (x - mean.astype(np.float32)) @ proj
        return (z / np.clip(np.linalg.norm(z, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)

    def text(self, x: np.ndarray) -> np.ndarray:
        return self._project(x, self.text_mean, self.text_proj)

    def image(self, x: np.ndarray) -> np.ndarray:
        return self._project(x, self.image_mean, self.image_proj)


def image_folds(image: np.ndarray, n_folds: int) -> np.ndarray:
    """Each row's fold; rows with identical image vectors share one. Images are dealt largest
    first (then in np.unique's order) to the fold with the fewest rows: deterministic, balanced."""
    _, group, sizes = np.unique(image, axis=0, return_inverse=True, return_counts=True)
    load = np.zeros(min(n_folds, len(sizes)), int)
    fold_of = np.empty(len(sizes), int)
    for g in np.argsort(-sizes, kind="stable"):
        fold_of[g] = load.argmin()
        load[fold_of[g]] += sizes[g]
    return fold_of[group.ravel()]


def retrieval_auc(text: np.ndarray, image: np.ndarray, group: np.ndarray) -> tuple[float, int]:
    """(Sum over rows of the share of the other image groups whose image is less similar to
    the row's text than its own image (ties count half), number of rows scored). Rows are
    unit vectors; `group` numbers identical images. A set with one image scores no row."""
    groups, first = np.unique(group, return_index=True)
    if len(groups) < 2:
        return 0.0, 0
    sims = text @ image[first].T  # (rows, groups)
    own = sims[np.arange(len(text)), np.searchsorted(groups, group)][:, None]
    below = (sims < own).sum(1) + 0.5 * ((sims == own).sum(1) - 1)
    return float((below / (len(groups) - 1)).sum()), len(text)


def _procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal R minimising |source @ R - target|."""
    u, _, vt = np.linalg.svd(source.T @ target)
    return u @ vt


@dataclass
class CrossFit:
    full: CCAAlignment  # fitted on every pair with the chosen shrinkage and dim: for rows outside the pairs
    shrinkage: float
    text: np.ndarray  # the pairs' out-of-fold joint vectors, in full's coordinates
    image: np.ndarray
    folds: np.ndarray  # each pair's fold
    scores: dict[str, float]  # "shrinkage/dim" -> out-of-fold retrieval AUC


def cross_fit(text: np.ndarray, image: np.ndarray, max_dim: int = 128, n_folds: int = 5) -> CrossFit:
    """Out-of-fold joint vectors for the (text, image) pairs; see the module docstring."""
    full = CCAAlignment.fit_grid(text, image, max_dim, SHRINKAGES)
    folds = image_folds(image, n_folds)
    group = np.unique(image, axis=0, return_inverse=True)[1].ravel()
    count = folds.max() + 1
    if count < 3:
        raise ValueError(f"the pairs have {count} distinct images; cross-fitting needs at least 3")
    fitted = [CCAAlignment.fit_grid(text[folds != f], image[folds != f], max_dim, SHRINKAGES) for f in range(count)]
    cap = min(a.dim for fits in [full, *fitted] for a in fits)

    def held_out(s: int, dim: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per fold: its rows' (text, image) vectors from the CCA fitted without them."""
        aligns = [fits[s].truncated(dim) for fits in fitted]
        return [(a.text(text[folds == f]), a.image(image[folds == f])) for f, a in enumerate(aligns)]

    def score(s: int, dim: int) -> float:
        parts = [retrieval_auc(t, i, group[folds == f]) for f, (t, i) in enumerate(held_out(s, dim))]
        return sum(p[0] for p in parts) / max(sum(p[1] for p in parts), 1)

    scores = {
        (s, dim): score(s, dim) for s in range(len(SHRINKAGES)) for dim in sorted({min(d, max_dim, cap) for d in DIMS})
    }
    s, dim = max(scores, key=scores.get)
    chosen = full[s].truncated(dim)
    out_text, out_image = np.zeros((2, len(text), dim), np.float32)
    for f, (t, i) in enumerate(held_out(s, dim)):
        align, fit = fitted[f][s].truncated(dim), folds != f
        source = np.vstack([align.text(text[fit]), align.image(image[fit])])
        rotation = _procrustes(source, np.vstack([chosen.text(text[fit]), chosen.image(image[fit])]))
        out_text[folds == f], out_image[folds == f] = t @ rotation, i @ rotation
    grid = {f"{SHRINKAGES[s]}/{dim}": round(v, 4) for (s, dim), v in scores.items()}
    return CrossFit(chosen, SHRINKAGES[s], out_text, out_image, folds, grid)
