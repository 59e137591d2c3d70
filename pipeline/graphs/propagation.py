"""News propagation graphs: UPFD PolitiFact graphs and Twitter15/16 retweet/reply trees.

One torch_geometric Data per article id, node 0 = the root (the news item or source tweet),
`edge_index` parent -> child, `y` = the article's label (tensor of shape [1]) and
`article_id`. Counts of everything skipped or odd go to the report dict each builder
returns; up to five 'file:line' (or id) examples per reason go to report["examples"].

UPFD PolitiFact (`upfd_graphs`; fakenewsnet/upfd_politifact/ under the data root). What
the files hold, measured on the full copy (41,054 nodes, 40,740 edges, 314 graphs, 157 fake):
- node_graph_id.npy: node -> graph index, sorted, so each graph's nodes are contiguous.
- pol_id_twitter_mapping.pkl: node -> 'politifact<n>' for exactly one node per graph, the
  graph's first node (the news root), and an anonymous Twitter user id for all others.
  5,305 user nodes repeat a user id already seen in the same graph: a node is one post
  (tweet/retweet) by a user, not a user, so nodes are kept as the file has them.
- A.txt: 'src, dst' per line, global indexes. Every edge stays inside one graph, points
  from the news root to a user (22,307) or from a user to a user (18,433), never into the
  root, src < dst always, no duplicates or self loops, and every user node has exactly
  one incoming edge: each graph is a tree rooted at the news node. The edge direction is
  the file's: news -> user who posted it, user -> user who spread it on from them (the
  UPFD paper infers that source from follow relations and time).
- graph_labels.npy: 1 = fake. It agrees with the article labels of the ingest adapter on
  all 272 graphs that join an article (0 disagreements); where they would disagree the
  article's canonical label is `y` (counted, and `upfd_label` keeps the graph's).
Of the 314 graphs, 42 have no article on the full data (the ingest adapter skips 25 of
their ids for empty text and 1 for sitting under both fake/ and real/; 16 have no content
folder); they are skipped and counted. A graph that is not a tree rooted at its single
news node is skipped and counted (none on the real data).

UPFD node features. The original UPFD user features (profile + tweet-history embeddings)
are not in this copy: user nodes have only an anonymous id and the structure. Node 0 is
the news node, then the graph's user nodes in the file's node order.
x = [news text vector (d) | log1p(depth), log1p(out-degree), log1p(descendants),
log1p(occurrences of this node's user id in the graph)], width d + 4. The news node
(node 0, node_type 0) gets the article's text-encoder vector and its own structural
values (depth 0, out-degree = users who posted the news, descendants = cascade size,
occurrences 0); user nodes (node_type 1) get zeros in the text part. In-degree is left
out because it is 1 for every user node. Also kept: `depth` (raw), `twitter_user_id`
(int64, -1 for the news node) and `upfd_label`.

Twitter15/16 (`twitter_trees`; the tree_file of each twitter15_16 article). Lines are
"['uid', 'tweet_id', 'delay']->['uid', 'tweet_id', 'delay']" with the delay in minutes
after the file's source tweet. A node is a distinct (uid, tweet_id) pair; a retweet keeps
the source tweet's id, so the user tells retweets apart (no user id appears on two nodes
of one tree). The 'ROOT' line names the root.
Measured on the full copy (2,308 files, 985,686 lines besides the ROOT lines):
- 27 files have their ROOT line further down; in 17 of them the ROOT child is not the
  file's tweet but an earlier one (negative delay), and the file's tweet id appears further
  down the tree. The ROOT line wins (both counted).
- 2,171 self-loop lines and 26,729 repeated edge lines; 12,070 further edges give a node a
  second parent (449 of them point back into the root). No node carries two different
  delays, and every node reaches the root. 944,716 edges and 947,024 nodes remain.
- Delays are not always later than the parent's: in the grown trees 12 edges have a child
  earlier than its parent and 753 nodes have a negative delay (kept, counted).
- Tree sizes: 56 to 3,089 nodes, median 266; 532 trees exceed 500 nodes.
The tree is grown from the root in order of delay (ties: file line): the next node is
the earliest child of a node already in the tree, and its parent is, of its parents
already in the tree, the one whose edge comes first in the file. A second parent, an
edge back into the root or a cycle is thereby dropped (counted), and the result is a
tree with parent index < child index. `max_nodes` keeps the first max_nodes nodes of
that order: the earliest nodes by delay that stay connected to the root (truncations
counted). Self loops and repeated lines are counted skips; malformed lines are counted
skips with file:line; a tree without a ROOT line and an article without a tree file are
counted. The 169 tweets listed in both subsets get one (identical) tree per article id,
as ingest keeps both rows. No tweet text exists in this copy (README.txt names a
source_tweets.txt that was not copied), so there is no text feature: x = [sign(delay) *
log1p(|delay|), log1p(depth), is_root, log1p(out-degree)] (4 columns); also kept:
`delay` (minutes), `depth`, `uid` and `tweet_id` (int64), and `edge_delay` (child delay
minus parent delay, minutes) per edge.

PHEME reply trees are not built here: the PHEME source-tweet texts are already articles,
and reply trees exist only for the SemEval-2017 subset (pheme/semeval2017_task8), so
they are left for a later issue.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from pipeline.data.plain_pickle import load_plain
from pipeline.data.schema import IngestError, where
from pipeline.errors import ParamsError

UPFD_FOLDER = Path("fakenewsnet/upfd_politifact")
UPFD_FILES = ("A.txt", "node_graph_id.npy", "graph_labels.npy", "pol_id_twitter_mapping.pkl")
NEWS, USER = 0, 1
UPFD_STRUCTURE = ("log1p_depth", "log1p_out_degree", "log1p_descendants", "log1p_user_occurrences")
TWITTER_FEATURES = ("signed_log1p_delay", "log1p_depth", "is_root", "log1p_out_degree")
MAX_EXAMPLES = 5

_NODE = r"\['([^']*)', '([^']*)', '([^']*)'\]"
TREE_LINE = re.compile(_NODE + "->" + _NODE)


class _Counts:
    """Counted reasons plus a few examples of each (flat, like the other graph reports)."""

    def __init__(self, *always: str):
        self.counts = Counter({reason: 0 for reason in always})  # reported even when zero
        self.examples: dict[str, list[str]] = {}

    def add(self, reason: str, example: str | None = None, n: int = 1) -> None:
        self.counts[reason] += n
        if example is not None and len(self.examples.setdefault(reason, [])) < MAX_EXAMPLES:
            self.examples[reason].append(example)

    def report(self, graphs: dict[str, Data], **settings) -> dict:
        return {
            "graphs": len(graphs),
            "nodes": int(sum(g.num_nodes for g in graphs.values())),
            "edges": int(sum(g.edge_index.shape[1] for g in graphs.values())),
            **settings,
            **dict(sorted(self.counts.items())),
            "examples": self.examples,
        }


def tree_stats(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """depth, out-degree and descendants per node of a tree given as parent[i] (-1 for the
    root, node 0). None when some node cannot be reached from the root (a cycle)."""
    n = len(parent)
    children = [[] for _ in range(n)]
    for child, par in enumerate(parent):
        if par >= 0:
            children[par].append(child)
    depth = np.full(n, -1, dtype=np.int64)
    depth[0] = 0
    order = [0]
    for node in order:  # breadth-first; `order` grows while we walk it
        for child in children[node]:
            depth[child] = depth[node] + 1
            order.append(child)
    if len(order) != n:
        return None
    descendants = np.zeros(n, dtype=np.int64)
    for node in reversed(order[1:]):
        descendants[parent[node]] += descendants[node] + 1
    out_degree = np.array([len(c) for c in children], dtype=np.int64)
    return depth, out_degree, descendants


def signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _article_labels(articles: pd.DataFrame) -> dict[str, int]:
    missing = [c for c in ("id", "label") if c not in articles.columns]
    if missing:
        raise IngestError(f"articles table: missing column(s) {missing}; found {list(articles.columns)}")
    return dict(zip(articles["id"].astype(str), articles["label"].astype(int)))


# ---------------------------------------------------------------- UPFD


def read_upfd(folder: Path) -> dict:
    """The four UPFD files, checked for shape; a file-level problem is an IngestError
    naming the file (and line)."""
    folder = Path(folder)
    for name in UPFD_FILES:
        if not (folder / name).is_file():
            raise IngestError(f"{folder / name}: file not found (UPFD needs {', '.join(UPFD_FILES)})")
    graph_of = np.load(folder / "node_graph_id.npy")
    labels = np.load(folder / "graph_labels.npy")
    if graph_of.ndim != 1 or not np.issubdtype(graph_of.dtype, np.integer):
        raise IngestError(
            f"{folder / 'node_graph_id.npy'}: expected a 1-D integer array, got {graph_of.dtype} {graph_of.shape}"
        )
    if labels.ndim != 1:
        raise IngestError(f"{folder / 'graph_labels.npy'}: expected one 0/1 label per graph, got shape {labels.shape}")
    bad = np.flatnonzero(~np.isin(labels, (0, 1)))
    if len(bad):
        raise IngestError(f"{folder / 'graph_labels.npy'}: graph {bad[0]} has label {labels[bad[0]]}, expected 0 or 1")
    if len(graph_of) and (graph_of.min() < 0 or graph_of.max() >= len(labels)):
        raise IngestError(f"{folder / 'node_graph_id.npy'}: graph index outside 0..{len(labels) - 1}")
    mapping = load_plain(folder / "pol_id_twitter_mapping.pkl")
    if not isinstance(mapping, dict) or set(mapping) != set(range(len(graph_of))):
        raise IngestError(
            f"{folder / 'pol_id_twitter_mapping.pkl'}: expected a dict with one entry per node 0..{len(graph_of) - 1}"
        )
    edges = []
    path = folder / "A.txt"
    for line_no, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise IngestError(f"{where(path, line_no)}: expected 'src, dst' node indexes, got {line!r}")
        src, dst = int(parts[0]), int(parts[1])
        if max(src, dst) >= len(graph_of):
            raise IngestError(
                f"{where(path, line_no)}: node index beyond the {len(graph_of)} nodes of node_graph_id.npy"
            )
        edges.append((src, dst))
    return {
        "edges": np.array(edges, dtype=np.int64).reshape(-1, 2),
        "graph_of": graph_of.astype(np.int64),
        "labels": labels.astype(np.int64),
        "node_id": [str(mapping[i]) for i in range(len(graph_of))],
    }


def _upfd_parents(n: int, local_edges: np.ndarray) -> tuple[np.ndarray | None, str]:
    """parent[] of a graph whose edges must form a tree rooted at node 0, or (None, why)."""
    parent = np.full(n, -1, dtype=np.int64)
    for src, dst in local_edges:
        if dst == 0:
            return None, "edge into the news node"
        if parent[dst] >= 0:
            return None, "user node with several parents"
        parent[dst] = src
    if n > 1 and (parent[1:] < 0).any():
        return None, "user node without a parent"
    return parent, ""


def upfd_graphs(
    data_root: Path, articles: pd.DataFrame, news_vectors: dict[str, np.ndarray]
) -> tuple[dict[str, Data], dict]:
    """One Data per article id that has a UPFD graph (layout in the module docstring)."""
    upfd = read_upfd(Path(data_root) / UPFD_FOLDER)
    source = str(Path(data_root) / UPFD_FOLDER)
    label_of = _article_labels(articles)
    edges, graph_of, node_id = upfd["edges"], upfd["graph_of"], upfd["node_id"]
    dims = {np.asarray(v).shape for v in news_vectors.values()}
    if len(dims) > 1 or any(len(d) != 1 for d in dims):
        raise ValueError(f"news_vectors: expected 1-D vectors of one width, got shapes {sorted(dims)}")
    dim = dims.pop()[0] if dims else 0
    counts = _Counts(
        "articles without a UPFD graph",
        "UPFD graphs whose news id is not among the articles (skipped)",
        "label disagreements, UPFD vs article (article label used)",
    )

    crossing = graph_of[edges[:, 0]] != graph_of[edges[:, 1]]
    bad_graphs = set(graph_of[edges[crossing, 0]].tolist()) | set(graph_of[edges[crossing, 1]].tolist())
    nodes_of = defaultdict(list)
    for node, g in enumerate(graph_of.tolist()):
        nodes_of[g].append(node)
    edges_of = defaultdict(list)
    for src, dst in edges[~crossing].tolist():
        edges_of[int(graph_of[src])].append((src, dst))

    graphs = {}
    seen_news = set()
    for g in range(len(upfd["labels"])):
        nodes = nodes_of[g]
        news = [v for v in nodes if node_id[v].startswith("politifact")]
        if len(news) != 1:
            counts.add("UPFD graphs with no or several news nodes (skipped)", f"graph {g}: {len(news)} news nodes")
            continue
        article_id = node_id[news[0]]
        if g in bad_graphs:
            counts.add("UPFD graphs with an edge into another graph (skipped)", f"graph {g} ({article_id})")
            continue
        if article_id in seen_news:
            counts.add("UPFD graphs repeating a news id (skipped)", f"graph {g} ({article_id})")
            continue
        seen_news.add(article_id)
        if article_id not in label_of:
            counts.add("UPFD graphs whose news id is not among the articles (skipped)", article_id)
            continue
        if article_id not in news_vectors:
            counts.add("UPFD graphs whose article has no news vector (skipped)", article_id)
            continue
        order = [news[0]] + [v for v in nodes if v != news[0]]
        local = {v: i for i, v in enumerate(order)}
        local_edges = np.array([(local[s], local[d]) for s, d in edges_of[g]], dtype=np.int64).reshape(-1, 2)
        parent, why = _upfd_parents(len(order), local_edges)
        stats = tree_stats(parent) if parent is not None else None
        if stats is None:
            counts.add(
                "UPFD graphs that are not a tree rooted at the news node (skipped)",
                f"graph {g} ({article_id}): {why or 'cycle'}",
            )
            continue
        depth, out_degree, descendants = stats
        users = [node_id[v] for v in order[1:]]
        occurrences = Counter(users)
        structure = np.stack(
            [depth, out_degree, descendants, np.array([0] + [occurrences[u] for u in users])], axis=1
        ).astype(np.float32)
        x = np.zeros((len(order), dim + len(UPFD_STRUCTURE)), dtype=np.float32)
        x[0, :dim] = news_vectors[article_id]
        x[:, dim:] = np.log1p(structure)
        upfd_label = int(upfd["labels"][g])
        label = label_of[article_id]
        if upfd_label != label:
            counts.add(
                "label disagreements, UPFD vs article (article label used)",
                f"{article_id}: UPFD {upfd_label}, article {label}",
            )
        counts.add("repeated user ids within a graph (kept as separate nodes)", n=len(users) - len(occurrences))
        graphs[article_id] = Data(
            x=torch.from_numpy(x),
            edge_index=torch.from_numpy(local_edges.T.copy()),
            node_type=torch.tensor([NEWS] + [USER] * len(users), dtype=torch.long),
            depth=torch.from_numpy(depth),
            twitter_user_id=torch.tensor([-1] + [int(u) if u.isdigit() else -1 for u in users], dtype=torch.long),
            y=torch.tensor([label], dtype=torch.long),
            upfd_label=torch.tensor([upfd_label], dtype=torch.long),
            article_id=article_id,
        )
    without = sorted(set(label_of) - seen_news)
    for article_id in without:
        counts.add("articles without a UPFD graph", article_id)
    return graphs, counts.report(
        graphs,
        source=source,
        upfd_graphs=len(upfd["labels"]),
        text_dim=dim,
        features=[f"text[{dim}]", *UPFD_STRUCTURE],
    )


# ---------------------------------------------------------------- Twitter15/16


def _parse_node(uid: str, tweet: str, delay: str) -> tuple[tuple[str, str], float] | None:
    if not (uid.isdigit() and tweet.isdigit()):
        return None
    try:
        minutes = float(delay)
    except ValueError:
        return None
    return ((uid, tweet), minutes) if math.isfinite(minutes) else None


def read_tree(path: Path, rel: str, counts: _Counts) -> tuple[tuple[str, str], dict, list] | None:
    """(root, node -> delay, [(parent, child, line)] distinct edges in file order) of one
    tree file, or None (counted) when it has no usable ROOT line."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    root, delays, edges, seen = None, {}, [], set()
    roots = 0
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        loc = where(rel, line_no)
        match = TREE_LINE.fullmatch(line)
        if match is None:
            counts.add("malformed tree lines (skipped)", loc)
            continue
        child = _parse_node(*match.group(4, 5, 6))
        if match.group(1) == "ROOT":
            roots += 1
            if child is None or roots > 1:
                counts.add("malformed or repeated ROOT lines (skipped)", loc)
                continue
            if line_no > 1:
                counts.add("ROOT line not the first line (kept)", loc)
            root = child[0]
            delays.setdefault(root, child[1])
            continue
        parent = _parse_node(*match.group(1, 2, 3))
        if parent is None or child is None:
            counts.add("malformed tree lines (skipped)", f"{loc} [ids must be digits, delay a number]")
            continue
        for node, minutes in (parent, child):
            if delays.setdefault(node, minutes) != minutes:
                counts.add("nodes with conflicting delays (first kept)", f"{loc} {node}")
        if parent[0] == child[0]:
            counts.add("self-loop lines (skipped)", loc)
            continue
        if (parent[0], child[0]) in seen:
            counts.add("repeated edge lines (skipped)", loc)
            continue
        seen.add((parent[0], child[0]))
        edges.append((parent[0], child[0], line_no))
    if root is None:
        counts.add("tree files without a ROOT line (no graph)", rel)
        return None
    if root[1] != path.stem:
        counts.add("ROOT tweet differs from the file's tweet id (ROOT wins)", f"{rel}: ROOT {root[1]}")
    return root, delays, edges


