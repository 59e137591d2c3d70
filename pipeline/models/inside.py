"""InSide: intent-semantic graphs with dual-level updates and pathway alignment.

Paper: "Bridging Thoughts and Words: Graph-Based Intent-Semantic Joint Learning for Fake News
Detection" (CIKM'25), arXiv:2509.01660.

Per article, two graphs:
- the semantic graph (stage graphs, `sentence_entity.pt`): sentence and entity nodes whose
  features are the text encoder's vectors, frozen by default with a learned Linear on top
  (`finetune_last_layer=True` trains the encoder's last layer as the paper does, see
  `pipeline/models/last_layer.py`; its cost on a CPU is in docs/performance.md), sentences
  linked within a sliding window (eq. 4), entities linked to the sentences that mention
  them (eq. 5);
- the intent graph: four coarse intent nodes (the LLM's belief, desire, plan and outcome
  paragraphs, embedded by the text encoder; `intent_embeddings.parquet`), linked to each
  other, each with `fine_per_coarse` learnable fine-grained intent nodes initialised by
  attention over the article's sentence nodes (eq. 7) and linked to their coarse node.

`depth` dual-level layers update both graphs: local message passing with learned sigmoid
edge weights from [h_s, h_t, |h_s - h_t|] (eq. 8-10), then a randomly initialised,
learnable super-root node per graph that takes a softmax-weighted sum of the graph's nodes
(eq. 11) and is fused back into every node with a gated residual (eq. 12). `pseudo_nodes`
pseudo nodes, fully connected to both graphs, align them: shared projections into a
common space (eq. 13), edge features from node type and direction (eq. 14), attention from
the pseudo nodes over all nodes, back to the nodes and again (eq. 15). Mean-pooled pseudo
nodes -> MLP -> cross-entropy (eq. 16-18).

Ablations as settings, as the paper's Table 3 defines them: use_entities=False drops the
entity nodes; use_window=False connects every pair of sentences (the paper's w/o Window:
"a fully connected approach for sentence connections"; built here, at train time, so the
graph stage is unchanged); use_fine_intents=False drops the fine intent nodes;
use_global=False drops the super-roots; use_alignment=False (w/o DPGA) replaces the
pseudo nodes with a direct, dense interaction between every semantic node and every
intent node, then the mean of all nodes (`DirectAlignment`). A missing intent paragraph is
a learnable "missing" vector (counted); an article without a semantic graph (no
sentences) gets one zero sentence node (counted).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import to_dense_batch

from pipeline.graphs.sentence_entity import MENTION, WINDOW
from pipeline.models.inputs import MethodInputs
from pipeline.models.last_layer import TrainableLastLayer
from pipeline.models.training import BestOnValidation, class_weights, macro_f1, seed_everything
from pipeline.progress import progress_bar
from pipeline.settings import positive, positive_ints, rates

SENTENCE, ENTITY, COARSE, FINE = range(4)
N_COARSE = 4


def scatter_mean(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    total = values.new_zeros(size, values.shape[1]).index_add_(0, index, values)
    count = values.new_zeros(size).index_add_(0, index, torch.ones_like(index, dtype=values.dtype))
    return total / count.clamp(min=1)[:, None]


def scatter_softmax(scores: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Softmax of `scores` (n,) within each group of `index` (n,) with `size` groups."""
    top = scores.new_full((size,), float("-inf")).scatter_reduce(0, index, scores.detach(), "amax")
    e = torch.exp(scores - top.index_select(0, index))
    return e / e.new_zeros(size).index_add_(0, index, e).index_select(0, index)


def all_pairs(nodes: torch.Tensor) -> torch.Tensor:
    """Every ordered pair of distinct `nodes`, as a (2, n(n-1)) edge index."""
    s, t = torch.meshgrid(nodes, nodes, indexing="ij")
    off_diagonal = s != t
    return torch.stack([s[off_diagonal], t[off_diagonal]])


