"""MMFND: multimodal fake news detection with CLIP features, one progressive layered
extraction (PLE) multi-task network per modality, CLIP-similarity weighting of the
cross-modal feature and modality attention.

Paper: "Multi-Task Network Guided Multimodal Fusion for Fake News Detection", Ma, Zhang, Liu and
Zhang (ACML; `../shared/papers/003_*.txt`). Authors' code: github.com/diga7654321/MMFND.

The model, with the paper's equation numbers:
- eq. 1: t^s = [t^b; t^c], v^s = [v^r; v^c] (text encoder ⊕ CLIP text, image CNN ⊕ CLIP image),
  each projected to `hidden` by one Linear-ReLU-Dropout layer (as the authors' code does).
- eq. 2: one PLE per modality. Each treats "unimodal representation" (task A) and "cross-modal
  interaction" (task B) as two tasks with their own experts plus shared experts and gates.
  Two levels, as the authors' code: an extraction level (task gates and a shared gate) and a
  CGC level (task gates only). The text PLE gives f^t and f_t^m, the image PLE f^v and
  f_v^m, and f^m = f_t^m + f_v^m.
- eqs. 3-6: f^cross = sigmoid((cos(t^c, v^c) - mu) / sigma) · f^m, with mu and sigma the
  running mean and standard deviation of the similarity, updated during training and used
  both in training and in evaluation (eq. 5 says "running"). No learnable parameters.
- eq. 7: modality attention adapted from SE-Net: the L×3 matrix [f^t, f^v, f^cross] is pooled
  over L by average and by max pooling, each 1×3 vector goes through the same two 3×3 layers
  with GELU, their sum through a sigmoid gives att; m_Agg = Σ_b att_b · f^b (a weighted sum).
- eq. 8: a two-layer classifier (64, 2) and plain cross-entropy.
- Adam-W with the paper's lr 1e-4 and weight decay 0.01.

The paper's ablations (Table 2) are settings, registered as variants in pipeline/methods.py:
w/o P (`use_ple=False`: each modality's feature is its projection and the cross-modal feature
a projection of the concatenated CLIP pair), w/o S (`use_similarity_weighting=False`), w/o A
(`use_attention=False` with `use_similarity_weighting=False`: the branches are concatenated),
w/o F (`branches=["text", "image"]`), w/o C (`use_clip=False`: no CLIP vectors and so no
similarity weight), text-only, image-only and multimodal-only (`branches` of one).

Substitutes and deviations, each for a stated reason:
- The encoders are frozen and cached by the embed stage: `text` is MiniLM (384-d, for BERT),
  `image` EfficientNet-Lite0 (1280-d, for a fine-tuned ResNet-101), and `clip_text`/
  `clip_image` a cross-fitted CCA alignment of the two (for CLIP ViT-B/32) unless open_clip is
  configured. There is no OCR text. The published code re-encodes every batch through
  BERT/ResNet/CLIP every epoch (benchmarks/mmfnd_epoch.py measures the difference).
- An expert is one Linear-ReLU-Dropout layer (the paper does not say; the authors' code uses
  two layers).
- The epoch is chosen on validation macro-F1 with patience, never on test (the paper keeps
  "the iteration with the highest test accuracy").
- Posts without an image have zero image vectors; `has_image` masks the image branch and the
  cross-modal branch for them (before and after the experts), so they are classified from the
  text alone, and their similarity is left out of the running statistics.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipeline.errors import BadInput
from pipeline.models.inputs import MethodInputs
from pipeline.models.training import BestOnValidation, macro_f1, seed_everything
from pipeline.settings import check, positive, positive_ints, rates

BRANCHES = ("text", "image", "cross_modal")
TASKS = ("unimodal", "cross_modal")  # the PLE's task A and task B
INFERENCE_BATCH = 1024


def mlp(d_in: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_out), nn.ReLU(), nn.Dropout(dropout))


class SimilarityWeight(nn.Module):
    """w = sigmoid((cos(clip_text, clip_image) - mu) / sqrt(var + eps)) (eqs. 3-5).

    mu and var are running statistics over rows with an image: a training batch first moves
    them towards its own mean and variance (by `momentum`), then is normalised by them, as is
    every row in evaluation."""

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_mean", torch.zeros(()))
        self.register_buffer("running_var", torch.ones(()))

    def forward(self, clip_text: torch.Tensor, clip_image: torch.Tensor, has_image: torch.Tensor) -> torch.Tensor:
        cos = F.cosine_similarity(clip_text, clip_image, dim=-1)
        seen = cos[has_image].detach()
        if self.training and seen.numel() > 1:
            self.running_mean.lerp_(seen.mean(), self.momentum)
            self.running_var.lerp_(seen.var(), self.momentum)
        return torch.sigmoid((cos - self.running_mean) / torch.sqrt(self.running_var + self.eps))


def _mix(gate_logits: torch.Tensor, experts: torch.Tensor) -> torch.Tensor:
    """Σ_i softmax(gate)_i · expert_i for experts stacked as (B, E, H)."""
    return (torch.softmax(gate_logits, dim=-1).unsqueeze(-1) * experts).sum(dim=1)


class ExtractionLevel(nn.Module):
    """One PLE level (Tang et al. 2020) for the two tasks: each task has `num_experts`
    experts, and `num_experts` shared experts serve both. Task k's gate mixes its own and the
    shared experts' outputs; on an inner level a shared gate mixes all of them and feeds the
    next level's shared experts (the authors' Extraction_Network with GateNum 3 or 2)."""

    def __init__(self, hidden: int, num_experts: int, dropout: float, shared_gate: bool):
        super().__init__()
        groups = (*TASKS, "shared")
        self.experts = nn.ModuleDict(
            {g: nn.ModuleList(mlp(hidden, hidden, dropout) for _ in range(num_experts)) for g in groups}
        )
        gates = {task: nn.Linear(hidden, 2 * num_experts) for task in TASKS}
        if shared_gate:
            gates["shared"] = nn.Linear(hidden, 3 * num_experts)
        self.gates = nn.ModuleDict(gates)

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {g: torch.stack([e(inputs[g]) for e in experts], dim=1) for g, experts in self.experts.items()}
        mixed = {task: _mix(self.gates[task](inputs[task]), torch.cat([out[task], out["shared"]], 1)) for task in TASKS}
        if "shared" in self.gates:
            mixed["shared"] = _mix(self.gates["shared"](inputs["shared"]), torch.cat(list(out.values()), 1))
        return mixed


class ModalityPLE(nn.Module):
    """One modality's PLE (eq. 2): x -> (unimodal task output, cross-modal task output)."""

    def __init__(self, hidden: int, num_experts: int, dropout: float, levels: int = 2):
        super().__init__()
        self.levels = nn.ModuleList(
            ExtractionLevel(hidden, num_experts, dropout, shared_gate=i < levels - 1) for i in range(levels)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        state = {g: x for g in (*TASKS, "shared")}
        for level in self.levels:
            state = level(state)
        return state["unimodal"], state["cross_modal"]


class ModalityAttention(nn.Module):
    """att = sigmoid(FC(avgpool(Z)) + FC(maxpool(Z))) over the branches of Z (B, n, L), with
    FC two n×n layers and GELU between them (eq. 7's weights; SE-Net adapted as in the paper)."""

    def __init__(self, branches: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(branches, branches), nn.GELU(), nn.Linear(branches, branches))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc(z.mean(dim=-1)) + self.fc(z.amax(dim=-1)))  # (B, n)