def grow_tree(root, delays: dict, edges: list) -> tuple[list, list[int]]:
    """Nodes in the order they join the tree and each one's parent index (-1 for the root).
    The next node is the earliest (delay, then file line) child of a node already in."""
    children = defaultdict(list)
    for parent, child, line_no in edges:
        children[parent].append((line_no, child))
    index = {root: 0}
    order, parents = [root], [-1]
    frontier = []

    def push(node):
        for line_no, child in children[node]:
            if child not in index:
                heapq.heappush(frontier, (delays[child], line_no, child, index[node]))

    push(root)
    while frontier:
        _, _, child, parent = heapq.heappop(frontier)
        if child in index:
            continue
        index[child] = len(order)
        order.append(child)
        parents.append(parent)
        push(child)
    return order, parents


def tree_data(order: list, parents: list[int], delays: dict, label: int, article_id: str) -> Data:
    parent = np.array(parents, dtype=np.int64)
    depth, out_degree, _ = tree_stats(parent)
    delay = np.array([delays[node] for node in order], dtype=np.float64)
    child = np.arange(1, len(order))
    x = np.stack([signed_log1p(delay), np.log1p(depth), (parent < 0).astype(np.float64), np.log1p(out_degree)], axis=1)
    return Data(
        x=torch.from_numpy(x.astype(np.float32)),
        edge_index=torch.from_numpy(np.stack([parent[1:], child])),
        edge_delay=torch.from_numpy((delay[child] - delay[parent[1:]]).astype(np.float32)),
        delay=torch.from_numpy(delay.astype(np.float32)),
        depth=torch.from_numpy(depth),
        uid=torch.tensor([int(u) for u, _ in order], dtype=torch.long),
        tweet_id=torch.tensor([int(t) for _, t in order], dtype=torch.long),
        y=torch.tensor([label], dtype=torch.long),
        article_id=article_id,
    )