class Batch:
    """A minibatch of articles: both graphs' nodes and edges concatenated, with `*_batch`
    giving each node's article (0..B-1); `texts` are the semantic nodes' texts, at positions
    `text_rows` (an article without a graph has one text-less zero node)."""

    def __init__(
        self,
        data: MethodInputs,
        rows: np.ndarray,
        fine_per_coarse: int,
        use_entities: bool,
        use_window: bool,
        use_fine: bool,
        device: str,
    ):
        xs, types, batch, edges, texts, text_rows = [], [], [], [], [], []
        offset = 0
        for b, row in enumerate(rows):
            g = data.sentence_graphs[row]
            if g is None:
                x, node_type, edge_index, edge_type = (
                    torch.zeros(1, data.intents.shape[2]),
                    torch.tensor([SENTENCE]),
                    torch.zeros(2, 0, dtype=torch.long),
                    torch.zeros(0, dtype=torch.long),
                )
            else:
                x, node_type, edge_index, edge_type = g.x, g.node_type, g.edge_index, g.edge_type
                node_text = list(getattr(g, "node_text", None) or [])
            keep_edge = torch.ones(edge_type.shape[0], dtype=torch.bool)
            if not use_window:
                keep_edge &= edge_type != WINDOW
            if not use_entities:
                keep_edge &= edge_type != MENTION
                if g is not None:
                    node_text = node_text[: g.num_sentences]  # sentences come first
                x, node_type = x[node_type == SENTENCE], node_type[node_type == SENTENCE]
            edge_index = edge_index[:, keep_edge]
            if not use_window:
                # the paper's w/o Window: the window edges give way to a full connection
                # of the sentences ("employs a fully connected approach for sentence
                # connections within the semantic graph", §4.3.1)
                edge_index = torch.cat([edge_index, all_pairs(torch.nonzero(node_type == SENTENCE)[:, 0])], dim=1)
            if g is not None:
                texts += node_text
                text_rows += range(offset, offset + len(node_text))
            xs.append(x)
            types.append(node_type)
            batch.append(torch.full((len(x),), b))
            edges.append(edge_index + offset)
            offset += len(x)
        self.size = len(rows)
        self.sem_x = torch.cat(xs).float().to(device)
        self.sem_type = torch.cat(types).long().to(device)
        self.sem_batch = torch.cat(batch).to(device)
        self.sem_edges = torch.cat(edges, dim=1).to(device)
        self.texts, self.text_rows = texts, torch.tensor(text_rows, dtype=torch.long, device=device)
        self.coarse_x = torch.as_tensor(data.intents[rows], dtype=torch.float32, device=device)  # (B, 4, d)
        self.coarse_present = torch.as_tensor(data.intent_mask[rows], device=device)  # (B, 4)
        # intent graph per article: coarse nodes 0..3 linked to each other, fine node 4 + c*k + j to coarse c
        k = fine_per_coarse if use_fine else 0
        per_article = N_COARSE + N_COARSE * k
        template = [(a, c) for a in range(N_COARSE) for c in range(N_COARSE) if a != c]
        for c in range(N_COARSE):
            for j in range(k):
                template += [(N_COARSE + c * k + j, c), (c, N_COARSE + c * k + j)]
        template = torch.tensor(template, dtype=torch.long).T
        self.int_edges = torch.cat([template + b * per_article for b in range(self.size)], dim=1).to(device)
        self.int_batch = torch.arange(self.size, device=device).repeat_interleave(per_article)
        self.int_type = torch.tensor([COARSE] * N_COARSE + [FINE] * (N_COARSE * k), device=device).repeat(self.size)


