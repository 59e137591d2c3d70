"""InSide on tiny real graphs: shapes, every component gets gradients, ablations change the
graphs as the paper defines them (w/o Window: sentences fully connected; w/o DPGA: the two
graphs' nodes interact directly), the super-roots' random start and softmax pooling, a loss
that falls, fit/predict, the trainable last encoder layer, and the intent-vector table."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F

from pipeline.features.intents import PERSPECTIVES, embed_intents
from pipeline.graphs.sentence_entity import MENTION, WINDOW
from pipeline.llm.backends import PAPER_MODEL
from pipeline.methods import METHODS
from pipeline.models.inside import (
    COARSE,
    ENTITY,
    FINE,
    N_COARSE,
    SENTENCE,
    Batch,
    DirectAlignment,
    DualLevelLayer,
    InSide,
    InSideDetector,
)
from pipeline.models.last_layer import TrainableLastLayer
from pipeline.train import load_inputs, substitutes, train
from pipeline.vectors import META_KEY

SMALL = dict(hidden=32, depth=2, fine_per_coarse=3, pseudo_nodes=2)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def data(graph_data):
    return graph_data


def batch(data, rows=None, fine=3, **flags):
    rows = np.arange(len(data)) if rows is None else rows
    return Batch(
        data,
        rows,
        fine,
        flags.get("use_entities", True),
        flags.get("use_window", True),
        flags.get("use_fine", True),
        "cpu",
    )


def test_batch_holds_both_graphs_of_every_article(data):
    b = batch(data)
    assert b.sem_x.shape == (sum(g.num_nodes for g in data.sentence_graphs), data.text.shape[1])
    assert b.sem_edges.shape[1] == sum(g.edge_index.shape[1] for g in data.sentence_graphs)
    per_article = N_COARSE * (1 + 3)
    assert b.int_type.tolist() == ([COARSE] * N_COARSE + [FINE] * 3 * N_COARSE) * len(data)
    # intent edges stay inside their article: coarse <-> coarse, fine <-> its own coarse node
    owner = b.int_edges // per_article
    assert torch.equal(owner[0], owner[1])
    local = b.int_edges % per_article
    fine_edges = local[:, (local[0] >= N_COARSE)]
    assert torch.equal((fine_edges[0] - N_COARSE) // 3, fine_edges[1])
    assert int(((local[0] < N_COARSE) & (local[1] < N_COARSE)).sum()) == len(data) * N_COARSE * (N_COARSE - 1)


def test_ablations_remove_what_they_name(data):
    full = batch(data)
    no_entity = batch(data, use_entities=False)
    assert (full.sem_type == ENTITY).any() and not (no_entity.sem_type == ENTITY).any()
    assert no_entity.sem_edges.shape[1] == sum(int((g.edge_type == WINDOW).sum()) for g in data.sentence_graphs)
    no_window = batch(data, use_window=False)
    n_sentences = [int((g.node_type == SENTENCE).sum()) for g in data.sentence_graphs]
    assert no_window.sem_edges.shape[1] == sum(int((g.edge_type == MENTION).sum()) for g in data.sentence_graphs) + sum(
        n * (n - 1) for n in n_sentences
    )
    assert not (batch(data, use_fine=False).int_type == FINE).any()


@pytest.mark.parametrize("use_entities", [True, False])
def test_without_window_every_pair_of_sentences_is_connected(data, use_entities):
    """The paper's w/o Window (§4.3.1) "employs a fully connected approach for sentence
    connections": every ordered pair of distinct sentences of an article gets an edge, no
    self-loops, no edge across articles, and the entity edges stay."""
    assert max(int((g.node_type == SENTENCE).sum()) for g in data.sentence_graphs) > 3  # more than the window reaches
    b = batch(data, use_window=False, use_entities=use_entities)
    edges = set(map(tuple, b.sem_edges.T.tolist()))
    is_sentence = b.sem_type == SENTENCE
    for a in range(b.size):
        nodes = set(torch.nonzero((b.sem_batch == a) & is_sentence)[:, 0].tolist())
        assert {(s, t) for s, t in edges if s in nodes and t in nodes} == {
            (s, t) for s in nodes for t in nodes if s != t
        }
    assert all(b.sem_batch[s] == b.sem_batch[t] for s, t in edges)
    mentions = sum(int((g.edge_type == MENTION).sum()) for g in data.sentence_graphs) if use_entities else 0
    assert sum(not (is_sentence[s] and is_sentence[t]) for s, t in edges) == mentions


@pytest.mark.parametrize("use_alignment", [True, False])
def test_every_component_gets_gradients(data, use_alignment):
    torch.manual_seed(0)
    model = InSide(data.text.shape[1], **SMALL, use_alignment=use_alignment)
    b = batch(data)
    logits = model(b)
    assert logits.shape == (len(data), 2)
    assert not bool(data.intent_mask.all())  # the missing-intent vector is exercised
    F.cross_entropy(logits, torch.as_tensor(np.maximum(data.y, 0))).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("flags", [dict(use_fine_intents=False), dict(use_global=False), dict(use_alignment=False)])
def test_ablated_models_run(data, flags):
    model = InSide(data.text.shape[1], **SMALL, **flags)
    assert model(batch(data, fine=3, use_fine=flags.get("use_fine_intents", True))).shape == (len(data), 2)
    if not flags.get("use_alignment", True):
        assert isinstance(model.alignment, DirectAlignment)


def test_without_alignment_the_two_graphs_interact_directly(data):
    """The paper's w/o DPGA (§4.3.2) connects the intent and semantic nodes directly, "followed
    by a fully connected interaction between them". Two articles get the same intent inputs,
    which then change in the same way. If each graph were encoded on its own and the nodes
    then mean-pooled, the pooled sum of each article would move by the same amount (the
    change of its intent nodes); with the interaction the semantic nodes move too, each
    article's by its own amount. (Fine intents, which read the sentences, are off, so the
    intent graph alone does not depend on the article.)"""
    torch.manual_seed(0)
    model = InSide(data.text.shape[1], **SMALL, use_fine_intents=False, use_alignment=False).eval()
    sizes = [g.num_nodes for g in data.sentence_graphs]
    rows = np.array([int(np.argmax(sizes)), int(np.argmin(sizes))])
    b = batch(data, rows, use_fine=False)
    b.coarse_present[:] = True
    b.coarse_x[1] = b.coarse_x[0]
    classifier, model.classifier = model.classifier, torch.nn.Identity()  # the model returns the pooled vector
    with torch.no_grad():
        pooled = model(b)
        b.coarse_x[:, 0] += torch.randn(b.coarse_x.shape[-1])  # the same intent node changes alike in both
        changed = model(b)
        assert not torch.allclose(classifier(pooled), classifier(changed))  # the prediction follows the intents
    nodes = torch.bincount(b.sem_batch, minlength=2) + N_COARSE
    moved = (changed - pooled) * nodes[:, None]  # the change of each article's sum of nodes
    assert not torch.allclose(moved[0], moved[1], atol=1e-3)
    # every semantic node reads the intent nodes and every intent node the semantic ones
    d = SMALL["hidden"]
    h = torch.randn(1, 6, d, requires_grad=True)
    types = torch.tensor([[SENTENCE, SENTENCE, ENTITY, COARSE, FINE, SENTENCE]])
    mask = torch.tensor([[True] * 5 + [False]])
    out = model.alignment.interact(h, types, mask)
    for target, sources in ((0, [3, 4]), (2, [3, 4]), (3, [0, 1, 2]), (4, [0, 1, 2])):
        (grad,) = torch.autograd.grad(out[0, target].sum(), h, retain_graph=True)
        reads = (grad[0].abs().sum(1) > 0).nonzero()[:, 0].tolist()
        assert reads == sorted([target] + sources), target
    assert torch.isfinite(model.alignment(h, types, mask)).all()


def test_super_roots_start_random_and_pool_the_nodes_by_softmax(data):
    """Eq. 11: the super-root is a learnable embedding "randomly initialized", and each node's
    contribution to it comes from "a linear transformation followed by a softmax": weights
    that are positive, sum to 1 over each graph's nodes and differ between nodes."""
    torch.manual_seed(0)
    model = InSide(data.text.shape[1], **SMALL)
    assert (model.roots != 0).all() and not torch.equal(model.roots[0], model.roots[1])
    b = batch(data)
    layer = model.sem_layers[0].eval()
    h = model.sem_proj(b.sem_x) + model.type_emb(b.sem_type)
    root = model.roots[0].expand(b.size, -1)
    weights = layer.root_weights(h, b.sem_batch, root)
    assert (weights > 0).all()
    assert torch.allclose(torch.zeros(b.size).index_add_(0, b.sem_batch, weights), torch.ones(b.size))
    largest = b.sem_batch == torch.bincount(b.sem_batch).argmax()
    assert weights[largest].max() - weights[largest].min() > 1e-3
    # a zero root would score every node alike: the mean
    uniform = layer.root_weights(h, b.sem_batch, torch.zeros_like(root))
    assert torch.allclose(uniform, 1 / torch.bincount(b.sem_batch).float()[b.sem_batch])
    # the update uses those weights
    with torch.no_grad():
        _, updated = layer(h, b.sem_edges, b.sem_batch, root)
        layer.root_weights = lambda h, batch, root: uniform
        _, with_mean = layer(h, b.sem_edges, b.sem_batch, root)
    assert not torch.allclose(updated, with_mean, atol=1e-4)


