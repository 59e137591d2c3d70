"""GLPN-LLM: global label propagation with LLM pseudo labels.

Paper: "Synergizing LLMs with Global Label Propagation for Multimodal Fake News Detection",
arXiv:2506.00488. `GCNLPDetector` (gcn_lp) is the same network without LLM pseudo labels.

One transductive graph holds every post (train, val and test), linked by the cross-modal
similarity graph. Each node's input is its joint text-image embedding concatenated with a
two-column label feature (real, fake): the ground-truth one-hot for train nodes, the LLM's
pseudo label for the round(`pseudo_top_p` × n_test) most confident TEST nodes (the paper's
"top 5% ... for test samples"; fewer when fewer test nodes have an LLM score), zeros
elsewhere. Validation nodes never carry a pseudo label, so model selection on validation
never scores a node whose own input holds LLM output. A `layers`-deep GCN (default two;
the authors' code uses three) then propagates features and labels together, over the
similarity-weighted adjacency (`edge_weights=True`, the default) or the unweighted one
the authors' code builds (`edge_weights=False`).

Training uses a global random mask: every epoch a fresh `mask_rate` fraction of the train
nodes has its label feature zeroed, and the loss is taken on exactly those nodes, so no
node is trained on a prediction that saw its own label. `mask_rate = 0` is the "without
mask" ablation: every train node then sees its own label in its input (the GCN self loop)
and the loss is on all train nodes, which lets the model learn to copy the label feature
instead of reading the content; the ablation shows why the mask matters.

Validation labels are used for model selection only and never enter the label features;
test labels are hidden (-1) and never read: the fit record gives the number of test pseudo
labels and their mean LLM confidence, never their accuracy. `GCNLPDetector` is the same
model without LLM pseudo labels (GCN label propagation, FCN-LP-like).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.nn import GCNConv

from pipeline.models.inputs import MethodInputs
from pipeline.models.training import BestOnValidation, macro_f1, seed_everything
from pipeline.settings import check, positive, positive_ints, rates


@dataclass(frozen=True)
class GCNLPSettings:
    """Args. The paper summary gives no depth, width, dropout or optimiser setting; "ours"
    marks a choice of this implementation, "repo" the authors' TSCenter/GLPN-LLM main.py,
    which trains a 3-layer UniMP-style network (TransformerConv, 2 heads, LayerNorm, label
    reuse; hidden 64), Adam lr 0.001, weight decay 5e-4, 3,000 epochs, over an unweighted
    adjacency, keeping the best TEST epoch. `layers=3, edge_weights=False` gives the repo's
    depth and adjacency with plain GCNConv layers (no attention, LayerNorm or label reuse).
    hidden: width of each hidden GCN layer (64: repo).
    layers: number of GCNConv layers (2: ours, the classic Kipf-Welling GCN; repo: 3). The
        first maps [X ‖ L] to `hidden`, the last maps `hidden` to the two class logits.
    edge_weights: True weights each edge by its largest cross-modal similarity (ours; all
        weights lie in (θ, 1]). False is the repo's unweighted adjacency (every edge weight
        1), which is also what the paper summary describes: an edge exists when any
        similarity exceeds θ. Either way Â = D^-1/2 (A + I) D^-1/2.
    dropout: dropout after each hidden layer's ReLU (0.5: ours; the repo's UniMP uses 0.3
        inside its attention).
    lr, weight_decay: Adam's learning rate (0.01: ours; repo 0.001) and L2 penalty (5e-4:
        repo).
    epochs: at most this many full-graph epochs (200: ours; the repo runs 3,000).
    patience: stop after this many epochs without a better validation macro-F1 (ours: the
        repo keeps the best test epoch instead).
    mask_rate: the global random label mask: the fraction of train nodes whose label
        feature is hidden each epoch, and the loss is taken on (paper: 0.5; 0 = no mask).
    """

    hidden: int = 64
    dropout: float = 0.5
    lr: float = 0.01
    weight_decay: float = 5e-4
    epochs: int = 200
    patience: int = 30
    mask_rate: float = 0.5
    layers: int = 2
    edge_weights: bool = True

    def __post_init__(self):
        positive_ints(self, "hidden", "epochs", "patience", "layers")
        rates(self, "dropout", "mask_rate")
        positive("lr", self.lr)
        check(isinstance(self.edge_weights, bool), "edge_weights", self.edge_weights, "true or false")


@dataclass(frozen=True)
class GLPNSettings(GCNLPSettings):
    """GCNLPSettings, plus:
    pseudo_top_p: the fraction of TEST nodes given the LLM's pseudo label, the most
        confident first: round(pseudo_top_p × n_test) of them, or every test node the LLM
        scored if fewer are (paper: the top 5% of the test samples). Validation and train
        nodes never get one.
    use_pseudo_labels: False is the "without LLM pseudo labels" ablation.
    """

    pseudo_top_p: float = 0.05
    use_pseudo_labels: bool = True

    def __post_init__(self):
        super().__post_init__()
        rates(self, "pseudo_top_p")


def label_features(data: MethodInputs, top_p: float, use_pseudo: bool) -> np.ndarray:
    """(N, 2) float32 label features, columns (real, fake).

    Train rows: one-hot of their label. Test rows: the LLM pseudo label for the
    round(top_p × n_test) test rows with the highest confidence max(p, 1 - p) (see
    `pseudo_labels`). Zeros for every other row, every validation row included."""
    features = np.zeros((len(data), 2), np.float32)
    train = np.flatnonzero(data.mask("train"))
    features[train, data.y[train]] = 1.0
    if use_pseudo:
        for row, label in pseudo_labels(data, top_p).items():
            features[row, label] = 1.0
    return features


def pseudo_labels(data: MethodInputs, top_p: float) -> dict[int, int]:
    """{row: LLM label (1 fake, 0 real)} for the round(top_p × n_test) most confident TEST
    rows, confidence max(p, 1 - p) (ties: the earlier row). A test row the LLM did not score
    (NaN) is never chosen, so when fewer than round(top_p × n_test) test rows are scored,
    all the scored ones are. Train and validation rows are never chosen."""
    if data.llm_prob_fake is None:
        raise ValueError(
            "GLPN-LLM needs LLM pseudo labels (MethodInputs.llm_prob_fake is None); run the LLM stage or use gcn_lp"
        )
    if not 0.0 <= top_p <= 1.0:
        raise ValueError(f"pseudo_top_p must lie in [0, 1], got {top_p}")
    prob = np.asarray(data.llm_prob_fake, dtype=np.float64)
    test = np.flatnonzero(data.mask("test"))
    candidates = test[~np.isnan(prob[test])]
    confidence = np.maximum(prob[candidates], 1.0 - prob[candidates])
    chosen = candidates[np.argsort(-confidence, kind="stable")[: round(top_p * len(test))]]
    return {int(row): int(prob[row] > 0.5) for row in chosen}


def pseudo_label_record(data: MethodInputs, top_p: float, use_pseudo: bool) -> dict:
    """The fit record's account of the pseudo labels, from the LLM scores alone (no label is
    read, so no pseudo-label accuracy): how many test rows were asked for, how many got one,
    their mean confidence max(p, 1 - p), and a note when too few test rows were scored."""
    if not use_pseudo:
        return {"pseudo_labels_wanted": 0, "pseudo_label_mean_confidence": None}
    n_test = int(data.mask("test").sum())
    wanted = round(top_p * n_test)
    chosen = np.fromiter(pseudo_labels(data, top_p), dtype=np.int64)
    prob = np.asarray(data.llm_prob_fake, dtype=np.float64)[chosen]
    record = {
        "pseudo_labels_wanted": wanted,
        "pseudo_label_mean_confidence": round(float(np.maximum(prob, 1.0 - prob).mean()), 5) if len(chosen) else None,
    }
    if len(chosen) < wanted:
        record["pseudo_labels_note"] = (
            f"only {len(chosen)} of {n_test} test rows have an LLM score, fewer than the "
            f"{wanted} asked for (round({top_p} x {n_test})): all of them carry a pseudo label"
        )
    return record


def global_mask(train_idx: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """The train nodes whose label features are hidden this epoch: round(rate × n_train)
    of them drawn uniformly (at least one when rate > 0), none when rate = 0."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"mask_rate must lie in [0, 1], got {rate}")
    if rate == 0.0:
        return train_idx[:0]
    count = max(1, round(rate * len(train_idx)))
    return train_idx[torch.randperm(len(train_idx), generator=generator)[:count]]