class DualLevelLayer(nn.Module):
    """Local message passing with learned edge weights, then super-root global passing."""

    def __init__(self, dim: int, use_global: bool, dropout: float):
        super().__init__()
        self.edge_gate = nn.Sequential(nn.Linear(3 * dim, dim), nn.ReLU(), nn.Linear(dim, 1))
        self.message, self.self_loop = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.use_global = use_global
        self.root_key = nn.Linear(dim, dim)  # eq. 11's W and b
        self.root_update, self.fuse = nn.Linear(2 * dim, dim), nn.Linear(2 * dim, dim)
        self.norm, self.dropout = nn.LayerNorm(dim), dropout

    def root_weights(self, h, batch, root):
        """Eq. 11's weights: each node's contribution to its graph's super-root, a linear map
        of the node scored against the root and softmax-normalised over the graph's nodes."""
        scores = (self.root_key(h) * root.index_select(0, batch)).sum(1) / math.sqrt(h.shape[1])
        return scatter_softmax(scores, batch, len(root))

    def forward(self, h, edges, batch, root):
        # index_select, not h[index]: on CPU the backward of h[index] adds into repeated rows
        # from several threads in no fixed order, so trainings would not repeat.
        s, t = edges
        h_s, h_t = h.index_select(0, s), h.index_select(0, t)
        e = torch.cat([h_s, h_t, (h_s - h_t).abs()], dim=1)  # eq. 8: edge feature
        w = torch.sigmoid(self.edge_gate(e))  # eq. 9: edge weight (an MLP where the paper has one linear map)
        m = scatter_mean(w * self.message(h_s), t, len(h))
        local = F.relu(self.self_loop(h) + m)  # eq. 10: weighted aggregation and update
        if self.use_global:
            weights = self.root_weights(local, batch, root)
            pooled = root.new_zeros(root.shape).index_add_(0, batch, weights[:, None] * local)
            root = torch.tanh(self.root_update(torch.cat([root, pooled], dim=1)))  # eq. 11: super-root update
            root_of_node = root.index_select(0, batch)
            gate = torch.sigmoid(self.fuse(torch.cat([local, root_of_node], dim=1)))
            local = local + gate * root_of_node  # eq. 12: residual fusion
        return self.norm(h + F.dropout(local, self.dropout, self.training)), root


class PathwayAlignment(nn.Module):
    """Pseudo nodes fully connected to both graphs; edges carry (node type, direction)."""

    def __init__(self, dim: int, pseudo_nodes: int):
        super().__init__()
        self.pseudo = nn.Parameter(torch.randn(pseudo_nodes, dim) / math.sqrt(dim))
        self.edge = nn.Embedding(4 * 2, dim)  # node type x direction (0: node -> pseudo, 1: pseudo -> node)
        self.q_in, self.k_in, self.v_in = (nn.Linear(dim, dim) for _ in range(3))
        self.q_out, self.k_out, self.v_out = (nn.Linear(dim, dim) for _ in range(3))
        self.scale = 1.0 / math.sqrt(dim)

    def gather(self, p, h, e_in, mask):
        # eq. 13: k_in and v_in, shared by both graphs' nodes, are the common space
        scores = self.q_in(p) @ (self.k_in(h) + e_in).transpose(1, 2) * self.scale
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        return p + torch.softmax(scores, dim=-1) @ (self.v_in(h) + e_in)  # eq. 15: attention update

    def forward(self, h, types, mask):
        """h (B, L, d) nodes of both graphs, types (B, L), mask (B, L) -> pseudo nodes (B, P, d)."""
        # eq. 14: the edge feature of (node type, direction), an embedding = a linear map of the one-hots
        e_in, e_out = self.edge(types * 2), self.edge(types * 2 + 1)
        p = self.gather(self.pseudo.expand(len(h), -1, -1), h, e_in, mask)
        scores = (self.q_out(h) + e_out) @ self.k_out(p).transpose(1, 2) * self.scale  # eq. 15, pseudo -> nodes
        h = h + torch.softmax(scores, dim=-1) @ self.v_out(p)
        return self.gather(p, h, e_in, mask)


class DirectAlignment(nn.Module):
    """The paper's w/o DPGA ablation (§4.3.2): no pseudo nodes; "directly connecting the nodes
    in the intent and semantic graphs, followed by a fully connected interaction between
    them" (§3.5: "directly connect the nodes in the intent and semantic graphs and perform
    interaction between each node"). Every semantic node attends over all of its article's
    intent nodes and every intent node over all of its semantic nodes, at once (one dense
    bipartite round of the same edge-featured attention as `PathwayAlignment`, the key's
    node type standing for the edge's type and direction), then the readout is the mean of
    all nodes, there being no pseudo nodes to pool."""

    def __init__(self, dim: int):
        super().__init__()
        self.edge = nn.Embedding(4, dim)  # source node type; in a bipartite graph it fixes the direction
        self.q, self.k, self.v = (nn.Linear(dim, dim) for _ in range(3))
        self.scale = 1.0 / math.sqrt(dim)

    def interact(self, h, types, mask):
        """h (B, L, d), types (B, L), mask (B, L) -> h after the cross-graph pass (B, L, d)."""
        intent = types >= COARSE
        # a node attends to the other graph's nodes; padding attends to every real node, so
        # that its row stays finite (it is left out of the readout)
        allowed = mask[:, None, :] & ((intent[:, :, None] != intent[:, None, :]) | ~mask[:, :, None])
        e = self.edge(types)
        scores = self.q(h) @ (self.k(h) + e).transpose(1, 2) * self.scale
        scores = scores.masked_fill(~allowed, float("-inf"))
        return h + torch.softmax(scores, dim=-1) @ (self.v(h) + e)

    def forward(self, h, types, mask):
        """-> the mean of each article's nodes after the interaction (B, d)."""
        h = self.interact(h, types, mask) * mask[..., None]
        return h.sum(1) / mask.sum(1, keepdim=True)


