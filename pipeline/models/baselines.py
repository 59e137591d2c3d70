"""Logistic regression over cached embeddings (text, plus image and has_image where there are images)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.models.inputs import MethodInputs
from pipeline.models.mlp import features


class LogRegDetector:
    """Standardised features -> class-balanced logistic regression. The inverse regularisation
    strength C is chosen by validation macro-F1 (ties go to the stronger regularisation)."""

    name = "logreg"

    def __init__(self, C_grid=(0.01, 0.1, 1.0, 10.0), seed: int = 0, device: str = "cpu", max_iter: int = 2000):
        self.C_grid = sorted(C_grid)
        self.seed = seed
        self.max_iter = max_iter
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
