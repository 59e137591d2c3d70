"""InSide on tiny real graphs: shapes, every component gets gradients, ablations change the
graphs as named, a loss that falls, fit/predict, and the intent-vector table."""

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
from pipeline.models.inside import COARSE, ENTITY, FINE, N_COARSE, Batch, DualLevelLayer, InSide, InSideDetector
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
    assert no_window.sem_edges.shape[1] == sum(int((g.edge_type == MENTION).sum()) for g in data.sentence_graphs)
    assert not (batch(data, use_fine=False).int_type == FINE).any()


def test_every_component_gets_gradients(data):
    torch.manual_seed(0)
    model = InSide(data.text.shape[1], **SMALL)
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
        assert model.alignment is None


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
    """InSide's substitute line comes from the intent table's provenance (stage intents copies
    llm_intents.parquet's), not from llm.parquet, which InSide does not read."""
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
    loaded, _ = load_inputs("pf", METHODS["inside"].reads, root=tmp_path)
    line = f"LLM smollm2-135m (transformers) stands in for {PAPER_MODEL}"
    assert substitutes(loaded, METHODS["inside"].reads) == ["text encoder all-MiniLM-L6-v2 stands in for BERT", line]
    assert loaded.llm_prob_fake is None  # InSide does not read llm.parquet
    _, _, record = train(METHODS["inside"], loaded, SMALL | {"epochs": 1}, seed=0)
    assert record["selected_epoch"] == 0
