"""Embedding throughput: batched vs one item at a time, text and images, in one run.

Reads real posts and images from the embedded default (data/raw) or --data-root, encodes
the same items both ways with the default encoders and prints items/s and the ratio.

Usage: python benchmarks/embed_throughput.py [--data-root data/raw] [--items 128] [--batch-sizes 4,16,64]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from pipeline.data.ingest import ingest
from pipeline.device import resolve_device
from pipeline.features import registry
from pipeline.features.embed import encoder_input, load_row_images


def _rate(fn, items) -> float:
    start = time.perf_counter()
    fn(items)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=Path("data/raw"))
    parser.add_argument("--items", type=int, default=128, help="items per set")
    parser.add_argument("--batch-sizes", default="4,16,64")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    print(f"device: {device}, torch threads: {torch.get_num_threads()}")

    politifact, _ = ingest("politifact", args.data_root)
    mediaeval, _ = ingest("mediaeval2016", args.data_root)
    _, _, loaded = load_row_images(mediaeval, args.data_root)
    text_enc, _ = registry.text_encoder(registry.DEFAULTS["text"], device)
    image_enc, _ = registry.image_encoder(registry.DEFAULTS["image"], device)
    sets = [
        ("text: tweets (mediaeval2016)", text_enc, encoder_input(mediaeval)[: args.items]),
        ("text: articles (politifact)", text_enc, encoder_input(politifact)[: args.items]),
        ("images (mediaeval2016)", image_enc, [loaded[p] for p in sorted(loaded)][: args.items]),
    ]
    header = f"{'items':<30}{'n':>5}{'one-at-a-time/s':>17}" + "".join(
        f"{f'batch {b}/s':>13}{'ratio':>7}" for b in batch_sizes
    )
    print(header)
    for name, enc, items in sets:
        enc.encode(items[:4], batch_size=4, progress=False)  # warm-up
        single = _rate(lambda xs, enc=enc: [enc.encode([x], batch_size=1, progress=False) for x in xs], items)
        line = f"{name:<30}{len(items):>5}{single:>17.1f}"
        for b in batch_sizes:
            batched = _rate(lambda xs, enc=enc, b=b: enc.encode(xs, batch_size=b, progress=False), items)
            line += f"{batched:>13.1f}{batched / single:>7.2f}"
        print(line)


if __name__ == "__main__":
    main()
