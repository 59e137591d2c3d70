"""Embeddings + MLP baseline: text vectors (plus image vectors and has_image when the
dataset has images), standardised with train statistics, into a two-layer MLP trained
full-batch with class-balanced cross-entropy and early stopping on validation macro-F1."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.models.inputs import MethodInputs, features
from pipeline.models.training import BestOnValidation, class_weights, macro_f1, seed_everything
from pipeline.settings import positive, positive_ints, rates


@dataclass(frozen=True)
class MLPSettings:
    """Args:
    hidden: width of the hidden layer.
    dropout: dropout after the hidden layer.
    lr, weight_decay: Adam's learning rate and L2 penalty.
    epochs: at most this many full-batch epochs.
    patience: stop after this many epochs without a better validation macro-F1.
    """

    hidden: int = 128
    dropout: float = 0.3
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 200
    patience: int = 20

    def __post_init__(self):
        positive_ints(self, "hidden", "epochs", "patience")
        rates(self, "dropout")
        positive("lr", self.lr)


class MLPDetector:
    name = "mlp"
    Settings = MLPSettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        self.seed, self.device = seed, device
        self.params = dataclasses.asdict(MLPSettings(**settings))
        self.mean = self.std = None
        self.module: torch.nn.Module | None = None

    def _inputs(self, data: MethodInputs) -> torch.Tensor:
        return torch.as_tensor((features(data) - self.mean) / self.std, device=self.device)

    def fit(self, data: MethodInputs) -> dict:
        p = self.params
        train, val = data.mask("train"), data.mask("val")
        if not train.any() or not val.any():
            raise ValueError(f"mlp: need non-empty train and val splits (got {train.sum()} train, {val.sum()} val)")
        seed_everything(self.seed)
        X = features(data)
        self.mean = X[train].mean(0)
        self.std = np.where(X[train].std(0) > 1e-6, X[train].std(0), 1.0).astype(np.float32)
        X = self._inputs(data)
        y = torch.as_tensor(data.y[train], device=self.device)
        weight = class_weights(data.y[train]).to(self.device)
        self.module = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], p["hidden"]),
            torch.nn.ReLU(),
            torch.nn.Dropout(p["dropout"]),
            torch.nn.Linear(p["hidden"], 2),
        ).to(self.device)
        optimiser = torch.optim.Adam(self.module.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        best = BestOnValidation(p["patience"])
        start = time.perf_counter()
        for epoch in range(p["epochs"]):
            self.module.train()
            optimiser.zero_grad()
            F.cross_entropy(self.module(X[train]), y, weight=weight).backward()
            optimiser.step()
            if best.update(epoch, macro_f1(data.y[val], self._prob(X)[val]), self.module):
                break
        epochs_run = epoch + 1
        seconds = time.perf_counter() - start
        best.restore(self.module)
        self.module.cpu()
        return best.record() | {
            "epochs_run": epochs_run,
            "seconds_per_epoch": round(seconds / epochs_run, 5),
            "params": dict(p),
            "features": int(X.shape[1]),
        }

    def _prob(self, X: torch.Tensor) -> np.ndarray:
        self.module.eval()
        with torch.no_grad():
            return torch.softmax(self.module(X), dim=1)[:, 1].cpu().numpy()

    def predict_proba(self, data: MethodInputs) -> np.ndarray:
        if self.module is None:
            raise RuntimeError("mlp: fit before predict_proba")
        self.module.to(self.device)
        try:
            return self._prob(self._inputs(data)).astype(np.float64)
        finally:
            self.module.cpu()