def twitter_trees(
    data_root: Path, articles: pd.DataFrame, *, max_nodes: int | None = 500
) -> tuple[dict[str, Data], dict]:
    """One tree per twitter15_16 article (extra.tree_file, relative to data_root)."""
    if max_nodes is not None and max_nodes < 1:
        raise ParamsError(f"graphs.propagation.max_tree_nodes must be at least 1 (or None for no cap), got {max_nodes}")
    label_of = _article_labels(articles)
    counts = _Counts(
        "articles without a tree file (no graph)",
        "malformed tree lines (skipped)",
        "trees truncated to max_nodes",
        "nodes dropped by max_nodes",
    )
    graphs = {}
    sizes = []
    for article_id, extra in zip(articles["id"].astype(str), articles["extra"]):
        rel = json.loads(extra).get("tree_file")
        if not rel:
            raise IngestError(f"articles table: row {article_id} has no tree_file in extra (not a twitter15_16 table?)")
        path = Path(data_root) / rel
        if not path.is_file():
            counts.add("articles without a tree file (no graph)", rel)
            continue
        parsed = read_tree(path, rel, counts)
        if parsed is None:
            continue
        root, delays, edges = parsed
        order, parents = grow_tree(root, delays, edges)
        unreached = set(delays) - set(order)
        counts.add("nodes not reachable from the root (dropped)", rel if unreached else None, n=len(unreached))
        counts.add(
            "edges not in the tree: second parent, back into the root or cycle (dropped)",
            n=len(edges) - (len(order) - 1),
        )
        counts.add("edges back into the root (dropped)", n=sum(c == root for _, c, _ in edges))
        sizes.append(len(order))
        if max_nodes is not None and len(order) > max_nodes:
            counts.add("trees truncated to max_nodes", f"{rel}: {len(order)} nodes")
            counts.add("nodes dropped by max_nodes", n=len(order) - max_nodes)
            order, parents = order[:max_nodes], parents[:max_nodes]
        data = tree_data(order, parents, delays, label_of[article_id], article_id)
        counts.add("kept edges whose child is earlier than its parent", n=int((data.edge_delay < 0).sum()))
        counts.add("kept nodes with a negative delay", n=int((data.delay < 0).sum()))
        graphs[article_id] = data
    size_stats = (
        {"min": int(np.min(sizes)), "median": float(np.median(sizes)), "max": int(np.max(sizes))} if sizes else {}
    )
    return graphs, counts.report(
        graphs, max_nodes=max_nodes, tree_nodes_before_cap=size_stats, features=list(TWITTER_FEATURES)
    )


def build(
    adapter: str,
    data_root: Path,
    articles: pd.DataFrame,
    news_vectors: dict[str, np.ndarray],
    max_tree_nodes: int | None = 500,
):
    """The propagation graphs a dataset's adapter has data for: (graphs, report)."""
    if adapter == "politifact":
        return upfd_graphs(data_root, articles, news_vectors)
    if adapter == "twitter15_16":
        return twitter_trees(data_root, articles, max_nodes=max_tree_nodes)
    return {}, {"graphs": 0, "not applicable": f"the {adapter} adapter has no propagation data"}
