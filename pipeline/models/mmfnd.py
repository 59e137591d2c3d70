"""MMFND: multimodal fake news detection with CLIP cross-modal features, progressive layered
extraction (PLE) multi-task experts and squeeze-and-excitation (SE) attention over modalities.

Paper: "Multi-Task Network Guided Multimodal Fusion for Fake News Detection", Ma, Zhang, Liu and
Zhang (ACML; no arXiv version). Authors' code: github.com/diga7654321/MMFND.

The paper's idea: a post is judged from three views, its text, its image and how well the two
agree. Unimodal features (a text encoder, an image CNN) each get concatenated with the
matching CLIP vector; the cross-modal feature comes from the CLIP pair and is re-weighted by
how similar CLIP finds text and image (normalised cosine -> sigmoid), so an unusual
text-image match is turned up or down. A PLE expert network with shared experts and
task-specific expert groups for a unimodal task and a cross-modal task refines the views;
SE attention weighs the three views per post before a small classifier.

Inputs here (`MethodInputs`) stand in for the paper's encoders: `text` is MiniLM (384-d, for
BERT), `image` is EfficientNet-Lite0 (1280-d, for ResNet/VGG), `clip_text`/`clip_image` are
joint vectors of up to 128 dimensions (a CCA alignment of the two, for CLIP ViT-B/32; it
keeps only the components the train pairs support) unless open_clip was configured. Posts
without an image have zero image vectors; `has_image` is used as a mask that zeroes the
image branch and the cross-modal branch for them (before and after the experts), so they
are classified from the text alone, and their similarity is left out of the running
statistics.

The encoders are frozen and their outputs cached by the embed stage, so training runs over
in-memory feature tensors; the published code re-encodes every batch through BERT/ResNet/CLIP
every epoch (benchmarks/mmfnd_epoch.py measures the difference).
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
from pipeline.settings import positive, positive_ints, rates

BRANCHES = ("text", "image", "cross_modal")
INFERENCE_BATCH = 1024


def mlp(d_in: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_out), nn.ReLU(), nn.Dropout(dropout))


class SimilarityWeight(nn.Module):
    """w = sigmoid((cos(clip_text, clip_image) - mu) / sqrt(var + eps)).

    mu and var are BatchNorm-style statistics without affine parameters, over rows with an
    image: batch statistics in training (updating running buffers with `momentum`), the
    running buffers in eval (and for training batches with fewer than two images)."""

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_mean", torch.zeros(()))
        self.register_buffer("running_var", torch.ones(()))

    def forward(self, clip_text: torch.Tensor, clip_image: torch.Tensor, has_image: torch.Tensor) -> torch.Tensor:
        cos = F.cosine_similarity(clip_text, clip_image, dim=-1)
        seen = cos[has_image]
        if self.training and seen.numel() > 1:
            mean, var = seen.mean(), seen.var(unbiased=False)
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(seen.var(unbiased=True), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return torch.sigmoid((cos - mean) / torch.sqrt(var + self.eps))


class PLE(nn.Module):
    """One extraction level with shared experts and one expert group per task.

    For task k and input x: g_k = softmax(W_k x) over [task-k experts, shared experts],
    r_k = sum_i g_k,i E_i(x). The unimodal task's experts and gate serve both the text and
    the image branch; the cross-modal task's serve the cross-modal branch."""

    def __init__(self, hidden: int, num_experts: int, dropout: float, tasks=("unimodal", "cross_modal")):
        super().__init__()
        self.shared = nn.ModuleList(mlp(hidden, hidden, dropout) for _ in range(num_experts))
        self.experts = nn.ModuleDict(
            {task: nn.ModuleList(mlp(hidden, hidden, dropout) for _ in range(num_experts)) for task in tasks}
        )
        self.gates = nn.ModuleDict({task: nn.Linear(hidden, 2 * num_experts) for task in tasks})

    def forward(self, x: torch.Tensor, task: str) -> torch.Tensor:
        outputs = torch.stack([expert(x) for expert in (*self.experts[task], *self.shared)], dim=1)  # (B, 2K, H)
        gate = torch.softmax(self.gates[task](x), dim=-1)  # (B, 2K)
        return (gate.unsqueeze(-1) * outputs).sum(dim=1)


