"""GLPN-LLM: no label leakage through the mask, honest pseudo labels, training on a real slice."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import torch

from pipeline.models.glpn import (
    GLPN,
    GCNLPDetector,
    GLPNDetector,
    Graph,
    global_mask,
    label_features,
    pseudo_labels,
)
from pipeline.models.inputs import HIDDEN, MethodInputs, hide_test_labels
from pipeline.settings import ParamsError

FAST = dict(epochs=5, hidden=16)

pytestmark = pytest.mark.usefixtures("one_thread")


def synthetic_inputs(n: int = 60, seed: int = 0) -> MethodInputs:
    """Random unit vectors, a random symmetric graph and a random LLM with some NaN rows."""
    rng = np.random.default_rng(seed)
    split = np.array(["train"] * (n // 2) + ["val"] * (n // 6) + ["test"] * (n - n // 2 - n // 6))
    y = hide_test_labels(split, rng.integers(0, 2, n))

    def unit(d):
        v = rng.normal(size=(n, d)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    src = rng.integers(0, n, 4 * n)
    dst = rng.integers(0, n, 4 * n)
    keep = src != dst
    edge_index = np.stack([np.concatenate([src[keep], dst[keep]]), np.concatenate([dst[keep], src[keep]])])
    llm = rng.uniform(0, 1, n)
    llm[rng.choice(n, n // 10, replace=False)] = np.nan
    return MethodInputs(
        ids=[str(i) for i in range(n)],
        split=split,
        y=y,
        text=unit(8),
        clip_text=unit(8),
        clip_image=unit(8),
        edge_index=edge_index,
        edge_weight=rng.uniform(0.95, 1.0, edge_index.shape[1]).astype(np.float32),
        llm_prob_fake=llm,
    )


def training_step_logits(detector: GLPNDetector, data: MethodInputs, masked: list[int]) -> torch.Tensor:
    """The logits of a training-step forward (train mode, fixed dropout draw)."""
    detector.module.train()
    torch.manual_seed(0)
    with torch.no_grad():
        return detector.module(detector.graph(data), torch.tensor(masked))


def flip_label(data: MethodInputs, row: int) -> MethodInputs:
    y = data.y.copy()
    y[row] = 1 - y[row]
    return dataclasses.replace(data, y=y)


def test_masked_train_node_never_sees_its_own_label():
    data = synthetic_inputs()
    detector = GLPNDetector(**FAST)
    detector.fit(data)
    node, other = 3, 7
    flipped = flip_label(data, node)
    masked_before = training_step_logits(detector, data, [node, other])
    masked_after = training_step_logits(detector, flipped, [node, other])
    assert torch.equal(masked_before[node], masked_after[node])
    # The same change reaches the node when it is not masked: the test has power.
    visible_before = training_step_logits(detector, data, [other])
    visible_after = training_step_logits(detector, flipped, [other])
    assert not torch.allclose(visible_before[node], visible_after[node])


def test_unlabelled_rows_get_pseudo_labels_only():
    data = synthetic_inputs()
    top_p = 0.3
    features = label_features(data, top_p, use_pseudo=True)
    chosen = pseudo_labels(data, top_p)
    train = data.mask("train")
    assert (features[train].argmax(1) == data.y[train]).all() and (features[train].sum(1) == 1).all()
    for row in np.flatnonzero(~train):
        expected = np.eye(2, dtype=np.float32)[chosen[row]] if row in chosen else np.zeros(2, np.float32)
        assert (features[row] == expected).all()
    assert (data.y[data.mask("test")] == HIDDEN).all()
    # Validation labels never enter the label features.
    val_flipped = data.y.copy()
    val_flipped[data.mask("val")] = 1 - val_flipped[data.mask("val")]
    assert (label_features(dataclasses.replace(data, y=val_flipped), top_p, use_pseudo=True) == features).all()
    # Without pseudo labels, unlabelled rows carry nothing.
    assert (label_features(data, top_p, use_pseudo=False)[~train] == 0).all()


def test_llm_values_outside_the_top_p_change_nothing():
    data = synthetic_inputs()
    detector = GLPNDetector(pseudo_top_p=0.3, **FAST)
    detector.fit(data)
    chosen = pseudo_labels(data, 0.3)
    weakest = min(max(data.llm_prob_fake[r], 1 - data.llm_prob_fake[r]) for r in chosen)
    llm = data.llm_prob_fake.copy()
    others = np.array([r for r in np.flatnonzero(~data.mask("train")) if r not in chosen and not np.isnan(llm[r])])
    llm[others] = 0.5 + np.random.default_rng(1).uniform(-1, 1, len(others)) * (weakest - 0.5) * 0.99
    changed = dataclasses.replace(data, llm_prob_fake=llm)
    assert not np.allclose(llm[others], data.llm_prob_fake[others])
    assert (label_features(changed, 0.3, use_pseudo=True) == label_features(data, 0.3, use_pseudo=True)).all()
    assert np.array_equal(detector.predict_proba(changed), detector.predict_proba(data))


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.25, 0.5, 0.9])
def test_mask_rate_is_honoured(rate):
    train_idx = torch.arange(0, 200, 2)  # train nodes interleaved with others
    generator = torch.Generator().manual_seed(0)
    first, second = global_mask(train_idx, rate, generator), global_mask(train_idx, rate, generator)
    for masked in (first, second):
        assert len(masked) == max(1, round(rate * len(train_idx)))
        assert len(set(masked.tolist())) == len(masked)
        assert set(masked.tolist()) <= set(train_idx.tolist())
    assert set(first.tolist()) != set(second.tolist())


def test_mask_rate_zero_masks_nothing_and_bad_rates_fail():
    assert len(global_mask(torch.arange(10), 0.0, torch.Generator())) == 0
    assert len(global_mask(torch.arange(10), 1.0, torch.Generator())) == 10
    with pytest.raises(ValueError, match="mask_rate"):
        global_mask(torch.arange(10), 1.5, torch.Generator())
    record = GLPNDetector(mask_rate=0.0, **FAST).fit(synthetic_inputs())
    assert record["masked_per_epoch"] == 0


def test_pseudo_top_p_picks_the_most_confident_test_rows():
    data = synthetic_inputs(n=120)
    llm = data.llm_prob_fake.copy()
    llm[data.mask("train") | data.mask("val")] = 1.0  # fully confident train and val rows must never be chosen
    data = dataclasses.replace(data, llm_prob_fake=llm)
    test = np.flatnonzero(data.mask("test"))
    valid = test[~np.isnan(llm[test])]
    confidence = np.maximum(llm[valid], 1 - llm[valid])
    for top_p in (0.0, 0.05, 0.2, 0.5):
        chosen = pseudo_labels(data, top_p)
        count = round(top_p * len(test))
        assert set(chosen) == set(valid[np.argsort(-confidence, kind="stable")[:count]])
        assert all(chosen[r] == int(llm[r] > 0.5) for r in chosen)
    everything = pseudo_labels(data, 1.0)
    assert set(everything) == set(valid)  # NaN rows are never chosen, even when all are asked for
    assert not any(np.isnan(llm[r]) for r in everything)


def confident_val_inputs(n: int = 120) -> MethodInputs:
    """synthetic_inputs with every validation row scored fully confident, so a selection that
    looked at validation rows would take them first. n = 120: 60 train, 20 val, 40 test, so
    round(0.05 × n_test) = 2 while round(0.05 × |val ∪ test|) = 3."""
    data = synthetic_inputs(n=n)
    llm = data.llm_prob_fake.copy()
    llm[data.mask("val")] = np.where(np.arange(data.mask("val").sum()) % 2, 1.0, 0.0)
    return dataclasses.replace(data, llm_prob_fake=llm)


def test_only_test_nodes_get_pseudo_labels():
    """Paper: the top 5% most confident pseudo labels, for test samples. Validation nodes, on
    which the model is selected, never carry LLM input; exactly round(0.05 × n_test) test
    nodes do, and the fit record says how many and their mean confidence."""
    data = confident_val_inputs()
    val, test = data.mask("val"), data.mask("test")
    n_test = int(test.sum())
    assert round(0.05 * n_test) != round(0.05 * (val | test).sum())  # the two rules differ here
    chosen = pseudo_labels(data, 0.05)
    assert len(chosen) == round(0.05 * n_test) == 2
    assert all(test[row] for row in chosen)
    features = label_features(data, 0.05, use_pseudo=True)
    assert (features[val] == 0).all()
    assert (features[test].sum(1) > 0).sum() == round(0.05 * n_test)
    detector = GLPNDetector(**FAST)
    record = detector.fit(data)
    assert (detector.graph(data).labels[torch.as_tensor(val)] == 0).all()
    assert record["pseudo_labels"] == record["pseudo_labels_wanted"] == round(0.05 * n_test)
    prob = data.llm_prob_fake[list(chosen)]
    assert record["pseudo_label_mean_confidence"] == pytest.approx(np.maximum(prob, 1 - prob).mean(), abs=1e-5)
    assert "pseudo_labels_note" not in record
    json.dumps(record)
    # Every test node the LLM scored, and no validation node, when all are asked for.
    scored_test = set(np.flatnonzero(test & ~np.isnan(data.llm_prob_fake)).tolist())
    assert set(pseudo_labels(data, 1.0)) == scored_test


def test_too_few_scored_test_nodes_all_get_one_and_the_record_says_so():
    data = confident_val_inputs()
    test = np.flatnonzero(data.mask("test"))
    llm = data.llm_prob_fake.copy()
    llm[test] = np.nan
    llm[test[5]] = 0.6  # the only scored test node, and a weak one
    data = dataclasses.replace(data, llm_prob_fake=llm)
    assert pseudo_labels(data, 0.05) == {int(test[5]): 1}
    record = GLPNDetector(**FAST).fit(data)
    assert record["pseudo_labels"] == 1 and record["pseudo_labels_wanted"] == 2
    assert record["pseudo_label_mean_confidence"] == pytest.approx(0.6)
    assert "only 1 of 40 test rows have an LLM score" in record["pseudo_labels_note"]
    # gcn_lp and the no-pseudo ablation inject nothing.
    for detector in (GCNLPDetector(**FAST), GLPNDetector(use_pseudo_labels=False, **FAST)):
        record = detector.fit(data)
        assert record["pseudo_labels"] == record["pseudo_labels_wanted"] == 0
        assert record["pseudo_label_mean_confidence"] is None


def reweighted(data: MethodInputs, seed: int = 1) -> MethodInputs:
    """The same graph with very different edge weights."""
    weight = np.random.default_rng(seed).uniform(0.01, 1.0, len(data.edge_weight)).astype(np.float32)
    return dataclasses.replace(data, edge_weight=weight)


def test_authors_three_layer_unweighted_option():
    """layers=3, edge_weights=False: the authors' repo's depth (3 layers, hidden 64) over an
    unweighted adjacency. The default stays 2 weighted layers."""
    data = synthetic_inputs()
    detector = GLPNDetector(layers=3, edge_weights=False, **FAST)
    record = detector.fit(data)
    convs = [m for m in detector.module.modules() if m.__class__.__name__ == "GCNConv"]
    assert len(convs) == 3
    assert [c.out_channels for c in convs] == [FAST["hidden"], FAST["hidden"], 2]
    assert record["params"]["layers"] == 3 and record["params"]["edge_weights"] is False
    assert detector.graph(data).edge_weight is None
    changed = reweighted(data)
    assert np.array_equal(detector.predict_proba(changed), detector.predict_proba(data))
    refit = GLPNDetector(layers=3, edge_weights=False, **FAST)
    refit.fit(changed)
    assert np.array_equal(refit.predict_proba(changed), detector.predict_proba(data))
    # The default reads the weights and has two layers: the test has power.
    default = GLPNDetector(**FAST)
    default.fit(data)
    assert sum(m.__class__.__name__ == "GCNConv" for m in default.module.modules()) == 2
    assert not np.allclose(default.predict_proba(changed), default.predict_proba(data))
    for bad in (dict(layers=0), dict(layers=2.5), dict(edge_weights="no")):
        with pytest.raises(ParamsError):
            GLPNDetector(**bad)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_layers_set_the_receptive_field(layers):
    """On the path 0-1-2-3-4, node 0's output depends on node k exactly when k <= layers."""
    torch.manual_seed(0)
    module = GLPN(in_dim=4, hidden=8, dropout=0.0, layers=layers).eval()
    edges = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4], [1, 0, 2, 1, 3, 2, 4, 3]])
    x = torch.randn(5, 4)

    def node0(x):
        with torch.no_grad():
            return module(Graph(x=x, labels=torch.zeros(5, 2), edge_index=edges, edge_weight=None))[0]

    for k in range(1, 5):
        moved = x.clone()
        moved[k] += 10.0
        assert torch.allclose(node0(moved), node0(x)) == (k > layers), k


