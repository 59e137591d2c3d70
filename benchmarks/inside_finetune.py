"""InSide's epoch time with the frozen text encoder (the default) and with its last layer
trained (`train.inside.finetune_last_layer`, as the paper does), in one run.

Trains InSide with the params.yaml settings for a few epochs each way on a dataset whose
stages have run, and prints seconds per epoch, the ratio, the one-off pass of the frozen
layers over every node text, and that text count. On a full-data run's scratch clone:

    python benchmarks/inside_finetune.py --root /tmp/fnd-full-politifact --dataset politifact

Usage: python benchmarks/inside_finetune.py [--root .] [--dataset politifact] [--epochs 2]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch
import yaml

from pipeline.methods import settings, spec
from pipeline.models.inside import InSideDetector
from pipeline.train import load_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("."), help="a pipeline checkout whose stages have run")
    parser.add_argument("--dataset", default="politifact")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    params = yaml.safe_load((args.root / "params.yaml").read_text())
    data, _ = load_inputs(args.dataset, spec("inside").reads, root=args.root)
    chosen = dataclasses.asdict(settings("inside", params)) | {"epochs": args.epochs, "patience": args.epochs}
    texts = {t for g in data.sentence_graphs if g is not None for t in g.node_text}
    threads = torch.get_num_threads()
    print(f"{args.dataset}: {len(data)} articles, {len(texts)} distinct node texts, torch threads: {threads}")
    seconds = {}
    for finetune in (False, True):
        record = InSideDetector(**chosen | {"finetune_last_layer": finetune}).fit(data)
        seconds[finetune] = record["seconds_per_epoch"]
        once = f", frozen layers once: {record['frozen_encoder_seconds']} s" if finetune else ""
        print(f"finetune_last_layer={finetune}: {seconds[finetune]:.2f} s/epoch{once}")
    print(f"last layer trained / frozen: {seconds[True] / seconds[False]:.1f}x per epoch")


if __name__ == "__main__":
    main()
