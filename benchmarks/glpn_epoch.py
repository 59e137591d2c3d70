"""GLPN-LLM epoch time on a dataset's similarity graph, full and capped, in one run.

Rebuilds the similarity edges from the dataset's joint vectors (every pair above --theta),
keeps for each cap the edges among the k strongest of either endpoint (as
`graphs.similarity.max_neighbours`; 0 = the full graph), then trains GLPN for a few epochs
on each and prints edges, seconds per epoch and the ratio to the full graph. Point it
at a full-data run's scratch clone to see why the full MediaEval run caps the graph on CPU:

    python benchmarks/glpn_epoch.py --root /tmp/fnd-full-mediaeval2016 --dataset mediaeval2016

Usage: python benchmarks/glpn_epoch.py [--root .] [--dataset mediaeval2016] [--caps 0 64 32 16] [--epochs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from pipeline.graphs.similarity import cap_neighbours, similarity_edges
from pipeline.models.glpn import GLPNDetector
from pipeline.train import load_inputs


def with_edges(data, src: np.ndarray, dst: np.ndarray, score: np.ndarray, k: int):
    """`data` over the undirected edges (src, dst), only those among the k strongest of
    either endpoint when k > 0, in both directions."""
    if k:
        keep = cap_neighbours(src, dst, score, k)
        src, dst, score = src[keep], dst[keep], score[keep]
    return dataclasses.replace(
        data,
        edge_index=np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])]),
        edge_weight=np.concatenate([score, score]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("."), help="a pipeline checkout whose stages have run")
    parser.add_argument("--dataset", default="mediaeval2016")
    parser.add_argument("--caps", type=int, nargs="+", default=[0, 64, 32, 16])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--theta", type=float, default=0.95)
    args = parser.parse_args()
    data, _ = load_inputs(args.dataset, ("articles", "embeddings", "llm"), root=args.root)
    if data.clip_text is None:
        raise SystemExit(f"{args.dataset}: no joint vectors, so no similarity graph")
    src, dst, _, score = similarity_edges(data.clip_text, data.clip_image, args.theta, progress=False)
    print(f"{args.dataset}: {len(data)} nodes, torch threads: {torch.get_num_threads()}, {args.epochs} epochs per cap")
    print("cap | directed edges | s/epoch | speed-up vs full")
    GLPNDetector(epochs=1, patience=2).fit(
        with_edges(data, src, dst, score, 1)
    )  # warm-up: first-call overheads belong to no cap
    seconds = {}
    for k in args.caps:
        graph = with_edges(data, src, dst, score, k)
        # patience above the epoch count: every run trains exactly --epochs epochs
        seconds[k] = GLPNDetector(epochs=args.epochs, patience=args.epochs + 1).fit(graph)["seconds_per_epoch"]
        ratio = f"{seconds[0] / seconds[k]:.1f}x" if 0 in seconds else "(full graph not timed)"
        print(f"{k or 'none'} | {graph.edge_index.shape[1]:,} | {seconds[k]:.3f} | {ratio}")


if __name__ == "__main__":
    main()
