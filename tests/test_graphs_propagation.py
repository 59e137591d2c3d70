"""Propagation graphs on real data: the full UPFD PolitiFact files of the embedded default
(data/raw) with its articles, and the truncated Twitter15/16 tree files of
tests/fixtures. Expected values are computed here from the raw files, independently of
the builders (news vectors are random inputs, not what is tested)."""

import ast
import json
import pickle
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.data.ingest import ingest
from pipeline.data.schema import IngestError
from pipeline.graphs.io import load_graphs, save_graphs
from pipeline.graphs.propagation import NEWS, USER, twitter_trees, upfd_graphs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "raw"
UPFD = DEFAULT_DATA / "fakenewsnet" / "upfd_politifact"
FIXTURES = Path(__file__).parent / "fixtures"
DIM = 8


# ---------------------------------------------------------------- UPFD


@pytest.fixture(scope="module")
def upfd_raw():
    graph_of = np.load(UPFD / "node_graph_id.npy")
    labels = np.load(UPFD / "graph_labels.npy").astype(int)
    with open(UPFD / "pol_id_twitter_mapping.pkl", "rb") as fh:
        mapping = pickle.load(fh)
    lines = (UPFD / "A.txt").read_text().split("\n")
    edges = [tuple(int(v) for v in line.split(",")) for line in lines if line.strip()]
    roots = {mapping[v]: v for v in mapping if mapping[v].startswith("politifact")}
    return graph_of, labels, mapping, edges, roots


@pytest.fixture(scope="module")
def politifact():
    df, _ = ingest("politifact", DEFAULT_DATA)
    rng = np.random.default_rng(0)
    vectors = {i: rng.normal(size=DIM).astype(np.float32) for i in df["id"]}
    return df, vectors


@pytest.fixture(scope="module")
def upfd(politifact):
    df, vectors = politifact
    return upfd_graphs(DEFAULT_DATA, df, vectors)


def _local_nodes(graph_of, root):
    """Global node indexes of root's graph in local order: the news node, then the rest."""
    nodes = np.flatnonzero(graph_of == graph_of[root]).tolist()
    return [root] + [v for v in nodes if v != root]


def test_one_graph_per_joined_article(upfd, upfd_raw, politifact):
    graphs, report = upfd
    df, _ = politifact
    roots = upfd_raw[4]
    joined = set(df["id"]) & set(roots)
    assert len(joined) > 200
    assert set(graphs) == joined
    assert report["graphs"] == len(joined)
    assert report["upfd_graphs"] == 314
    assert report["UPFD graphs whose news id is not among the articles (skipped)"] == 314 - len(joined)
    assert report["articles without a UPFD graph"] == len(set(df["id"]) - set(roots))
    assert report["nodes"] == sum(g.num_nodes for g in graphs.values())
    for article_id, g in graphs.items():
        assert g.article_id == article_id


def test_news_root_and_feature_layout(upfd, politifact):
    graphs, _ = upfd
    _, vectors = politifact
    for article_id, g in graphs.items():
        n = g.num_nodes
        assert g.x.shape == (n, DIM + 4) and g.x.dtype == torch.float32
        assert g.node_type.tolist() == [NEWS] + [USER] * (n - 1)
        assert torch.equal(g.x[0, :DIM], torch.from_numpy(vectors[article_id]))
        assert (g.x[1:, :DIM] == 0).all()
        assert g.twitter_user_id[0] == -1 and (g.twitter_user_id[1:] > 0).all()
        assert g.edge_index.dtype == torch.long and g.edge_index.min() >= 0 and g.edge_index.max() < n


def test_every_edge_of_a_txt_present_once(upfd, upfd_raw):
    graphs, _ = upfd
    graph_of, _, _, edges, roots = upfd_raw
    total = 0
    for article_id, g in graphs.items():
        local = {v: i for i, v in enumerate(_local_nodes(graph_of, roots[article_id]))}
        expected = Counter((local[s], local[d]) for s, d in edges if s in local)
        built = Counter(map(tuple, g.edge_index.T.tolist()))
        assert built == expected and set(built.values()) == {1}
        total += len(expected)
    assert total == sum(g.edge_index.shape[1] for g in graphs.values())


