"""Save and load graphs: a dict article id -> torch_geometric Data, in one torch file.

Loading unpickles Data objects, so it needs weights_only=False: load only files this
pipeline wrote."""

from __future__ import annotations

from pathlib import Path

import torch
from torch_geometric.data import Data


def save_graphs(graphs: dict[str, Data], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(graphs, path)


def load_graphs(path: Path) -> dict[str, Data]:
    return torch.load(Path(path), weights_only=False)
