"""LGCL + multi-view GMAE on tiny real graphs: relation paths batched exactly, gradients reach
every component, losses fall, feature learning reads no label, the SVM and the papers'
cross-validation protocol, and the LLM classes behind the negatives."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch as GraphBatch
from torch_geometric.data import Data

from pipeline.models.lgcl import (
    AMRBatch,
    LGCLDetector,
    LGCLEncoder,
    MultiViewGMAE,
    contrastive_targets,
    llm_classes,
    sce,
)

SMALL = dict(hidden=32, heads=2, layers=1, epochs=2, batch_size=8, gmae_hidden=32, gmae_epochs=2, cv_folds=3)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def data(graph_data):
    return graph_data


def propagation_batch(data):
    return GraphBatch.from_data_list([Data(x=g.x.float(), edge_index=g.edge_index) for g in data.propagation_graphs])


def train_checking_gradients(model, loss_fn, steps: int = 30) -> list[float]:
    """AdamW steps on loss_fn(); the first backward pass must reach every parameter."""
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for step in range(steps):
        loss = loss_fn()
        optimiser.zero_grad()
        loss.backward()
        if step == 0:
            for name, param in model.named_parameters():
                assert param.grad is not None and param.grad.abs().sum() > 0, name
        optimiser.step()
        losses.append(loss.item())
    return losses


def test_amr_batch_keeps_every_relation_path_and_pair(data):
    graphs = data.amr_graphs[:4]
    batch = AMRBatch(graphs, "cpu")
    paths = torch.cat([g.path_relations.long() for g in graphs])
    assert torch.equal(batch.distinct_paths[batch.path_index], paths)
    assert len(batch.distinct_paths) < len(paths)  # paths repeat: each distinct one is encoded once
    offsets = np.cumsum([0] + [g.num_nodes for g in graphs])
    pairs = torch.cat([g.path_pairs.long() + int(o) for g, o in zip(graphs, offsets)], dim=1)
    n_pairs = pairs.shape[1]
    assert torch.equal(batch.src[:n_pairs], pairs[0]) and torch.equal(batch.dst[:n_pairs], pairs[1])
    assert torch.equal(batch.src[n_pairs:], torch.arange(batch.num_nodes)) and torch.equal(
        batch.src[n_pairs:], batch.dst[n_pairs:]
    )
    # a pair never crosses articles
    assert torch.equal(batch.node_batch[batch.src], batch.node_batch[batch.dst])


def test_lgcl_loss_reaches_every_component_and_falls(data):
    torch.manual_seed(0)
    y_pos, y_neg, has_negative, _ = contrastive_targets(data)
    n_relations = max(int(g.path_relations.max()) + 1 for g in data.amr_graphs)
    model = LGCLEncoder(
        data.amr_graphs[0].x.shape[1], n_relations, y_pos.shape[1], hidden=32, heads=2, layers=2, dropout=0.0
    )
    batch = AMRBatch(data.amr_graphs[:8], "cpu")

    def loss():
        y = model.project(model(batch))
        return (sce(y, y_pos[:8], 2.0) + 0.5 * has_negative[:8] * torch.relu(1.0 - sce(y, y_neg[:8], 2.0))).mean()

    losses = train_checking_gradients(model, loss)
    assert losses[-1] < 0.7 * losses[0]


def test_gmae_loss_reaches_every_component_and_falls(data):
    torch.manual_seed(0)
    batch = propagation_batch(data)
    model = MultiViewGMAE(batch.x.shape[1], hidden=32)
    generator = torch.Generator().manual_seed(0)
    losses = train_checking_gradients(model, lambda: model.loss(batch, generator))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    assert model.embed(batch).shape == (len(data), 32)


def test_feature_learning_reads_no_label(data):
    """The SVM is the only step that sees labels: flipping every label (train and val; test
    ones are hidden anyway) leaves the learned features bit-identical, so no label of a
    held-out fold can reach them."""
    flipped = dataclasses.replace(data, y=np.where(data.y >= 0, 1 - data.y, data.y))
    a, b = LGCLDetector(seed=1, **SMALL), LGCLDetector(seed=1, **SMALL)
    a.fit(data)
    b.fit(flipped)
    assert np.array_equal(a.features(data), b.features(data))
    assert a.features(data).shape == (len(data), 64)


def test_training_with_two_threads_is_reproducible(data):
    """The relation-attention gathers use index_select: the backward of x[index] accumulates
    with several CPU threads in no fixed order, so two trainings used to differ."""
    torch.set_num_threads(2)  # the fixture restores the count
    features = []
    for _ in range(2):
        detector = LGCLDetector(seed=0, **(SMALL | {"epochs": 3, "batch_size": 16}), use_propagation=False)
        detector.fit(data)
        features.append(detector.features(data))
    assert np.array_equal(features[0], features[1])


def test_detector_record_and_predictions(data):
    detector = LGCLDetector(seed=0, **SMALL)
    record = detector.fit(data)
    assert record["selected"]["C"] in SMALL.get("C_grid", [0.001, 0.01, 0.1, 1.0])
    assert len(record["lgcl"]["loss_by_epoch"]) == 2 and len(record["gmae"]["loss_by_epoch"]) == 2
    cv = record["cross_validation"]
    assert cv["articles"] == int((data.y >= 0).sum()) and cv["folds"] == 3 and 0 <= cv["accuracy"]["mean"] <= 1
    prob = detector.predict_proba(data)
    assert prob.shape == (len(data),) and ((prob > 0) & (prob < 1)).all()
    assert np.array_equal(prob, pickle.loads(pickle.dumps(detector)).predict_proba(data))


@pytest.mark.parametrize("flags, width", [(dict(use_propagation=False), 32), (dict(use_lgcl=False), 32)])
def test_single_view_ablations(data, flags, width):
    detector = LGCLDetector(seed=0, **SMALL, **flags)
    record = detector.fit(data)
    assert record["features"] == width and ("gmae" in record) == flags.get("use_propagation", True)


def test_articles_without_graphs_get_zero_features(data):
    missing = dataclasses.replace(
        data, amr_graphs=[None] + data.amr_graphs[1:], propagation_graphs=[None] + data.propagation_graphs[1:]
    )
    detector = LGCLDetector(seed=0, **SMALL)
    record = detector.fit(missing)
    assert record["articles_without_amr_graph"] == record["articles_without_propagation_graph"] == 1
    assert not detector.features(missing)[0].any()


def test_llm_classes_prefer_zero_shot_then_scored_veracity(data):
    rows = dataclasses.replace(
        data,
        llm_zero_shot=np.array([1, 0, -1, -1] + [-1] * (len(data) - 4)),
        llm_prob_fake=np.array([0.1, 0.9, 0.7, np.nan] + [0.2] * (len(data) - 4)),
    )
    classes, counts = llm_classes(rows)
    assert classes[:4].tolist() == [1, 0, 1, -1]
    assert counts == {"zero_shot": 2, "scored_veracity": len(data) - 3, "none": 1}
    _, y_neg, has_negative, counts = contrastive_targets(rows)
    assert not has_negative[3] and not y_neg[3].any() and counts["without_negative"] == 1
    text = rows.text - rows.text.mean(0)
    np.testing.assert_allclose(y_neg[0].numpy(), text[classes == 0].mean(0), atol=1e-6)  # fake -> the real centroid
