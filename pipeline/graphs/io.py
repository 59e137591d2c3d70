"""Save and load graphs (a dict article id -> torch_geometric Data, in one torch file) and their
statistics (metrics/graphs/<dataset>/<name>.json).

Loading unpickles Data objects, so it needs weights_only=False: load only files this
pipeline wrote."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch_geometric.data import Data

from pipeline import config


def save_graphs(graphs: dict[str, Data], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(graphs, path)


def load_graphs(path: Path) -> dict[str, Data]:
    return torch.load(Path(path), weights_only=False)


def save_stats(dataset: str, name: str, stats: dict) -> None:
    path = config.graph_stats_path(dataset, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