@dataclass
class Graph:
    """Tensors of one transductive graph."""

    x: torch.Tensor  # (N, d) node features
    labels: torch.Tensor  # (N, 2) label features
    edge_index: torch.Tensor  # (2, E)
    edge_weight: torch.Tensor | None


def build_graph(data: MethodInputs, top_p: float, use_pseudo: bool, device: str, edge_weights: bool = True) -> Graph:
    """The transductive graph; `edge_weights=False` drops the similarity weights, so the GCN
    sees the unweighted adjacency (every edge weight 1)."""
    if data.clip_text is None or data.clip_image is None:
        raise ValueError("GLPN needs the joint text-image embeddings (MethodInputs.clip_text and clip_image are None)")
    if data.edge_index is None:
        raise ValueError("GLPN needs the similarity graph (MethodInputs.edge_index is None)")
    x = np.hstack([data.clip_text, data.clip_image]).astype(np.float32)
    weight = None
    if edge_weights and data.edge_weight is not None:
        weight = torch.as_tensor(data.edge_weight, dtype=torch.float32, device=device)
    return Graph(
        x=torch.as_tensor(x, device=device),
        labels=torch.as_tensor(label_features(data, top_p, use_pseudo), device=device),
        edge_index=torch.as_tensor(data.edge_index, dtype=torch.long, device=device),
        edge_weight=weight,
    )