class InSide(nn.Module):
    def __init__(
        self,
        in_dim: int,
        hidden: int = 256,
        depth: int = 3,
        fine_per_coarse: int = 4,
        pseudo_nodes: int = 4,
        dropout: float = 0.2,
        use_fine_intents: bool = True,
        use_global: bool = True,
        use_alignment: bool = True,
        text_layer: TrainableLastLayer | None = None,
    ):
        super().__init__()
        self.text_layer = text_layer  # None: the graphs' frozen vectors
        self.k = fine_per_coarse if use_fine_intents else 0
        self.use_alignment = use_alignment
        self.sem_proj, self.int_proj = nn.Linear(in_dim, hidden), nn.Linear(in_dim, hidden)
        self.type_emb = nn.Embedding(4, hidden)
        self.coarse_emb = nn.Embedding(N_COARSE, hidden)  # which perspective a coarse node is
        self.missing_intent = nn.Parameter(torch.zeros(hidden))
        self.fine_queries = nn.Parameter(torch.randn(N_COARSE, max(self.k, 1), hidden) / math.sqrt(hidden))
        self.fine_key = nn.Linear(hidden, hidden)
        # initial super-roots (semantic, intent), randomly initialised as in the paper, on the
        # scale of the LayerNorm-ed nodes
        self.roots = nn.Parameter(torch.randn(2, hidden))
        self.sem_layers = nn.ModuleList(DualLevelLayer(hidden, use_global, dropout) for _ in range(depth))
        self.int_layers = nn.ModuleList(DualLevelLayer(hidden, use_global, dropout) for _ in range(depth))
        self.alignment = PathwayAlignment(hidden, pseudo_nodes) if use_alignment else DirectAlignment(hidden)
        self.classifier = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 2))

    def intent_nodes(self, batch: Batch, sentences: torch.Tensor) -> torch.Tensor:
        coarse = torch.where(batch.coarse_present[..., None], self.int_proj(batch.coarse_x), self.missing_intent)
        coarse = coarse + self.coarse_emb.weight  # (B, 4, d)
        if not self.k:
            return coarse.reshape(-1, coarse.shape[-1])
        s, s_mask = sentences  # (B, L, d), (B, L)
        queries = (self.fine_queries[None] + coarse[:, :, None]).reshape(batch.size, -1, s.shape[-1])  # (B, 4k, d)
        scores = queries @ self.fine_key(s).transpose(1, 2) / math.sqrt(s.shape[-1])
        fine = torch.softmax(scores.masked_fill(~s_mask[:, None], float("-inf")), dim=-1) @ s  # eq. 7
        return torch.cat([coarse, fine], dim=1).reshape(-1, s.shape[-1])

    def node_features(self, batch: Batch) -> torch.Tensor:
        if self.text_layer is None:
            return batch.sem_x
        return batch.sem_x.index_copy(0, batch.text_rows, self.text_layer(batch.texts))

    def forward(self, batch: Batch) -> torch.Tensor:
        h_sem = self.sem_proj(self.node_features(batch)) + self.type_emb(batch.sem_type)
        is_sentence = batch.sem_type == SENTENCE
        sentences = to_dense_batch(h_sem[is_sentence], batch.sem_batch[is_sentence], batch_size=batch.size)
        h_int = self.intent_nodes(batch, sentences) + self.type_emb(batch.int_type)
        root_sem = self.roots[0].expand(batch.size, -1)
        root_int = self.roots[1].expand(batch.size, -1)
        for sem_layer, int_layer in zip(self.sem_layers, self.int_layers):
            h_sem, root_sem = sem_layer(h_sem, batch.sem_edges, batch.sem_batch, root_sem)
            h_int, root_int = int_layer(h_int, batch.int_edges, batch.int_batch, root_int)
        h = torch.cat([h_sem, h_int])
        owner = torch.cat([batch.sem_batch, batch.int_batch])
        order = torch.argsort(owner, stable=True)
        nodes, mask = to_dense_batch(h[order], owner[order], batch_size=batch.size)
        types, _ = to_dense_batch(
            torch.cat([batch.sem_type, batch.int_type])[order], owner[order], batch_size=batch.size
        )
        if self.use_alignment:
            pooled = self.alignment(nodes, types, mask).mean(1)  # eq. 16: mean of the pseudo nodes
        else:
            pooled = self.alignment(nodes, types, mask)  # w/o DPGA: mean of all nodes after direct interaction
        return self.classifier(pooled)  # eq. 17