def test_two_thread_gradients_are_reproducible(data):
    """The dual-level layer gathers nodes with index_select: on CPU the backward of h[index]
    adds into repeated rows from several threads in no fixed order once the gathered tensor
    reaches torch's parallel grain (32,768 values), so two trainings on the same input could
    select different epochs."""
    torch.set_num_threads(2)  # the fixture restores the count
    hidden = 256
    b = batch(data)
    assert b.sem_edges.shape[1] * hidden >= 32768, "the batch must be large enough for the parallel path"
    torch.manual_seed(0)
    layer = DualLevelLayer(hidden, use_global=True, dropout=0.0)
    h = torch.randn(len(b.sem_x), hidden, requires_grad=True)
    root = torch.randn(b.size, hidden, requires_grad=True)
    grads = []
    for _ in range(5):
        h.grad = root.grad = None
        out, new_root = layer(h, b.sem_edges, b.sem_batch, root)
        (out.square().sum() + new_root.sum()).backward()
        grads.append(torch.cat([h.grad, root.grad]))
    assert all(torch.equal(grads[0], g) for g in grads[1:])


def test_loss_falls_on_a_small_batch(data):
    torch.manual_seed(0)
    rows = np.flatnonzero(data.y >= 0)[:8]
    model = InSide(data.text.shape[1], **SMALL)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    b, y = batch(data, rows), torch.as_tensor(data.y[rows])
    losses = []
    for _ in range(40):
        optimiser.zero_grad()
        loss = F.cross_entropy(model(b), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_detector_fits_and_predicts_every_article(data):
    detector = InSideDetector(seed=2, epochs=3, patience=3, **SMALL)
    record = detector.fit(data)
    assert record["epochs_run"] == 3 and record["missing_intent_paragraphs"] == 1
    prob = detector.predict_proba(data)
    assert prob.shape == (len(data),) and ((prob >= 0) & (prob <= 1)).all()
    assert np.array_equal(
        prob, pickle.loads(pickle.dumps(detector)).predict_proba(data)
    )  # as the train stage stores it


@pytest.fixture(scope="module")
def finetuned(graph_data):
    detector = InSideDetector(seed=0, epochs=1, patience=1, finetune_last_layer=True, **SMALL)
    return detector, detector.fit(graph_data)


def test_the_untrained_last_layer_gives_the_graphs_vectors_from_their_node_texts(data):
    layer = TrainableLastLayer("minilm", "cpu").eval()
    graphs = [g for g in data.sentence_graphs if g is not None]
    layer.prepare([t for g in graphs for t in g.node_text], progress=False)
    for g in graphs:
        assert len(g.node_text) == g.num_nodes
        with torch.no_grad():
            assert torch.allclose(layer(list(g.node_text)), g.x, atol=1e-4)
    with pytest.raises(ValueError, match="does not reproduce"):
        layer.check_reproduces(list(graphs[0].node_text), graphs[0].x.flip(0))


def test_finetuning_trains_the_encoders_last_layer_at_its_own_rate(data, finetuned):
    detector, record = finetuned
    tuned = detector.module.text_layer
    pretrained = TrainableLastLayer("minilm", "cpu").layer.state_dict()
    assert any(not torch.equal(w, pretrained[name]) for name, w in tuned.layer.state_dict().items())
    assert [group["lr"] for group in detector._parameter_groups()] == [5e-4, 2e-5]
    assert record["frozen_encoder_seconds"] > 0
    b = batch(data)
    assert len(b.texts) == len(b.text_rows) == b.sem_x.shape[0]  # every node of these articles has a text
    with torch.no_grad():
        assert not torch.allclose(detector.module.node_features(b), b.sem_x, atol=1e-4)
    no_entity = batch(data, use_entities=False)
    assert no_entity.texts == [t for g in data.sentence_graphs for t in g.node_text[: g.num_sentences]]


def test_finetuned_detector_is_stored_without_token_states_and_predicts_the_same(data, finetuned):
    detector, _ = finetuned
    prob = detector.predict_proba(data)
    blob = pickle.dumps(detector)
    assert len(blob) < 12e6  # the layer's weights (~7 MB), not the token states of every text
    restored = pickle.loads(blob)
    assert restored.module.text_layer._states == {}
    assert np.allclose(restored.predict_proba(data), prob, atol=1e-6)


def test_finetuning_asks_for_graphs_with_node_texts(data):
    old = [g.clone() for g in data.sentence_graphs]
    for g in old:
        del g.node_text
    with pytest.raises(ValueError, match="re-run the article_graphs stage"):
        InSideDetector(epochs=1, finetune_last_layer=True).fit(dataclasses.replace(data, sentence_graphs=old))


def test_detector_explains_what_it_lacks(data):
    with pytest.raises(ValueError, match="intent vectors"):
        InSideDetector(epochs=1).fit(dataclasses.replace(data, intents=None, intent_mask=None))


def test_intent_table_encodes_each_paragraph_once_and_keeps_nulls():
    class CountingEncoder:
        dim = 3

        def __init__(self):
            self.seen = []

        def encode(self, texts, progress=True):
            self.seen += list(texts)
            return np.array([[len(t), 1.0, 0.0] for t in texts], np.float32)

    llm = pd.DataFrame(
        {
            "id": ["a", "b"],
            "intent_belief": ["x", "x"],
            "intent_desire": ["yy", None],
            "intent_plan": [None, "  "],
            "intent_outcome": ["zzz", "x"],
        }
    )
    encoder = CountingEncoder()
    table, report = embed_intents(llm, encoder, {"name": "counting"}, progress=False)
    assert sorted(encoder.seen) == ["x", "yy", "zzz"]
    assert table.column("desire").to_pylist()[1] is None and table.column("plan").null_count == 2
    assert table.column("outcome").to_pylist()[0] == [3.0, 1.0, 0.0]
    assert (
        report["missing"] == {"belief": 0, "desire": 1, "plan": 2, "outcome": 0}
        and report["articles_with_all_four"] == 0
    )
    assert list(PERSPECTIVES) == [c for c in table.column_names if c != "id"]


def test_record_names_the_llm_that_wrote_the_intents(data, tmp_path):
    """InSide's substitute lines come from the intent table's provenance (stage intents copies
    llm_intents.parquet's), not from llm.parquet or embeddings.parquet, which InSide does not read:
    it trains without them, so their last digits (which depend on the embedding cache's history)
    cannot make its stage differ between machines."""
    import graph_inputs

    provenance = {"model": "smollm2-135m", "backend": "transformers", "substitute_for": PAPER_MODEL}
    articles = pd.DataFrame(
        {"id": data.ids, "split": data.split, "label": np.where(data.y < 0, 1, data.y), "text": "t", "title": ""}
    )
    graph_inputs.write_artifacts(tmp_path, "pf", data, articles, llm_provenance=provenance)
    pq.write_table(
        pq.read_table(tmp_path / "data/processed/pf/llm.parquet").replace_schema_metadata(
            {META_KEY: json.dumps({"model": "other", "backend": "b", "substitute_for": "x"}).encode()}
        ),
        tmp_path / "data/processed/pf/llm.parquet",
    )
    (tmp_path / "data/processed/pf/embeddings.parquet").unlink()
    loaded, _ = load_inputs("pf", METHODS["inside"].reads, root=tmp_path)
    line = f"LLM smollm2-135m (transformers) stands in for {PAPER_MODEL}"
    assert substitutes(loaded, METHODS["inside"].reads) == ["all-MiniLM-L6-v2 stands in for BERT", line]
    assert loaded.llm_prob_fake is None and loaded.text is None
    _, _, record = train(METHODS["inside"], loaded, SMALL | {"epochs": 1}, seed=0)
    assert record["selected_epoch"] == 0