def test_missing_inputs_fail_clearly():
    data = synthetic_inputs()
    with pytest.raises(ValueError, match="clip_text"):
        GLPNDetector(**FAST).fit(dataclasses.replace(data, clip_text=None))
    with pytest.raises(ValueError, match="llm_prob_fake"):
        GLPNDetector(**FAST).fit(dataclasses.replace(data, llm_prob_fake=None))
    with pytest.raises(ValueError, match="edge_index"):
        GLPNDetector(**FAST).fit(dataclasses.replace(data, edge_index=None))
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        GLPNDetector(bogus=1)
    # gcn_lp needs no LLM.
    GCNLPDetector(**FAST).fit(dataclasses.replace(data, llm_prob_fake=None))


@pytest.fixture(scope="module")
def mediaeval_inputs(mediaeval_default) -> MethodInputs:
    """The embedded default MediaEval slice with its real embeddings and similarity graph (built
    here from the committed raw files, conftest.mediaeval_default), and a SYNTHETIC LLM (noisy
    labels, some rows missing): no real LLM output is implied."""
    from pipeline.graphs.similarity import similarity_graph
    from pipeline.vectors import vectors

    articles, table = mediaeval_default
    rows = [{key: i for i, key in enumerate(table.column("id").to_pylist())}[key] for key in articles["id"]]
    clip_text, clip_image = vectors(table, "clip_text")[rows], vectors(table, "clip_image")[rows]
    graph, _ = similarity_graph(list(articles["id"]), clip_text, clip_image, theta=0.95, progress=False)
    labels = articles["label"].to_numpy()
    rng = np.random.default_rng(0)
    synthetic_llm_prob_fake = np.clip(0.25 + 0.5 * labels + rng.normal(0, 0.25, len(labels)), 0, 1)
    synthetic_llm_prob_fake[rng.random(len(labels)) < 0.1] = np.nan
    return MethodInputs(
        ids=list(articles["id"]),
        split=articles["split"].to_numpy(),
        y=hide_test_labels(articles["split"], labels),
        text=vectors(table, "text")[rows],
        image=vectors(table, "image")[rows],
        clip_text=clip_text,
        clip_image=clip_image,
        has_image=np.asarray(table.column("has_image").to_pylist(), dtype=bool)[rows],
        edge_index=graph.edge_index.numpy(),
        edge_weight=graph.edge_weight.numpy(),
        llm_prob_fake=synthetic_llm_prob_fake,
    )


