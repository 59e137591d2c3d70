"""LGCL + multi-view GMAE on tiny real graphs: relation paths batched exactly, the relation-aware
attention of eq. 1, the news root receiving messages, L_mcos over the decoded outputs (eq. 8),
gradients reach every component, losses fall, feature learning reads no label, the SVM and
the papers' cross-validation protocol, and the LLM classes behind the negatives."""

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
    LGCLSettings,
    MultiViewGMAE,
    RelationAttentionLayer,
    contrastive_targets,
    llm_classes,
    multiview_cosine_loss,
    sce,
)
from pipeline.settings import ParamsError

SMALL = dict(hidden=32, heads=2, layers=1, epochs=2, batch_size=8, gmae_hidden=32, gmae_epochs=2, cv_folds=3)
SMALL |= dict(label_fractions=[0.3, 0.6], label_fraction_folds=3)


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


def test_attention_score_is_eq_1_with_the_relation_on_query_and_key():
    """beta_uv = (e_u + r_{u->v}) W_q^T W_k (e_v + r_{v->u}), [r_{u->v}; r_{v->u}] = W_r r_uv: with
    the key-side half zeroed, the relation still moves the score (through the query), and the
    score has a relation x key-node interaction (term (c)), which a relation term on the key
    side alone (q_u . (k_v + W_rk r)) cannot produce."""
    torch.manual_seed(0)
    dim, heads = 8, 2
    layer = RelationAttentionLayer(dim, heads, 0.0)
    h, relations = torch.randn(3, dim), torch.randn(2, dim)
    src, dst, index = torch.tensor([0, 0, 1]), torch.tensor([1, 2, 2]), torch.tensor([0, 1, 0])

    def beta(h=h, relations=relations):
        with torch.no_grad():
            return layer.scores(h, src, dst, relations, index)

    with torch.no_grad():  # eq. 1 by hand, pair by pair
        to_query, to_key = layer.split(relations).chunk(2, dim=-1)
        for p in range(3):
            q = layer.q(h[src[p]] + to_query[index[p]]).view(heads, -1)
            k = layer.k(h[dst[p]] + to_key[index[p]]).view(heads, -1)
            torch.testing.assert_close(beta()[p], (q * k).sum(-1) / (dim // heads) ** 0.5)
    # relation x key node: the double difference over (e_v, r_uv) is term (c) (plus (d)'s cross part)
    h2, relations2 = h.clone(), relations + torch.randn(2, dim)
    h2[1] += torch.randn(dim)
    interaction = beta()[0] - beta(h=h2)[0] - beta(relations=relations2)[0] + beta(h=h2, relations=relations2)[0]
    assert interaction.abs().max() > 1e-3
    # the key side without any relation term: the relation still reaches beta, through the query
    with torch.no_grad():
        layer.split.weight[dim:] = 0
    assert (beta() - beta(relations=relations2)).abs().max() > 1e-3


def test_news_root_receives_messages_from_its_subtree():
    """The graph stage stores parent -> child edges and GIN sends messages source -> target;
    the GMAE takes the graph as undirected, so the root's encoder output (which H^prop and the
    decoder read) changes with a child's and a grandchild's features (2 GIN layers: 2 hops)."""
    torch.manual_seed(0)
    edge_index = torch.tensor([[0, 0, 1], [1, 2, 3]])  # news -> user, news -> user, user -> user
    x = torch.randn(4, 6)
    model = MultiViewGMAE(6, hidden=8).eval()
    outputs = []
    model.encoder[1].register_forward_hook(lambda module, args, out: outputs.append(out.detach()))
    for changed in (None, 1, 3):
        x_changed = x.clone()
        if changed is not None:
            x_changed[changed] += 1.0
        model.embed(GraphBatch.from_data_list([Data(x=x_changed, edge_index=edge_index)]))
    root = [out[0] for out in outputs]
    assert (root[0] - root[1]).abs().max() > 1e-4 and (root[0] - root[2]).abs().max() > 1e-4


def test_gmae_views_pass_messages_both_ways_and_drop_an_edge_with_its_reverse(data):
    batch = propagation_batch(data)
    model = MultiViewGMAE(batch.x.shape[1], hidden=8, edge_drop=0.5)
    seen = []
    for module in (model.encoder[0], model.encoder[1], model.decoder):
        module.register_forward_pre_hook(lambda module, args: seen.append(args[1]))
    model.loss(batch, torch.Generator().manual_seed(0))
    stored = set(map(tuple, batch.edge_index.T.tolist()))
    assert len(seen) == 2 * (2 + 2)  # 2 views: 2 encoder layers + 2 re-masked decodings each
    for edges in seen:
        pairs = set(map(tuple, edges.T.tolist()))
        kept = pairs & stored
        assert pairs == kept | {(b, a) for a, b in kept}  # the kept stored edges and their reverses
        assert 0 < len(kept) < len(stored)


def test_mcos_is_the_mean_cosine_over_every_pair_of_decoded_outputs():
    """Eq. 8 on four 1-node outputs (k = m = 2): cosines 0, 1/sqrt2, 1, 1/sqrt2, 0, 1/sqrt2 over
    the 6 pairs; L_mcos = 1 - their mean. And a transcription of eq. 8 on random outputs:
    the mean over ordered pairs (l, i) != (l', j) of the per-node cosine, averaged over nodes."""
    decoded = [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]])]
    decoded.append(torch.tensor([[2.0, 0.0]]))
    expected = 1 - (1 + 3 / 2**0.5) / 6
    torch.testing.assert_close(multiview_cosine_loss(decoded), torch.tensor(expected))
    torch.manual_seed(0)
    k, m = 2, 2
    outputs = {(view, remask): torch.randn(5, 3) for view in range(k) for remask in range(m)}
    cosines = [
        ((a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))).mean()
        for (view_a, i), a in outputs.items()
        for (view_b, j), b in outputs.items()
        if view_a != view_b or i != j  # eq. 8: if l = l' then i != j
    ]
    assert len(cosines) == 12  # ordered pairs: 6 unordered ones, each twice
    torch.testing.assert_close(multiview_cosine_loss(list(outputs.values())), 1 - torch.stack(cosines).mean())
    assert multiview_cosine_loss(decoded[:1]) == 0