def test_labels_agree_with_graph_labels(upfd, upfd_raw, politifact):
    graphs, report = upfd
    graph_of, labels, _, _, roots = upfd_raw
    article_label = politifact[0].set_index("id")["label"]
    for article_id, g in graphs.items():
        assert g.y.tolist() == g.upfd_label.tolist() == [labels[graph_of[roots[article_id]]]]
        assert g.y.item() == article_label[article_id]
    assert report["label disagreements, UPFD vs article (article label used)"] == 0


def test_structure_hand_checked(upfd):
    # politifact4588 in A.txt (global 8160..8171): 8160 -> 8161..8166, 8163 -> 8167, 8168,
    # 8166 -> 8169, 8169 -> 8170, 8171; users 8161 and 8162 share the Twitter id 91377501.
    g = upfd[0]["politifact4588"]
    assert g.num_nodes == 12
    assert sorted(map(tuple, g.edge_index.T.tolist())) == [
        (0, 1),
        (0, 2),
        (0, 3),
        (0, 4),
        (0, 5),
        (0, 6),
        (3, 7),
        (3, 8),
        (6, 9),
        (9, 10),
        (9, 11),
    ]
    structure = torch.expm1(g.x[:, DIM:]).round().long()
    assert g.depth.tolist() == structure[:, 0].tolist() == [0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3]
    assert structure[:, 1].tolist() == [6, 0, 0, 2, 0, 0, 1, 0, 0, 2, 0, 0]  # out-degree
    assert structure[:, 2].tolist() == [11, 0, 0, 2, 0, 0, 3, 0, 0, 2, 0, 0]  # descendants
    assert structure[:, 3].tolist() == [0, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]  # user id occurrences
    assert g.twitter_user_id[1] == g.twitter_user_id[2] == 91377501


def test_structure_matches_parent_walk_on_every_graph(upfd, upfd_raw):
    graphs, _ = upfd
    graph_of, _, _, edges, roots = upfd_raw
    parent_of = {d: s for s, d in edges}
    out_degree = Counter(s for s, _ in edges)
    for article_id, g in graphs.items():
        order = _local_nodes(graph_of, roots[article_id])
        depth, descendants = [], Counter()
        for v in order:
            chain = []
            while v in parent_of:
                v = parent_of[v]
                chain.append(v)
            depth.append(len(chain))
            descendants.update(chain)
        structure = torch.expm1(g.x[:, DIM:]).round().long()
        assert structure[:, 0].tolist() == depth
        assert structure[:, 1].tolist() == [out_degree[v] for v in order]
        assert structure[:, 2].tolist() == [descendants[v] for v in order]


def test_article_label_wins_and_missing_vector_counted(politifact):
    df, vectors = politifact
    df = df.copy()
    df.loc[df["id"] == "politifact4588", "label"] ^= 1
    vectors = {k: v for k, v in vectors.items() if k != "politifact554"}
    graphs, report = upfd_graphs(DEFAULT_DATA, df, vectors)
    g = graphs["politifact4588"]
    assert g.y.item() == 1 - g.upfd_label.item()
    assert report["label disagreements, UPFD vs article (article label used)"] == 1
    examples = report["examples"]["label disagreements, UPFD vs article (article label used)"]
    assert examples == ["politifact4588: UPFD 0, article 1"] or examples == ["politifact4588: UPFD 1, article 0"]
    assert "politifact554" not in graphs
    assert report["UPFD graphs whose article has no news vector (skipped)"] == 1


def _copy_upfd(tmp_path: Path) -> Path:
    folder = tmp_path / "fakenewsnet" / "upfd_politifact"
    folder.mkdir(parents=True)
    for path in UPFD.iterdir():
        shutil.copyfile(path, folder / path.name)  # copyfile: the originals are read-only
    return folder


def test_upfd_bad_input(tmp_path, politifact):
    df, vectors = politifact
    folder = _copy_upfd(tmp_path)
    a_txt = (UPFD / "A.txt").read_text()
    (folder / "A.txt").write_text(a_txt + "8161, 8167\n")  # a second parent inside politifact4588
    graphs, report = upfd_graphs(tmp_path, df, vectors)
    assert "politifact4588" not in graphs and len(graphs) == len(upfd_graphs(DEFAULT_DATA, df, vectors)[0]) - 1
    reason = "UPFD graphs that are not a tree rooted at the news node (skipped)"
    assert report[reason] == 1 and "user node with several parents" in report["examples"][reason][0]

    lines = a_txt.split("\n")
    (folder / "A.txt").write_text("\n".join(lines[:2] + ["0; 3"] + lines[3:]))
    with pytest.raises(IngestError, match=r"A\.txt:3: expected 'src, dst'"):
        upfd_graphs(tmp_path, df, vectors)
    (folder / "graph_labels.npy").unlink()
    with pytest.raises(IngestError, match="graph_labels.npy: file not found"):
        upfd_graphs(tmp_path, df, vectors)


