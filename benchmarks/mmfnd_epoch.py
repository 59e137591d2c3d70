"""MMFND epoch time: training over cached features vs re-encoding every batch, in one run.

Both paths run the same MMFND forward/backward/update over the train rows of the default
MediaEval slice in the same mini-batches. The re-encoding path does what the published code
does each batch: read and decode the batch's images from disk, run the real text encoder
(MiniLM) on its texts and the real image CNN (EfficientNet-Lite0) on its images. The encoders
run frozen (no encoder backward), so this is a lower bound on the published cost. Both paths
take the joint (CLIP-substitute) vectors from the cache: the CCA alignment is a cheap linear
map on top of the two encoders, whose cost is what is measured.

A re-encoding epoch is timed in full unless --max-batches is smaller than the epoch; then the
mean batch time is extrapolated to the epoch (and the output says so).

Usage: python benchmarks/mmfnd_epoch.py [--data-root data/raw] [--cached-epochs 20] [--max-batches N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch

from pipeline.device import resolve_device
from pipeline.features import registry
from pipeline.features.embed import encoder_input, load_row_images
from pipeline.models.mmfnd import MMFNDNet, MMFNDSettings, train_step
from pipeline.vectors import vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=Path("data/raw"))
    parser.add_argument("--articles", type=Path, default=Path("data/interim/mediaeval2016/articles.parquet"))
    parser.add_argument("--embeddings", type=Path, default=Path("data/processed/mediaeval2016/embeddings.parquet"))
    parser.add_argument("--batch-size", type=int, default=64, help="MMFND mini-batch (its default)")
    parser.add_argument(
        "--text-batch-size", type=int, default=16, help="encoder batch inside a mini-batch (params.yaml embed)"
    )
    parser.add_argument("--image-batch-size", type=int, default=4, help="idem for images")
    parser.add_argument("--cached-epochs", type=int, default=20, help="cached epochs to average over")
    parser.add_argument("--max-batches", type=int, default=None, help="time at most this many re-encoding batches")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(f"device: {device}, torch threads: {torch.get_num_threads()}")

    articles = pd.read_parquet(args.articles)
    table = pq.read_table(args.embeddings)
    position = {key: i for i, key in enumerate(table.column("id").to_pylist())}
    rows = np.array([position[key] for key in articles["id"]])
    cached = [torch.as_tensor(vectors(table, c)[rows]) for c in ("text", "image", "clip_text", "clip_image")]
    cached.append(torch.as_tensor(np.asarray(table.column("has_image").to_pylist(), bool)[rows]))
    cached = [c.to(device) for c in cached]
    train = np.flatnonzero(articles["split"].to_numpy() == "train")
    labels = articles["label"].to_numpy(np.int64)
    y = torch.as_tensor(labels).to(device)
    batches = [
        torch.as_tensor(b)
        for b in np.array_split(
            np.random.default_rng(0).permutation(train), range(args.batch_size, len(train), args.batch_size)
        )
    ]

    torch.manual_seed(0)
    model = MMFNDNet(cached[0].shape[1], cached[1].shape[1], cached[2].shape[1]).to(device).train()
    settings = MMFNDSettings()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)

    def cached_batch(idx):
        idx = idx.to(device)
        return tuple(c[idx] for c in cached)

    text_enc, _ = registry.text_encoder(registry.DEFAULTS["text"], device)
    image_enc, _ = registry.image_encoder(registry.DEFAULTS["image"], device)

    def encoded_batch(idx):
        df = articles.iloc[idx.numpy()]
        text = text_enc.encode(encoder_input(df), batch_size=args.text_batch_size, progress=False)
        chosen, _, loaded = load_row_images(df, args.data_root)
        has_image = np.array([p is not None for p in chosen])
        image = np.zeros((len(df), image_enc.dim), np.float32)
        image[has_image] = image_enc.encode(
            [loaded[p] for p in chosen if p is not None], batch_size=args.image_batch_size, progress=False
        )
        joint = [c[idx.to(device)] for c in cached[2:4]]  # cached joint vectors (see docstring)
        return (
            torch.as_tensor(text).to(device),
            torch.as_tensor(image).to(device),
            *joint,
            torch.as_tensor(has_image).to(device),
        )

    def step(batch, idx):
        train_step(model, optimizer, batch, y[idx.to(device)], None)

    # Warm-up (first-call overheads), and a check that re-encoding reproduces the cache.
    check = encoded_batch(batches[0])
    step(check, batches[0])
    step(cached_batch(batches[0]), batches[0])
    diff = {
        name: float((check[i] - cached_batch(batches[0])[i]).abs().max()) for i, name in ((0, "text"), (1, "image"))
    }

    start = time.perf_counter()
    for _ in range(args.cached_epochs):
        for idx in batches:
            step(cached_batch(idx), idx)
    cached_epoch = (time.perf_counter() - start) / args.cached_epochs

    timed = batches[: args.max_batches] if args.max_batches else batches
    start = time.perf_counter()
    for idx in timed:
        step(encoded_batch(idx), idx)
    encoded_epoch = (time.perf_counter() - start) / len(timed) * len(batches)
    extrapolated = len(timed) < len(batches)

    print(f"train rows: {len(train)}, batches per epoch: {len(batches)} (batch size {args.batch_size})")
    print(f"re-encoded vs cached vectors, max |diff|: text {diff['text']:.2e}, image {diff['image']:.2e}")
    print("joint (CLIP-substitute) vectors: taken from the cache in both paths")
    print(f"{'path':<46}{'s/epoch':>10}{'ratio':>8}")
    print(f"{f'cached features (mean of {args.cached_epochs} epochs)':<46}{cached_epoch:>10.4f}{1:>8.1f}")
    label = f"re-encode every batch ({len(timed)} of {len(batches)} batches{', extrapolated' if extrapolated else ''})"
    print(f"{label:<46}{encoded_epoch:>10.3f}{encoded_epoch / cached_epoch:>8.1f}")


if __name__ == "__main__":
    main()