class BranchSE(nn.Module):
    """SE attention over branches: s_b = mean_j z_bj (squeeze), a = sigmoid(W2 ReLU(W1 s))
    (excite). With three branches there is nothing to reduce, so W1 widens to `hidden`."""

    def __init__(self, branches: int = len(BRANCHES), hidden: int = 16):
        super().__init__()
        self.excite = nn.Sequential(nn.Linear(branches, hidden), nn.ReLU(), nn.Linear(hidden, branches), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.excite(z.mean(dim=-1))  # (B, branches)


class MMFNDNet(nn.Module):
    def __init__(
        self,
        text_dim: int,
        image_dim: int,
        clip_dim: int,
        hidden: int = 256,
        num_experts: int = 3,
        dropout: float = 0.2,
        use_ple: bool = True,
        use_similarity_weighting: bool = True,
        use_attention: bool = True,
    ):
        super().__init__()
        self.text_proj = mlp(text_dim + clip_dim, hidden, dropout)
        self.image_proj = mlp(image_dim + clip_dim, hidden, dropout)
        # Cross-modal feature: a projection of the concatenated CLIP pair [ct; cv] (an elementwise
        # product ct * cv would mostly repeat what the similarity weight already carries).
        self.cross_proj = mlp(2 * clip_dim, hidden, dropout)
        self.similarity = SimilarityWeight() if use_similarity_weighting else None
        if use_ple:
            self.ple = PLE(hidden, num_experts, dropout)
        else:
            self.branch_mlp = nn.ModuleDict({b: mlp(hidden, hidden, dropout) for b in BRANCHES})
        self.use_ple = use_ple
        self.attention = BranchSE() if use_attention else None
        self.classifier = nn.Sequential(
            nn.Linear(len(BRANCHES) * hidden, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 2)
        )

    def _refine(self, h_t, h_v, c):
        if self.use_ple:
            return self.ple(h_t, "unimodal"), self.ple(h_v, "unimodal"), self.ple(c, "cross_modal")
        return self.branch_mlp["text"](h_t), self.branch_mlp["image"](h_v), self.branch_mlp["cross_modal"](c)

    def forward(self, text, image, clip_text, clip_image, has_image):
        """Returns (logits (B, 2), branch attention weights (B, 3) or None)."""
        m = has_image.unsqueeze(-1).to(text.dtype)
        h_t = self.text_proj(torch.cat([text, clip_text], dim=-1))  # h_t = ReLU(W_t [t; ct])
        h_v = self.image_proj(torch.cat([image, clip_image], dim=-1)) * m  # h_v = ReLU(W_v [v; cv]) * m
        c = self.cross_proj(torch.cat([clip_text, clip_image], dim=-1)) * m  # c = ReLU(W_c [ct; cv]) * m
        if self.similarity is not None:
            c = c * self.similarity(clip_text, clip_image, has_image).unsqueeze(-1)  # c = w(ct, cv) * c
        b_t, b_v, b_c = self._refine(h_t, h_v, c)
        z = torch.stack([b_t, b_v * m, b_c * m], dim=1)  # (B, 3, H)
        weights = None
        if self.attention is not None:
            weights = self.attention(z)
            z = z * weights.unsqueeze(-1)  # z_b = a_b * z_b
        return self.classifier(z.flatten(1)), weights  # concatenated branches


def train_step(
    model: MMFNDNet, optimizer: torch.optim.Optimizer, batch: tuple, y: torch.Tensor, class_weight: torch.Tensor
) -> float:
    """One optimisation step on a batch (text, image, clip_text, clip_image, has_image)."""
    logits, _ = model(*batch)
    loss = F.cross_entropy(logits, y, weight=class_weight)
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
    """Args:
    hidden: width of every branch and expert.
    num_experts: experts per PLE group (shared, unimodal task, cross-modal task).
    dropout: dropout in the branch and expert layers.
    lr, weight_decay: Adam's learning rate and L2 penalty.
    batch_size: training mini-batch.
    epochs: at most this many epochs.
    patience: stop after this many epochs without a better validation macro-F1.
    use_ple: False replaces the PLE network by one MLP per view (the "w/o PLE" ablation).
    use_similarity_weighting: False drops the CLIP-similarity weight of the cross-modal feature.
    use_attention: False averages the three views instead of SE attention.
    """

    hidden: int = 256
    num_experts: int = 3
    dropout: float = 0.2
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    epochs: int = 100
    patience: int = 15
    use_ple: bool = True
    use_similarity_weighting: bool = True
    use_attention: bool = True

    def __post_init__(self):
        positive_ints(self, "hidden", "num_experts", "batch_size", "epochs", "patience")
        rates(self, "dropout")
        positive("lr", self.lr)


ABLATION_FLAGS = ("use_ple", "use_similarity_weighting", "use_attention")


class MMFNDDetector:
    """Trains MMFNDNet on the train rows, keeps the epoch with the best validation macro-F1."""

    name = "mmfnd"
    Settings = MMFNDSettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        self.seed, self.device = seed, device
        values = dataclasses.asdict(MMFNDSettings(**settings))
        self.ablation = {flag: values.pop(flag) for flag in ABLATION_FLAGS}
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
            p["dropout"],
            **self.ablation,
        ).to(device)
        features = tuple(f.to(device) for f in features)
        y = torch.tensor(data.y).to(device)
        class_weight = balanced_class_weight(data.y[train]).to(device)
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        best = BestOnValidation(p["patience"])
        seconds = []
        for epoch in range(1, p["epochs"] + 1):
            start = time.perf_counter()
            self.model.train()
            order = torch.as_tensor(train)[torch.randperm(len(train), generator=generator)]
            for idx in order.split(p["batch_size"]):
                idx = idx.to(device)
                train_step(self.model, optimizer, tuple(f[idx] for f in features), y[idx], class_weight)
            seconds.append(time.perf_counter() - start)
            score = macro_f1(data.y[val], self._outputs(tuple(f[val] for f in features))[0])
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
                present = torch.stack([torch.ones_like(batch[4]), batch[4], batch[4]], dim=1)
                weights.append((w * present).cpu())
        return torch.cat(probs).numpy(), torch.cat(weights).numpy() if weights else None

    def predict_proba(self, data: MethodInputs) -> np.ndarray:
        """P(fake) for every row."""
        return self._outputs(self._features(data))[0]

    def explain(self, data: MethodInputs) -> np.ndarray:
        """Per-row SE attention weights (N, 3) over (text, image, cross_modal); image and
        cross-modal weights are 0 for posts without an image (those branches are masked)."""
        if not self.ablation["use_attention"]:
            raise BadInput("mmfnd was trained with use_attention=False: there are no attention weights to explain")
        return self._outputs(self._features(data))[1]