class MMFNDNet(nn.Module):
    def __init__(
        self,
        text_dim: int,
        image_dim: int,
        clip_dim: int,
        hidden: int = 256,
        num_experts: int = 3,
        ple_levels: int = 2,
        dropout: float = 0.2,
        use_clip: bool = True,
        use_ple: bool = True,
        use_similarity_weighting: bool = True,
        use_attention: bool = True,
        branches: tuple[str, ...] = BRANCHES,
    ):
        super().__init__()
        clip_in = clip_dim if use_clip else 0
        self.use_clip, self.branches = use_clip, tuple(branches)
        self.text_proj = mlp(text_dim + clip_in, hidden, dropout)
        self.image_proj = mlp(image_dim + clip_in, hidden, dropout)
        if use_ple:
            self.ple = nn.ModuleDict(
                {m: ModalityPLE(hidden, num_experts, dropout, ple_levels) for m in ("text", "image")}
            )
        else:  # w/o P: the cross-modal feature is a projection of the concatenated CLIP pair
            self.ple = None
            self.cross_proj = mlp(2 * clip_dim, hidden, dropout)
        self.similarity = SimilarityWeight() if use_similarity_weighting else None
        self.attention = ModalityAttention(len(self.branches)) if use_attention else None
        fused = hidden if use_attention else len(self.branches) * hidden  # w/o A concatenates
        self.classifier = nn.Sequential(nn.Linear(fused, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 2))

    def branch_features(self, text, image, clip_text, clip_image, has_image) -> dict[str, torch.Tensor]:
        """f^t, f^v and f^cross (eqs. 1-6), each (B, hidden); zero where a branch has no input."""
        m = has_image.unsqueeze(-1).to(text.dtype)
        t_s = torch.cat([text, clip_text], dim=-1) if self.use_clip else text  # eq. 1
        v_s = torch.cat([image, clip_image], dim=-1) if self.use_clip else image
        h_t, h_v = self.text_proj(t_s), self.image_proj(v_s) * m
        if self.ple is not None:
            f_t, f_t_m = self.ple["text"](h_t)  # eq. 2
            f_v, f_v_m = self.ple["image"](h_v)
            f_m = f_t_m + f_v_m
        else:
            f_t, f_v = h_t, h_v
            f_m = self.cross_proj(torch.cat([clip_text, clip_image], dim=-1))
        f_cross = f_m * m
        if self.similarity is not None:
            f_cross = f_cross * self.similarity(clip_text, clip_image, has_image).unsqueeze(-1)  # eq. 6
        return {"text": f_t, "image": f_v * m, "cross_modal": f_cross}

    def forward(self, text, image, clip_text, clip_image, has_image):
        """Returns (logits (B, 2), attention weights (B, len(branches)) or None)."""
        features = self.branch_features(text, image, clip_text, clip_image, has_image)
        z = torch.stack([features[b] for b in self.branches], dim=1)  # (B, n, hidden)
        if self.attention is None:
            return self.classifier(z.flatten(1)), None
        weights = self.attention(z)
        return self.classifier((weights.unsqueeze(-1) * z).sum(dim=1)), weights  # eq. 7


