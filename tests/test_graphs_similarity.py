"""Blocked similarity graph against a brute-force dense computation on real embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.data.ingest import ingest
from pipeline.features.embed import embed_articles
from pipeline.graphs.similarity import SIM_TYPES, cap_neighbours, dense_edges, similarity_edges, similarity_graph
from pipeline.graphs.stats import similarity_stats
from pipeline.vectors import vectors


@pytest.fixture(scope="module")
def embedded(mediaeval_root):
    df, _ = ingest("mediaeval2016", mediaeval_root)
    return df, embed_articles(df, mediaeval_root, progress=False)


@pytest.fixture(scope="module")
def real(embedded):
    df, table = embedded
    return df, vectors(table, "clip_text"), vectors(table, "clip_image")


def _edge_set(edges):
    src, dst, types, _ = edges
    return set(zip(src.tolist(), dst.tolist(), types.tolist()))


@pytest.mark.parametrize("theta", [0.95, 0.6, 0.3])
def test_blocked_equals_dense_on_real_vectors(real, theta):
    _, text, image = real
    blocked = similarity_edges(text, image, theta=theta, block=17, progress=False)  # uneven tiles
    dense = dense_edges(text, image, theta=theta)
    assert _edge_set(blocked) == _edge_set(dense)
    np.testing.assert_allclose(blocked[3], dense[3], atol=1e-5)


def test_every_similarity_type_fires_and_matches(real):
    _, text, image = real
    fired = set()
    for theta in (0.95, 0.6, 0.3, 0.1):
        src, dst, types, _ = similarity_edges(text, image, theta=theta, block=32, progress=False)
        fired |= {name for bit, name in enumerate(SIM_TYPES) if ((types >> bit) & 1).any()}
    assert fired == set(SIM_TYPES)


def test_each_type_against_its_own_brute_force(real):
    _, text, image = real
    theta = 0.3
    src, dst, types, _ = similarity_edges(text, image, theta=theta, block=25, progress=False)
    norms = np.sqrt((text**2).sum(1) + (image**2).sum(1))
    concat = np.hstack([text, image]) / norms[:, None]
    brute = {
        "concat": concat @ concat.T,
        "image_text": image @ text.T,
        "text_image": text @ image.T,
        "image_image": image @ image.T,
        "text_text": text @ text.T,
    }
    upper = np.triu(np.ones((len(text), len(text)), bool), k=1)
    for bit, name in enumerate(SIM_TYPES):
        expected = set(zip(*np.nonzero((brute[name] > theta) & upper)))
        got = {(a, b) for a, b, t in zip(src.tolist(), dst.tolist(), types.tolist()) if (t >> bit) & 1}
        assert got == expected, name


def test_posts_without_image_link_only_by_text(real):
    _, text, image = real
    image = image.copy()
    image[::2] = 0  # drop every other image
    src, dst, types, _ = similarity_edges(text, image, theta=0.3, block=64, progress=False)
    no_image = np.zeros(len(text), bool)
    no_image[::2] = True
    image_bits = sum(1 << SIM_TYPES.index(n) for n in ("image_text", "text_image", "image_image"))
    both_missing = no_image[src] & no_image[dst]
    assert not (types[both_missing] & image_bits).any()


def test_neighbour_cap_keeps_the_strongest():
    src = np.array([0, 0, 0, 1])
    dst = np.array([1, 2, 3, 2])
    score = np.array([0.99, 0.97, 0.96, 0.98], np.float32)
    keep = cap_neighbours(src, dst, score, k=1)
    # node 0 keeps (0,1); node 1 keeps (0,1); node 2 keeps (1,2); node 3 keeps (0,3)
    assert keep.tolist() == [True, False, True, True]


def test_graph_and_statistics(real):
    df, text, image = real
    data, (src, dst, types, score) = similarity_graph(
        df["id"].tolist(), text, image, theta=0.6, block=50, progress=False
    )
    assert data.num_nodes == len(df) and data.edge_index.shape[1] == 2 * len(src)
    assert data.edge_types.shape == (2 * len(src), 5) and data.node_ids[0] == df["id"].iloc[0]
    labels = df["label"].to_numpy()
    stats = similarity_stats(len(df), src, dst, types, labels, (df["split"] == "train").to_numpy())
    assert stats["edges"] == len(src) and stats["average_degree"] == pytest.approx(2 * len(src) / len(df))
    assert sum(t["edges"] for t in stats["by_type"].values()) >= stats["edges"]
    train = (df["split"] == "train").to_numpy()
    both = train[src] & train[dst]
    assert stats["train_label_homophily"] == pytest.approx((labels[src[both]] == labels[dst[both]]).mean(), abs=1e-4)


def test_stage_reads_the_device_it_declares(embedded, tmp_path, monkeypatch):
    """dvc.yaml declares graphs.device for this stage: asking for CUDA on a CPU machine must fail
    (it used to read graphs.similarity.device and silently run on the CPU)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from pipeline import config
    from pipeline.errors import ParamsError
    from stages import similarity_graph

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    df, table = embedded
    monkeypatch.chdir(tmp_path)
    articles = pa.Table.from_pandas(df, preserve_index=False)
    for path, data in (
        (config.articles_path("mediaeval2016"), articles),
        (config.embeddings_path("mediaeval2016"), table),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, path)
    with pytest.raises(ParamsError, match="CUDA is not available"):
        similarity_graph.run("mediaeval2016", {"graphs": {"device": "cuda", "similarity": {"theta": 0.95}}})