@pytest.mark.parametrize("detector", [GLPNDetector(epochs=30), GCNLPDetector(epochs=30)], ids=["glpn", "gcn_lp"])
def test_fit_predict_on_real_slice(mediaeval_inputs, detector):
    data = mediaeval_inputs
    assert (data.y[data.mask("test")] == HIDDEN).all()  # validation-only selection
    record = detector.fit(data)
    prob = detector.predict_proba(data)
    assert prob.shape == (len(data),) and np.isfinite(prob).all() and ((prob >= 0) & (prob <= 1)).all()
    json.dumps(record)
    assert 0 <= record["selected_epoch"] < record["epochs_run"] <= 30
    test = data.mask("test")
    scored_test = int((test & ~np.isnan(data.llm_prob_fake)).sum())
    expected_pseudo = min(round(0.05 * test.sum()), scored_test) if detector.name == "glpn" else 0
    assert record["pseudo_labels"] == expected_pseudo  # test nodes only, never validation ones
    assert (detector.graph(data).labels[torch.as_tensor(data.mask("val"))] == 0).all()
    assert record["masked_per_epoch"] == round(0.5 * data.mask("train").sum())
    assert np.array_equal(pickle.loads(pickle.dumps(detector)).predict_proba(data), prob)


def test_the_record_holds_each_epochs_test_predictions_and_the_selected_one_is_what_predict_gives():
    """The authors' test-selected-epoch diagnostic reads these; the selected epoch's line must be
    the prediction the metrics score (GLPN numbers its epochs from 0)."""
    data = synthetic_inputs()
    detector = GLPNDetector(seed=0, **FAST)
    record = detector.fit(data)
    lines = record["test_predictions_by_epoch"]
    test = data.mask("test")
    assert len(lines) == record["epochs_run"] and all(len(line) == test.sum() for line in lines)
    predicted = "".join("1" if q >= 0.5 else "0" for q in detector.predict_proba(data)[test])
    assert lines[record["selected_epoch"]] == predicted