def train_step(
    model: MMFNDNet, optimizer: torch.optim.Optimizer, batch: tuple, y: torch.Tensor, class_weight: torch.Tensor | None
) -> float:
    """One optimisation step on a batch (text, image, clip_text, clip_image, has_image)."""
    logits, _ = model(*batch)
    loss = F.cross_entropy(logits, y, weight=class_weight)  # eq. 8
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def balanced_class_weight(y: np.ndarray) -> torch.Tensor:
    """w_k = n / (2 n_k), as sklearn's class_weight='balanced'."""
    counts = np.maximum(np.bincount(y, minlength=2), 1)
    return torch.tensor(len(y) / (2 * counts), dtype=torch.float32)


@dataclass(frozen=True)
class MMFNDSettings:
    """Args (defaults are the paper's where it gives one):
    hidden: width of every projection and expert (the authors' code: 256).
    num_experts: experts per PLE group (task A, task B, shared); the paper's 3.
    ple_levels: PLE levels per modality; the authors' code has 2 (extraction + CGC).
    dropout: dropout in the projection, expert and classifier layers.
    lr, weight_decay: AdamW's learning rate and decoupled weight decay; the paper's 1e-4 and 0.01.
    batch_size: training mini-batch.
    epochs: at most this many epochs (the paper's 100).
    patience: stop after this many epochs without a better validation macro-F1.
    class_weighting: True weighs the cross-entropy by n / (2 n_k); the paper's loss is plain.
    use_clip: False drops every CLIP input and with it the similarity weight (w/o C).
    use_ple: False replaces the PLEs by the projections and builds the cross-modal feature
        from the concatenated CLIP pair (w/o P).
    use_similarity_weighting: False drops the CLIP-similarity weight of f^m (w/o S).
    use_attention: False concatenates the branches instead of the attention-weighted sum
        (w/o A also sets use_similarity_weighting False, as the paper's w/o A removes both).
    branches: the branches fused, a non-empty subset of text, image, cross_modal (w/o F:
        text and image; text-only, image-only, multimodal-only: one).
    """

    hidden: int = 256
    num_experts: int = 3
    ple_levels: int = 2
    dropout: float = 0.2
    lr: float = 1e-4
    weight_decay: float = 0.01
    batch_size: int = 64
    epochs: int = 100
    patience: int = 15
    class_weighting: bool = False
    use_clip: bool = True
    use_ple: bool = True
    use_similarity_weighting: bool = True
    use_attention: bool = True
    branches: tuple[str, ...] = BRANCHES

    def __post_init__(self):
        positive_ints(self, "hidden", "num_experts", "ple_levels", "batch_size", "epochs", "patience")
        rates(self, "dropout")
        positive("lr", self.lr)
        check(
            isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0,
            "weight_decay",
            self.weight_decay,
            "a number >= 0",
        )
        branches = self.branches
        check(
            isinstance(branches, (list, tuple))
            and 0 < len(branches) == len(set(branches)) <= 3
            and set(branches) <= set(BRANCHES),
            "branches",
            branches,
            f"a non-empty list of distinct names among {', '.join(BRANCHES)}",
        )
        object.__setattr__(self, "branches", tuple(b for b in BRANCHES if b in branches))
        if not self.use_clip:
            check(not self.use_similarity_weighting, "use_similarity_weighting", True, "false when use_clip is false")
            check(self.use_ple, "use_ple", False, "true when use_clip is false (w/o P builds f^m from CLIP)")


ARCHITECTURE = ("use_clip", "use_ple", "use_similarity_weighting", "use_attention", "branches")


