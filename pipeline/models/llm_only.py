"""LLM-only baseline: the LLM's P(fake) is the prediction. Nothing is trained; rows the LLM
gave no answer for get the train-set fake prior. That fallback is never silent: train.json
counts the prior rows per split, the metrics carry the share of val and test rows the LLM
scored (`llm_coverage`, with a `warning` when it scored no test row, whose numbers are then the
majority class's), and the report marks a test coverage below 1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.models.inputs import MethodInputs
from pipeline.models.training import macro_f1


@dataclass(frozen=True)
class LLMOnlySettings:
    """No settings: the LLM's P(fake) is the prediction."""


class LLMOnlyDetector:
    name = "llm_only"
    Settings = LLMOnlySettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        self.settings = LLMOnlySettings(**settings)
        self.seed, self.device = seed, device
        self.prior: float | None = None

    @staticmethod
    def _llm(data: MethodInputs) -> np.ndarray:
        if data.llm_prob_fake is None:
            raise ValueError(
                "llm_only needs LLM predictions (MethodInputs.llm_prob_fake is None); run the LLM stage first"
            )
        return np.asarray(data.llm_prob_fake, dtype=np.float64)

    def fit(self, data: MethodInputs) -> dict:
        llm = self._llm(data)
        train, val = data.mask("train"), data.mask("val")
        if not train.any():
            raise ValueError("llm_only: need a non-empty train split for the fallback prior")
        self.prior = float(data.y[train].mean())
        missing = np.isnan(llm)
        record = {
            "coverage": round(float(1.0 - missing.mean()), 4),
            "prior_rows": int(missing.sum()),
            "prior_rows_by_split": {s: int((missing & data.mask(s)).sum()) for s in ("train", "val", "test")},
            "train_fake_prior": round(self.prior, 4),
        }
        if val.any():
            record["val_macro_f1"] = round(macro_f1(data.y[val], self.predict_proba(data)[val]), 4)
        return record

    def predict_proba(self, data: MethodInputs) -> np.ndarray:
        if self.prior is None:
            raise RuntimeError("llm_only: fit before predict_proba")
        llm = self._llm(data)
        return np.where(np.isnan(llm), self.prior, llm)
