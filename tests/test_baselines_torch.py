"""Embeddings + MLP and LLM-only baselines."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest

from pipeline.models.inputs import MethodInputs, hide_test_labels
from pipeline.models.llm_only import LLMOnlyDetector
from pipeline.models.mlp import MLPDetector, features
from pipeline.models.training import macro_f1


def separable_inputs(n: int = 300, seed: int = 0) -> tuple[MethodInputs, np.ndarray]:
    """Labels given by the side of a random hyperplane through the text vectors."""
    rng = np.random.default_rng(seed)
    text = rng.normal(size=(n, 16)).astype(np.float32)
    labels = (text @ rng.normal(size=16) > 0).astype(np.int64)
    split = rng.choice(["train", "val", "test"], n, p=[0.6, 0.2, 0.2])
    return MethodInputs(
        ids=[str(i) for i in range(n)], split=split, y=hide_test_labels(split, labels), text=text
    ), labels


def test_mlp_learns_a_separable_problem():
    data, labels = separable_inputs()
    detector = MLPDetector(seed=0)
    record = detector.fit(data)
    json.dumps(record)
    assert record["val_macro_f1"] > 0.9
    prob = pickle.loads(pickle.dumps(detector)).predict_proba(data)
    assert prob.shape == (len(data),) and ((prob >= 0) & (prob <= 1)).all()
    test = data.mask("test")
    assert macro_f1(labels[test], prob[test]) > 0.85


def test_mlp_uses_images_when_present():
    data, _ = separable_inputs(n=40)
    has_image = np.arange(40) % 2 == 0
    image = np.where(has_image[:, None], 1.0, 0.0) * np.ones((40, 5), np.float32)
    with_images = dataclasses.replace(data, image=image, has_image=has_image)
    assert features(with_images).shape == (40, 16 + 5 + 1)
    assert features(data).shape == (40, 16)
    with pytest.raises(ValueError, match="image"):
        features(dataclasses.replace(data, has_image=has_image))


def test_mlp_needs_both_classes_in_train():
    data, _ = separable_inputs(n=60)
    y = data.y.copy()
    y[data.mask("train")] = 1
    with pytest.raises(ValueError, match="both classes"):
        MLPDetector(epochs=2).fit(dataclasses.replace(data, y=y))


def test_llm_only_returns_llm_probabilities_and_prior_where_missing():
    data, _ = separable_inputs(n=50)
    llm = np.random.default_rng(1).uniform(0, 1, 50)
    llm[[0, 5, 9]] = np.nan
    data = dataclasses.replace(data, llm_prob_fake=llm)
    detector = LLMOnlyDetector()
    record = detector.fit(data)
    json.dumps(record)
    prior = data.y[data.mask("train")].mean()
    prob = detector.predict_proba(data)
    assert np.allclose(prob[[0, 5, 9]], prior)
    present = ~np.isnan(llm)
    assert np.array_equal(prob[present], llm[present])
    assert record["prior_rows"] == 3 and record["coverage"] == round(47 / 50, 4)
    assert record["val_macro_f1"] == round(macro_f1(data.y[data.mask("val")], prob[data.mask("val")]), 4)


def test_llm_only_without_llm_fails_clearly():
    data, _ = separable_inputs(n=20)
    with pytest.raises(ValueError, match="llm_prob_fake"):
        LLMOnlyDetector().fit(data)