class MMFNDDetector:
    """Trains MMFNDNet on the train rows, keeps the epoch with the best validation macro-F1."""

    name = "mmfnd"
    Settings = MMFNDSettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        self.seed, self.device = seed, device
        values = dataclasses.asdict(MMFNDSettings(**settings))
        self.ablation = {key: values.pop(key) for key in ARCHITECTURE}
        self.params = values
        self.model: MMFNDNet | None = None

    @staticmethod
    def _features(data: MethodInputs) -> tuple:
        missing = [name for name in ("image", "clip_text", "clip_image") if getattr(data, name) is None]
        if missing:
            raise ValueError(
                f"MMFND needs images and joint text-image vectors, but this dataset has no {', '.join(missing)} "
                "(text-only datasets such as PHEME cannot be used with MMFND)"
            )
        has_image = data.has_image if data.has_image is not None else np.abs(data.image).sum(axis=1) > 0
        arrays = (data.text, data.image, data.clip_text, data.clip_image)
        return (
            *(torch.tensor(np.asarray(a), dtype=torch.float32) for a in arrays),
            torch.tensor(np.asarray(has_image, bool)),
        )

    def fit(self, data: MethodInputs) -> dict:
        p = self.params
        features = self._features(data)
        train, val = np.flatnonzero(data.mask("train")), np.flatnonzero(data.mask("val"))
        if not len(train) or not len(val):
            raise ValueError(f"mmfnd: need non-empty train and val splits (got {len(train)} train, {len(val)} val)")
        generator = seed_everything(self.seed)
        device = torch.device(self.device)
        self.model = MMFNDNet(
            features[0].shape[1],
            features[1].shape[1],
            features[2].shape[1],
            p["hidden"],
            p["num_experts"],
            p["ple_levels"],
            p["dropout"],
            **self.ablation,
        ).to(device)
        features = tuple(f.to(device) for f in features)
        y = torch.tensor(data.y).to(device)
        class_weight = balanced_class_weight(data.y[train]).to(device) if p["class_weighting"] else None
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        best = BestOnValidation(p["patience"])
        test = np.flatnonzero(data.mask("test"))
        seconds, test_predictions = [], []
        for epoch in range(1, p["epochs"] + 1):
            start = time.perf_counter()
            self.model.train()
            order = torch.as_tensor(train)[torch.randperm(len(train), generator=generator)]
            for idx in order.split(p["batch_size"]):
                idx = idx.to(device)
                train_step(self.model, optimizer, tuple(f[idx] for f in features), y[idx], class_weight)
            seconds.append(time.perf_counter() - start)
            score = macro_f1(data.y[val], self._outputs(tuple(f[val] for f in features))[0])
            if len(test):
                test_prob = self._outputs(tuple(f[test] for f in features))[0]
                test_predictions.append("".join("1" if q >= 0.5 else "0" for q in test_prob))
            if best.update(epoch, score, self.model):
                break
        best.restore(self.model)
        self.model.cpu().eval()
        return best.record() | {
            "epochs_run": len(seconds),
            "mean_train_epoch_seconds": round(float(np.mean(seconds)), 4),  # training pass, without val scoring
            "params": dict(p),
            "ablation": dict(self.ablation),
            "device": device.type,
            # label-free: each epoch's predicted class per test row ("1" fake), in row order, for the
            # authors' test-selected-epoch diagnostic (scripts/authors_epoch_selection.py); selection never reads it
            "test_predictions_by_epoch": test_predictions,
        }

    @torch.inference_mode()
    def _outputs(self, features: tuple) -> tuple[np.ndarray, np.ndarray | None]:
        """P(fake) and branch weights (zero for image and cross-modal where there is no image)."""
        self.model.eval()
        probs, weights = [], []
        for start in range(0, len(features[0]), INFERENCE_BATCH):
            batch = tuple(f[start : start + INFERENCE_BATCH] for f in features)
            logits, w = self.model(*batch)
            probs.append(torch.softmax(logits, dim=-1)[:, 1].cpu())
            if w is not None:
                has_image = batch[4]
                present = torch.stack(
                    [torch.ones_like(has_image) if b == "text" else has_image for b in self.model.branches], 1
                )
                weights.append((w * present).cpu())
        return torch.cat(probs).numpy(), torch.cat(weights).numpy() if weights else None

    def predict_proba(self, data: MethodInputs) -> np.ndarray:
        """P(fake) for every row."""
        return self._outputs(self._features(data))[0]

    def explain(self, data: MethodInputs) -> np.ndarray:
        """Per-row attention weights (N, len(branches)) over the branches in BRANCHES order; image
        and cross-modal weights are 0 for posts without an image (those branches are masked)."""
        if not self.ablation["use_attention"]:
            raise BadInput("mmfnd was trained with use_attention=False: there are no attention weights to explain")
        return self._outputs(self._features(data))[1]