class GLPN(torch.nn.Module):
    """`layers` GCNConv layers: [X ‖ L] -> hidden -> ... -> hidden -> 2 logits, ReLU and
    dropout after every layer but the last."""

    def __init__(self, in_dim: int, hidden: int = 64, dropout: float = 0.5, layers: int = 2):
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        widths = [in_dim + 2] + [hidden] * (layers - 1) + [2]
        self.convs = torch.nn.ModuleList(GCNConv(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.dropout = dropout

    def forward(self, graph: Graph, masked: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (N, 2). `masked`: train nodes whose label features are zeroed (a training
        step); None keeps every label feature (validation and prediction)."""
        labels = graph.labels
        if masked is not None and len(masked):
            labels = labels.clone()
            labels[masked] = 0.0  # L_i = 0 for i in M
        h = torch.cat([graph.x, labels], dim=1)  # H0 = [X ‖ L]
        # H_k = ReLU(Â H_k-1 W_k), Â = D^-1/2 (A + I) D^-1/2 with A the similarity weights,
        # or A binary when graph.edge_weight is None (edge_weights=False)
        for conv in self.convs[:-1]:
            h = F.relu(conv(h, graph.edge_index, graph.edge_weight))
            h = F.dropout(h, p=self.dropout, training=self.training)
        return self.convs[-1](h, graph.edge_index, graph.edge_weight)  # Z = Â H_K-1 W_K


class GLPNDetector:
    name = "glpn"
    Settings = GLPNSettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        self.seed, self.device = seed, device
        self.params = dataclasses.asdict(self.Settings(**settings))
        self.module: GLPN | None = None

    def graph(self, data: MethodInputs) -> Graph:
        p = self.params
        return build_graph(data, p["pseudo_top_p"], p["use_pseudo_labels"], self.device, p["edge_weights"])

    def fit(self, data: MethodInputs) -> dict:
        p = self.params
        train_idx = torch.as_tensor(np.flatnonzero(data.mask("train")))
        val = data.mask("val")
        if not len(train_idx) or not val.any():
            raise ValueError(
                f"{self.name}: need non-empty train and val splits (got {len(train_idx)} train, {val.sum()} val)"
            )
        generator = seed_everything(self.seed)
        graph = self.graph(data)
        y = torch.as_tensor(data.y, device=self.device)
        self.module = GLPN(graph.x.shape[1], p["hidden"], p["dropout"], p["layers"]).to(self.device)
        optimiser = torch.optim.Adam(self.module.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        best = BestOnValidation(p["patience"])
        test, test_predictions = data.mask("test"), []
        start = time.perf_counter()
        for epoch in range(p["epochs"]):
            masked = global_mask(train_idx, p["mask_rate"], generator).to(self.device)
            target = masked if len(masked) else train_idx.to(self.device)
            self.module.train()
            optimiser.zero_grad()
            F.cross_entropy(self.module(graph, masked)[target], y[target]).backward()
            optimiser.step()
            prob = self._prob(graph)
            test_predictions.append("".join("1" if q >= 0.5 else "0" for q in prob[test]))
            if best.update(epoch, macro_f1(data.y[val], prob[val]), self.module):
                break
        epochs_run = epoch + 1
        seconds = time.perf_counter() - start
        best.restore(self.module)
        self.module.cpu()
        carries = graph.labels.sum(1).cpu().numpy() > 0
        return best.record() | {
            "epochs_run": epochs_run,
            "seconds_per_epoch": round(seconds / epochs_run, 5),
            "params": dict(p),
            "nodes": len(data),
            "edges": int(graph.edge_index.shape[1]),
            "pseudo_labels": int(carries[data.mask("test")].sum()),  # test nodes with an LLM pseudo label
            **pseudo_label_record(data, p["pseudo_top_p"], p["use_pseudo_labels"]),
            "masked_per_epoch": len(global_mask(train_idx, p["mask_rate"], torch.Generator())),
            # label-free: each epoch's predicted class per test row ("1" fake), in row order, for the
            # authors' test-selected-epoch diagnostic (scripts/authors_epoch_selection.py); selection never reads it
            "test_predictions_by_epoch": test_predictions,
        }

    def _prob(self, graph: Graph) -> np.ndarray:
        self.module.eval()
        with torch.no_grad():
            return torch.softmax(self.module(graph), dim=1)[:, 1].cpu().numpy()

    def predict_proba(self, data: MethodInputs) -> np.ndarray:
        """P(fake) for every row: one forward with all train labels and pseudo labels visible."""
        if self.module is None:
            raise RuntimeError(f"{self.name}: fit before predict_proba")
        self.module.to(self.device)
        try:
            return self._prob(self.graph(data)).astype(np.float64)
        finally:
            self.module.cpu()


class GCNLPDetector(GLPNDetector):
    """GCN label propagation without LLM pseudo labels: GLPN with use_pseudo_labels=False."""

    name = "gcn_lp"
    Settings = GCNLPSettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        super().__init__(seed, device, **settings)
        self.params |= {"pseudo_top_p": 0.0, "use_pseudo_labels": False}