@dataclass(frozen=True)
class InSideSettings:
    """Args:
    hidden: node width in both graphs.
    depth: dual-level layers.
    fine_per_coarse: learnable fine intent nodes per coarse intent.
    pseudo_nodes: pseudo nodes of the pathway alignment.
    dropout: dropout in the layers.
    lr, weight_decay: AdamW's learning rate and weight decay.
    epochs: at most this many epochs.
    patience: stop after this many epochs without a better validation macro-F1.
    batch_size: articles per mini-batch.
    finetune_last_layer: train the text encoder's last layer on the sentence and entity
        nodes, as the paper does (§4.1), instead of using the graphs' frozen vectors.
    text_encoder: that encoder (embed.text's name); it must reproduce the graphs' vectors.
    encoder_lr: the learning rate of that layer (the paper's value is not legible in our
        copy; 2e-5 is the usual rate for fine-tuning BERT).
    use_entities, use_window, use_fine_intents, use_global, use_alignment: False gives the
        paper's ablation of that component (w/o Entity, w/o Window = sentences fully
        connected, w/o fine intents, w/o Global, w/o DPGA = direct semantic-intent
        interaction in place of the pseudo nodes).
    """

    hidden: int = 256
    depth: int = 3
    fine_per_coarse: int = 4
    pseudo_nodes: int = 4
    dropout: float = 0.2
    lr: float = 5e-4
    weight_decay: float = 1e-2
    epochs: int = 40
    patience: int = 10
    batch_size: int = 32
    finetune_last_layer: bool = False
    text_encoder: str = "minilm"
    encoder_lr: float = 2e-5
    use_entities: bool = True
    use_window: bool = True
    use_fine_intents: bool = True
    use_global: bool = True
    use_alignment: bool = True

    def __post_init__(self):
        positive_ints(self, "hidden", "depth", "fine_per_coarse", "pseudo_nodes", "epochs", "patience", "batch_size")
        rates(self, "dropout")
        positive("lr", self.lr)
        positive("encoder_lr", self.encoder_lr)