@pytest.mark.parametrize("views, remasks", [(2, 2), (1, 3)])
def test_gmae_mcos_reads_every_decoded_output(data, views, remasks):
    """L_mcos is computed from the decoder's k * m outputs (all nodes), not from pooled
    encoder embeddings: with one view it still compares the re-maskings."""
    batch = propagation_batch(data)
    model = MultiViewGMAE(batch.x.shape[1], hidden=8, views=views, remasks=remasks)
    decoded = []
    model.decoder.register_forward_hook(lambda module, args, out: decoded.append(out))
    _, consistency = model.losses(batch, torch.Generator().manual_seed(0))
    assert len(decoded) == views * remasks and all(d.shape == batch.x.shape for d in decoded)
    torch.testing.assert_close(consistency, multiview_cosine_loss(decoded))
    assert consistency > 0


def test_default_epochs_are_the_papers():
    assert LGCLSettings().epochs == 50  # "the training of AMR ... with 50 epochs"


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
    gmae = record["gmae"]
    np.testing.assert_allclose(
        gmae["loss_by_epoch"], np.add(gmae["mrec_by_epoch"], gmae["mcos_by_epoch"]), atol=2e-5
    )  # L_prop = L_mrec + L_mcos
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


def test_llm_classes_are_the_zero_shot_classes_counted(data):
    rows = dataclasses.replace(data, llm_zero_shot=np.array([1, 0, -1, 1] + [0] * (len(data) - 4)))
    classes, counts = llm_classes(rows)
    assert classes[:4].tolist() == [1, 0, -1, 1]
    assert counts == {"fake": 2, "real": len(data) - 3, "none": 1}
    _, y_neg, has_negative, counts = contrastive_targets(rows)
    assert not has_negative[2] and not y_neg[2].any() and counts["without_negative"] == 1
    text = rows.text - rows.text.mean(0)
    np.testing.assert_allclose(y_neg[0].numpy(), text[classes == 0].mean(0), atol=1e-6)  # fake -> the real centroid


def test_lgcl_without_zero_shot_classes_is_a_clear_error(data):
    with pytest.raises(ValueError, match="llm.zero_shot.datasets"):
        LGCLDetector(seed=0, **SMALL).fit(dataclasses.replace(data, llm_zero_shot=None))


def test_nested_cross_validation_reads_held_out_labels_only_to_score():
    """C and the standardisation come from the fold's training rows: flipping every held-out
    label leaves C as it was and turns accuracy into its complement."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    X = rng.normal(size=(60, 5)) + y[:, None] * 0.8
    held_out = np.arange(0, 60, 5)
    fit_rows = np.setdiff1d(np.arange(60), held_out)
    detector = LGCLDetector(seed=0, cv_folds=3)
    accuracy, _, C = detector._held_out_scores(X, y, fit_rows, held_out)
    flipped = y.copy()
    flipped[held_out] = 1 - flipped[held_out]
    accuracy_flipped, _, C_flipped = detector._held_out_scores(X, flipped, fit_rows, held_out)
    assert C_flipped == C and accuracy_flipped == pytest.approx(1 - accuracy)


def test_protocols_choose_C_per_fold_and_grow_the_training_set_against_a_fixed_held_out_set(data):
    detector = LGCLDetector(seed=0, **(SMALL | {"label_fractions": [0.2, 0.4, 0.6], "label_fraction_folds": 3}))
    record = detector.fit(data)
    labelled = int((data.y >= 0).sum())
    assert len(record["cross_validation"]["C_by_fold"]) == 3
    rows = record["label_fraction"]
    assert [row["train_share"] for row in rows] == [0.2, 0.4, 0.6]
    sizes = [row["train_articles"] for row in rows]
    assert sizes == sorted(sizes) and abs(sizes[-1] - 0.6 * labelled) <= 2
    assert all(row["held_out_articles"] == round(labelled / 3, 1) for row in rows)
    assert all(0 <= row["accuracy"]["mean"] <= 1 for row in rows)


def test_label_fractions_past_what_the_held_out_set_leaves_are_refused():
    with pytest.raises(ParamsError, match="label_fractions"):
        LGCLDetector(label_fractions=[0.5, 0.95])
