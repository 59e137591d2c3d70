"""MMFND: every expert and gate trains, shapes and masks, similarity statistics, a loss that
falls, fit/predict on the real default MediaEval slice, and the text-only error."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pipeline.models.inputs import HIDDEN, MethodInputs, hide_test_labels
from pipeline.models.mmfnd import MMFNDDetector, MMFNDNet, balanced_class_weight, train_step
from pipeline.vectors import vectors

DIMS = dict(text_dim=24, image_dim=40, clip_dim=8)
ABLATIONS = [
    dict(use_ple=False),
    dict(use_similarity_weighting=False),
    dict(use_attention=False),
    dict(use_ple=False, use_similarity_weighting=False, use_attention=False),
]


pytestmark = pytest.mark.usefixtures("one_thread")


def _batch(n: int = 32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    has_image = torch.arange(n) % 4 != 0
    mask = has_image.unsqueeze(-1).float()
    text = torch.randn(n, DIMS["text_dim"], generator=g)
    image = torch.randn(n, DIMS["image_dim"], generator=g) * mask
    clip_text = torch.randn(n, DIMS["clip_dim"], generator=g)
    clip_image = torch.randn(n, DIMS["clip_dim"], generator=g) * mask
    y = torch.arange(n) % 2
    return (text, image, clip_text, clip_image, has_image), y


def _net(**kwargs) -> MMFNDNet:
    torch.manual_seed(0)
    return MMFNDNet(**DIMS, hidden=16, **kwargs)


def test_every_parameter_gets_a_gradient():
    net = _net().train()
    batch, y = _batch()
    F.cross_entropy(net(*batch)[0], y).backward()
    names = [name for name, _ in net.named_parameters()]
    assert sum(n.startswith("ple.shared.") for n in names) == 3 * 2  # 3 experts, weight + bias
    assert sum(n.startswith("ple.experts.unimodal.") for n in names) == 3 * 2
    assert sum(n.startswith("ple.experts.cross_modal.") for n in names) == 3 * 2
    assert sum(n.startswith("ple.gates.") for n in names) == 2 * 2
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("ablation", ABLATIONS)
def test_ablations_run_and_train(ablation):
    net = _net(**ablation).train()
    batch, y = _batch()
    logits, weights = net(*batch)
    assert logits.shape == (32, 2)
    assert (weights is None) == (ablation.get("use_attention") is False)
    F.cross_entropy(logits, y).backward()
    assert all(p.grad is not None for p in net.parameters())
    if ablation.get("use_ple") is False:
        assert not any(name.startswith("ple.") for name, _ in net.named_parameters())


def test_shapes_and_attention_weights():
    net = _net().eval()
    batch, _ = _batch()
    logits, weights = net(*batch)
    assert logits.shape == (32, 2) and weights.shape == (32, 3)
    assert ((weights > 0) & (weights < 1)).all()


def test_no_image_rows_ignore_image_inputs():
    """Rows without an image are classified from text alone: changing their (supposedly
    zero) image and joint-image vectors changes nothing."""
    net = _net().eval()
    batch, _ = _batch()
    text, image, clip_text, clip_image, has_image = batch
    noise = torch.randn_like(image) * (~has_image).unsqueeze(-1)
    noise_clip = torch.randn_like(clip_image) * (~has_image).unsqueeze(-1)
    before, _ = net(*batch)
    after, _ = net(text, image + noise, clip_text, clip_image + noise_clip, has_image)
    torch.testing.assert_close(before, after)


def test_similarity_running_stats_update_in_train_only():
    net = _net()
    sim = net.similarity
    batch, _ = _batch()
    net.train()
    net(*batch)
    mean, var = sim.running_mean.clone(), sim.running_var.clone()
    assert mean != 0 and var != 1
    net.eval()
    net(*_batch(seed=1)[0])
    assert sim.running_mean == mean and sim.running_var == var


def test_loss_decreases_on_a_fixed_batch():
    net = _net()
    batch, y = _batch()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2)
    weight = balanced_class_weight(y.numpy())
    net.train()
    losses = [train_step(net, optimizer, batch, y, weight) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]


def _inputs(n: int = 60, **overrides) -> MethodInputs:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    split = np.array(["train", "train", "train", "val", "test"] * (n // 5))
    has_image = np.arange(n) % 6 != 0
    fields = (
        dict(
            text=rng.normal(size=(n, 12)).astype(np.float32) + y[:, None],
            image=rng.normal(size=(n, 20)).astype(np.float32) * has_image[:, None],
            clip_text=rng.normal(size=(n, 8)).astype(np.float32),
            clip_image=rng.normal(size=(n, 8)).astype(np.float32) * has_image[:, None],
            has_image=has_image,
        )
        | overrides
    )
    return MethodInputs(ids=[str(i) for i in range(n)], split=split, y=hide_test_labels(split, y), **fields)


def test_fit_predict_explain_and_pickle_on_synthetic_rows():
    data = _inputs()
    detector = MMFNDDetector(hidden=16, epochs=5, patience=5)
    record = detector.fit(data)
    assert 1 <= record["selected_epoch"] <= record["epochs_run"] <= 5
    assert record["ablation"] == {"use_ple": True, "use_similarity_weighting": True, "use_attention": True}
    prob = detector.predict_proba(data)
    assert prob.shape == (60,) and ((prob >= 0) & (prob <= 1)).all()
    weights = detector.explain(data)
    assert weights.shape == (60, 3)
    assert (weights[~data.has_image, 1:] == 0).all() and (weights[data.has_image] > 0).all()
    again = pickle.loads(pickle.dumps(detector))
    np.testing.assert_allclose(again.predict_proba(data), prob)


@pytest.mark.parametrize("missing", ["image", "clip_text", "clip_image"])
def test_text_only_data_is_a_clear_error(missing):
    data = _inputs(**{missing: None})
    with pytest.raises(ValueError, match="MMFND needs images and joint text-image vectors"):
        MMFNDDetector(epochs=1).fit(data)


def test_explain_without_attention_is_a_clear_error():
    data = _inputs()
    detector = MMFNDDetector(hidden=16, epochs=1, use_attention=False)
    detector.fit(data)
    with pytest.raises(ValueError, match="use_attention=False"):
        detector.explain(data)


def test_fit_on_the_default_mediaeval_slice(mediaeval_default):
    articles, table = mediaeval_default  # ingested and embedded from the committed raw files (conftest)
    position = {key: i for i, key in enumerate(table.column("id").to_pylist())}
    rows = np.array([position[key] for key in articles["id"]])
    split = articles["split"].to_numpy()
    data = MethodInputs(
        ids=articles["id"].tolist(),
        split=split,
        y=hide_test_labels(split, articles["label"]),
        has_image=np.asarray(table.column("has_image").to_pylist(), bool)[rows],
        **{column: vectors(table, column)[rows] for column in ("text", "image", "clip_text", "clip_image")},
    )
    detector = MMFNDDetector(seed=0, epochs=20, patience=5)
    record = detector.fit(data)
    assert record["val_macro_f1"] > 0.7
    prob = detector.predict_proba(data)
    assert prob.shape == (len(articles),) and np.isfinite(prob).all()
    assert (data.y[split == "test"] == HIDDEN).all()
    assert detector.explain(data).shape == (len(articles), 3)