def test_save_and_load_round_trip(upfd, tmp_path):
    graphs = dict(list(upfd[0].items())[:3])
    save_graphs(graphs, tmp_path / "upfd.pt")
    loaded = load_graphs(tmp_path / "upfd.pt")
    assert set(loaded) == set(graphs)
    for key, g in graphs.items():
        assert torch.equal(loaded[key].x, g.x) and torch.equal(loaded[key].edge_index, g.edge_index)
        assert loaded[key].article_id == key


# ---------------------------------------------------------------- Twitter15/16


def _parse_lines(path: Path):
    """[(parent, child)] per non-empty line, nodes as (uid, tweet_id, delay) strings."""
    lines = [line for line in path.read_text().split("\n") if line.strip()]
    return [tuple(tuple(ast.literal_eval(side)) for side in line.split("->")) for line in lines]


@pytest.fixture(scope="module")
def twitter_articles():
    df, _ = ingest("twitter15_16", FIXTURES)
    return df


@pytest.fixture(scope="module")
def trees(twitter_articles):
    return twitter_trees(FIXTURES, twitter_articles)


def test_one_tree_per_article_counts_against_lines(trees, twitter_articles):
    graphs, report = trees
    assert set(graphs) == set(twitter_articles["id"]) and report["graphs"] == 40
    skipped_lines = 0
    for article_id, extra in zip(twitter_articles["id"], twitter_articles["extra"]):
        lines = _parse_lines(FIXTURES / json.loads(extra)["tree_file"])
        pairs = [(p[:2], c[:2]) for p, c in lines if p[0] != "ROOT"]
        distinct = {pair for pair in pairs if pair[0] != pair[1]}
        nodes = {n for pair in distinct for n in pair}
        g = graphs[article_id]
        assert g.num_nodes == len(nodes)  # every node of these files reaches the root
        assert g.edge_index.shape == (2, g.num_nodes - 1)
        skipped_lines += len(pairs) - (g.num_nodes - 1)
        # every tree edge is a line of the file, with the file's delays
        delay = {(u, t): float(d) for p, c in lines for u, t, d in (p, c)}
        order = list(zip(map(str, g.uid.tolist()), map(str, g.tweet_id.tolist())))
        assert g.delay.tolist() == pytest.approx([delay[n] for n in order])
        for s, d in g.edge_index.T.tolist():
            assert (order[s], order[d]) in distinct
            assert g.edge_delay[d - 1].item() == pytest.approx(delay[order[d]] - delay[order[s]], abs=1e-4)
    assert skipped_lines == (
        report["repeated edge lines (skipped)"]
        + report["self-loop lines (skipped)"]
        + report["edges not in the tree: second parent, back into the root or cycle (dropped)"]
    )
    assert report["malformed tree lines (skipped)"] == report["articles without a tree file (no graph)"] == 0


def test_root_line_gives_node_zero(trees, twitter_articles):
    graphs, _ = trees
    for article_id, extra in zip(twitter_articles["id"], twitter_articles["extra"]):
        path = FIXTURES / json.loads(extra)["tree_file"]
        (root_parent, root), *_ = _parse_lines(path)
        assert root_parent == ("ROOT", "ROOT", "0.0") and root[1] == path.stem
        g = graphs[article_id]
        assert (str(g.uid[0].item()), str(g.tweet_id[0].item())) == root[:2]
        assert g.depth[0] == 0 and g.x[0, 2] == 1 and (g.x[1:, 2] == 0).all()
        assert (g.edge_index[1] != 0).all()  # nothing points into the root