class InSideDetector:
    name = "inside"
    Settings = InSideSettings

    def __init__(self, seed: int = 0, device: str = "cpu", **settings):
        self.seed, self.device = seed, device
        self.params = dataclasses.asdict(InSideSettings(**settings))
        self.module: InSide | None = None

    def _batch(self, data: MethodInputs, rows: np.ndarray) -> Batch:
        p = self.params
        return Batch(
            data, rows, p["fine_per_coarse"], p["use_entities"], p["use_window"], p["use_fine_intents"], self.device
        )

    def _check(self, data: MethodInputs) -> None:
        if data.sentence_graphs is None or data.intents is None:
            raise ValueError(
                "InSide needs sentence-entity graphs and intent vectors (run the graphs and intents stages)"
            )
        if self.params["finetune_last_layer"] and any(
            g is not None and getattr(g, "node_text", None) is None for g in data.sentence_graphs
        ):
            raise ValueError(
                "finetune_last_layer needs the node texts, which sentence graphs built before 2026-12-05 lack: "
                "re-run the article_graphs stage"
            )

    def _text_layer(self, data: MethodInputs) -> TrainableLastLayer:
        """The trainable last layer, with the frozen layers' states of every node text, checked
        against the first graphs' stored vectors."""
        layer = TrainableLastLayer(self.params["text_encoder"], self.device)
        graphs = [g for g in data.sentence_graphs if g is not None]
        layer.prepare([t for g in graphs for t in g.node_text])
        for g in graphs[:4]:
            layer.check_reproduces(list(g.node_text), g.x)
        return layer

    def fit(self, data: MethodInputs) -> dict:
        self._check(data)
        p = self.params
        train, val = np.flatnonzero(data.mask("train")), data.mask("val")
        loading = time.perf_counter()
        text_layer = self._text_layer(data) if p["finetune_last_layer"] else None
        frozen_seconds = time.perf_counter() - loading
        generator = seed_everything(self.seed)  # after loading the encoder, which draws random numbers
        self.module = InSide(
            data.intents.shape[2],
            p["hidden"],
            p["depth"],
            p["fine_per_coarse"],
            p["pseudo_nodes"],
            p["dropout"],
            p["use_fine_intents"],
            p["use_global"],
            p["use_alignment"],
            text_layer,
        ).to(self.device)
        optimiser = torch.optim.AdamW(self._parameter_groups(), lr=p["lr"], weight_decay=p["weight_decay"])
        weight = class_weights(data.y[train]).to(self.device)
        best = BestOnValidation(p["patience"])
        start = time.perf_counter()
        bar = progress_bar(range(p["epochs"]), desc=f"inside seed {self.seed}", unit="epoch", leave=False)
        for epoch in bar:
            self.module.train()
            order = train[torch.randperm(len(train), generator=generator).numpy()]
            for first in range(0, len(order), p["batch_size"]):
                rows = order[first : first + p["batch_size"]]
                optimiser.zero_grad()
                loss = F.cross_entropy(  # eq. 18, class-weighted
                    self.module(self._batch(data, rows)),
                    torch.as_tensor(data.y[rows], device=self.device),
                    weight=weight,
                )
                loss.backward()
                optimiser.step()
            stop = best.update(epoch, macro_f1(data.y[val], self._prob(data, val)), self.module)
            bar.set_postfix(val_macro_f1=best.history[-1])
            if stop:
                break
        bar.close()
        epochs_run = epoch + 1
        seconds = time.perf_counter() - start
        best.restore(self.module)
        self.module.cpu()
        return best.record() | {
            "epochs_run": epochs_run,
            "seconds_per_epoch": round(seconds / epochs_run, 4),
            "params": dict(p),
            "frozen_encoder_seconds": round(frozen_seconds, 2) if text_layer else None,
            "articles_without_semantic_graph": int(sum(g is None for g in data.sentence_graphs)),
            "missing_intent_paragraphs": int((~data.intent_mask).sum()),
        }

    def _parameter_groups(self) -> list[dict]:
        """The encoder's layer at encoder_lr, everything else at lr."""
        layer = self.module.text_layer
        tuned = [] if layer is None else list(layer.parameters())
        tuned_ids = {id(q) for q in tuned}
        rest = [q for q in self.module.parameters() if id(q) not in tuned_ids]
        groups = [{"params": rest, "lr": self.params["lr"]}]
        return groups + ([{"params": tuned, "lr": self.params["encoder_lr"]}] if tuned else [])

    def _prob(self, data: MethodInputs, rows: np.ndarray) -> np.ndarray:
        """P(fake) of `rows` (a boolean mask or indices), in batches of 64 articles."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        self.module.eval()
        with torch.no_grad():
            return np.concatenate(
                [
                    torch.softmax(self.module(self._batch(data, rows[i : i + 64])), dim=1)[:, 1].cpu().numpy()
                    for i in range(0, len(rows), 64)
                ]
            )

    def predict_proba(self, data: MethodInputs) -> np.ndarray:
        if self.module is None:
            raise RuntimeError("inside: fit before predict_proba")
        self._check(data)
        self.module.to(self.device)
        if self.module.text_layer is not None:  # texts not seen in training (fnd predict) get their states
            self.module.text_layer.prepare([t for g in data.sentence_graphs if g is not None for t in g.node_text])
        try:
            return self._prob(data, np.arange(len(data))).astype(np.float64)
        finally:
            self.module.cpu()
