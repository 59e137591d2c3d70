"""Helpers shared by the torch detectors: seeding and validation-based model selection."""

from __future__ import annotations

import copy
import random

import numpy as np
import torch
from sklearn.metrics import f1_score

from pipeline.errors import BadInput


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def macro_f1(y: np.ndarray, prob_fake: np.ndarray) -> float:
    return float(
        f1_score(y, (np.asarray(prob_fake) >= 0.5).astype(int), labels=[0, 1], average="macro", zero_division=0)
    )


def class_weights(y: np.ndarray) -> torch.Tensor:
    """Inverse-frequency weights n / (2 n_c) for classes (real, fake)."""
    counts = np.bincount(y, minlength=2)
    if (counts == 0).any():
        raise BadInput(f"the train split needs both classes, got counts (real, fake) = {tuple(counts)}")
    return torch.as_tensor(len(y) / (2.0 * counts), dtype=torch.float32)


class BestOnValidation:
    """Keeps the weights of the epoch with the best validation macro-F1 (ties: the earlier
    epoch) and says when `patience` epochs have passed without improvement."""

    def __init__(self, patience: int = 20):
        self.patience = patience
        self.best_score = -1.0
        self.best_epoch = -1
        self.state = None
        self.history: list[float] = []

    def update(self, epoch: int, score: float, model: torch.nn.Module) -> bool:
        """Record this epoch's score; returns True when training should stop."""
        self.history.append(round(float(score), 4))
        if score > self.best_score:
            self.best_score, self.best_epoch = float(score), epoch
            self.state = copy.deepcopy(model.state_dict())
        return epoch - self.best_epoch >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)

    def record(self) -> dict:
        return {
            "selected_epoch": self.best_epoch,
            "val_macro_f1": round(self.best_score, 4),
            "val_macro_f1_by_epoch": self.history,
        }