def test_hand_checked_tree(trees):
    # twitter15 407231591191035904.txt: line 6 points back into the root, lines 7-8 repeat
    # line 3, line 16 gives 1623099541 a second parent (353783891, later than it), and
    # line 19 hangs 950245256 under 1898316044 (depth 2).
    graphs, _ = trees
    g = graphs["twitter15:407231591191035904"]
    uids = g.uid.tolist()
    assert g.num_nodes == 16 and g.edge_index.shape[1] == 15
    assert uids[:6] == [1040889722, 1623099541, 739017708, 1541617633, 1050649250, 1898316044]
    assert g.delay.tolist()[:6] == pytest.approx([0.0, 1.12, 1.17, 1.68, 2.28, 12.28])
    parent = {d: s for s, d in g.edge_index.T.tolist()}
    assert parent[uids.index(1623099541)] == 0
    deep = uids.index(950245256)
    assert parent[deep] == uids.index(1898316044) and g.depth[deep] == 2
    assert g.edge_delay[deep - 1].item() == pytest.approx(14.68 - 12.28, abs=1e-4)
    assert g.depth.tolist().count(1) == 14
    out_degree = torch.expm1(g.x[:, 3]).round().long().tolist()
    assert out_degree[0] == 14 and out_degree[uids.index(1898316044)] == 1 and sum(out_degree) == 15
    assert g.x[:, 0].tolist() == pytest.approx(np.log1p(g.delay.numpy()).tolist())
    assert torch.expm1(g.x[:, 1]).round().long().tolist() == g.depth.tolist()
    assert g.y.item() == 1  # true -> rumour under the default mapping


def test_max_nodes_keeps_earliest_connected(twitter_articles):
    graphs, report = twitter_trees(FIXTURES, twitter_articles, max_nodes=5)
    full, _ = twitter_trees(FIXTURES, twitter_articles, max_nodes=None)
    assert report["trees truncated to max_nodes"] == sum(g.num_nodes > 5 for g in full.values()) == 40
    assert report["nodes dropped by max_nodes"] == sum(g.num_nodes - 5 for g in full.values())
    g = graphs["twitter15:407231591191035904"]
    assert g.num_nodes == 5 and g.edge_index.shape[1] == 4 and g.edge_index.max() < 5
    assert g.uid.tolist() == [1040889722, 1623099541, 739017708, 1541617633, 1050649250]


def _copy_fixture(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "twitter15_16", tmp_path / "twitter15_16")
    return tmp_path


def test_malformed_line_missing_file_and_no_root_counted(tmp_path, trees):
    root = _copy_fixture(tmp_path)
    tree_dir = root / "twitter15_16" / "twitter15" / "tree"
    with open(tree_dir / "407167258452971520.txt", "a") as fh:
        fh.write("['1', '2', 'soon']->['3', '4', '5.0']\nnot an edge\n")
    (tree_dir / "489829414704648192.txt").unlink()
    no_root = tree_dir / "495366618818830336.txt"
    no_root.write_text("\n".join(no_root.read_text().split("\n")[1:]))
    articles, _ = ingest("twitter15_16", root)
    graphs, report = twitter_trees(root, articles)

    assert report["malformed tree lines (skipped)"] == 2
    assert report["examples"]["malformed tree lines (skipped)"] == [
        "twitter15_16/twitter15/tree/407167258452971520.txt:21 [ids must be digits, delay a number]",
        "twitter15_16/twitter15/tree/407167258452971520.txt:22",
    ]
    assert report["articles without a tree file (no graph)"] == 1
    assert report["tree files without a ROOT line (no graph)"] == 1
    assert "twitter15:489829414704648192" not in graphs and "twitter15:495366618818830336" not in graphs
    assert report["graphs"] == 38
    original = trees[0]["twitter15:407167258452971520"]
    assert torch.equal(graphs["twitter15:407167258452971520"].edge_index, original.edge_index)


def test_root_line_further_down_still_roots_the_tree(tmp_path, trees):
    root = _copy_fixture(tmp_path)
    path = root / "twitter15_16" / "twitter15" / "tree" / "407231591191035904.txt"
    lines = path.read_text().rstrip("\n").split("\n")
    path.write_text("\n".join(lines[1:10] + lines[:1] + lines[10:]) + "\n")
    articles, _ = ingest("twitter15_16", root)
    graphs, report = twitter_trees(root, articles)
    assert report["ROOT line not the first line (kept)"] == 1
    moved, original = graphs["twitter15:407231591191035904"], trees[0]["twitter15:407231591191035904"]
    assert torch.equal(moved.uid, original.uid) and torch.equal(moved.edge_index, original.edge_index)
