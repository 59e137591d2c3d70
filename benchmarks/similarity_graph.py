"""Similarity graph: blocked builder vs the published dense approach, and the blocked
builder alone at scale. Each measurement runs in its own process so peak memory (max RSS)
is its own.

Vectors are synthetic: unit vectors around random cluster centres, so that edges exist at
θ = 0.95, as near-duplicate posts produce in real data. The cost depends only on N and
the vector dimension, not on what the vectors mean.

Usage: python benchmarks/similarity_graph.py [--compare-nodes 20000] [--scale-nodes 100000] [--dim 512]
       [--device auto] [--block 2048]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time

import numpy as np


def synthetic(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(n // 50, 1), dim)).astype(np.float32)
    which = rng.integers(0, len(centres), n)

    def around(spread):
        x = centres[which] + spread * rng.normal(size=(n, dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return around(0.15), around(0.15)


def measure(kind: str, n: int, dim: int, device: str, block: int) -> dict:
    """Run one build in this process; print a JSON line with time, peak memory and edges."""
    import resource

    import torch

    from pipeline.device import resolve_device
    from pipeline.graphs.similarity import dense_edges, similarity_edges

    text, image = synthetic(n, dim)
    start = time.perf_counter()
    if kind == "dense":
        src, dst, types, _ = dense_edges(text, image, 0.95)
    else:
        dev = resolve_device(device)
        src, dst, types, _ = similarity_edges(text, image, 0.95, block=block, device=dev, progress=False)
        if dev.type == "cuda":
            torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    digest = hashlib.sha256(b"".join(a.astype(np.int64).tobytes() for a in (src, dst, types))).hexdigest()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {
        "kind": kind,
        "nodes": n,
        "seconds": round(seconds, 2),
        "peak_gb": round(peak_gb, 2),
        "edges": int(len(src)),
        "edge_digest": digest,
    }


def run_child(kind: str, n: int, dim: int, device: str, block: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(n), str(dim), device, str(block)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, n, dim, device, block = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
        print(json.dumps(measure(kind, n, dim, device, block)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare-nodes", type=int, default=20_000)
    parser.add_argument("--scale-nodes", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--block", type=int, default=2048)
    args = parser.parse_args()

    blocked = run_child("blocked", args.compare_nodes, args.dim, args.device, args.block)
    dense = run_child("dense", args.compare_nodes, args.dim, "cpu", args.block)
    print(f"{args.compare_nodes} nodes x {args.dim}-d, θ=0.95")
    for row in (dense, blocked):
        print(f"  {row['kind']:<8} {row['seconds']:>8.1f} s  peak {row['peak_gb']:>6.2f} GB  edges {row['edges']}")
    print(
        f"  dense/blocked: time x{dense['seconds'] / blocked['seconds']:.2f}, "
        f"peak memory x{dense['peak_gb'] / blocked['peak_gb']:.2f}, "
        f"identical edge sets: {dense['edge_digest'] == blocked['edge_digest']}"
    )
    if args.scale_nodes:
        scale = run_child("blocked", args.scale_nodes, args.dim, args.device, args.block)
        print(
            f"{args.scale_nodes} nodes x {args.dim}-d blocked ({args.device}, block {args.block}): "
            f"{scale['seconds']:.1f} s, "
            f"peak {scale['peak_gb']:.2f} GB, {scale['edges']} edges"
        )


if __name__ == "__main__":
    main()
