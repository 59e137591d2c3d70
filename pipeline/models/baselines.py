"""Logistic regression over cached embeddings (text, plus image and has_image where there are images)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.models.inputs import MethodInputs, features
from pipeline.settings import check, positive_ints


@dataclass(frozen=True)
class LogRegSettings:
    """Args:
    C_grid: inverse regularisation strengths tried; validation macro-F1 picks one (ties: the smallest C).
    max_iter: solver iterations.
    """

    C_grid: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0)
    max_iter: int = 2000

    def __post_init__(self):
        object.__setattr__(self, "C_grid", tuple(self.C_grid))
        check(
            len(self.C_grid) > 0 and all(isinstance(c, (int, float)) and c > 0 for c in self.C_grid),
            "C_grid",
            list(self.C_grid),
            "a non-empty list of numbers > 0",
        )
        positive_ints(self, "max_iter")


class LogRegDetector:
    """Standardised features -> class-balanced logistic regression. The inverse regularisation
    strength C is chosen by validation macro-F1 (ties go to the stronger regularisation)."""

    name = "logreg"
    Settings = LogRegSettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        self.settings = LogRegSettings(**settings)
        self.C_grid = sorted(self.settings.C_grid)
        self.seed = seed
        self.max_iter = self.settings.max_iter
        self.model = None

    def _build(self, C: float):
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(C=C, class_weight="balanced", max_iter=self.max_iter, random_state=self.seed),
        )

    def fit(self, data: MethodInputs) -> dict:
        X = features(data)
        train, val = data.mask("train"), data.mask("val")
        X_train, y_train, X_val, y_val = X[train], data.y[train], X[val], data.y[val]
        scores = {}
        best_C, best_score = None, -1.0
        for C in self.C_grid:
            model = self._build(C).fit(X_train, y_train)
            score = f1_score(y_val, model.predict(X_val), average="macro", zero_division=0)
            scores[str(C)] = round(float(score), 4)
            if score > best_score:
                best_C, best_score, self.model = C, score, model
        return {"selected": {"C": best_C}, "val_macro_f1_by_C": scores}

    def predict_proba(self, data: MethodInputs) -> np.ndarray:
        """Probability of class 1 (fake) per row."""
        return self.model.predict_proba(features(data))[:, 1]
