"""Pick the torch device: 'auto' means CUDA when present, else CPU."""

from __future__ import annotations

import torch

from pipeline.errors import ParamsError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParamsError(f"device {name!r} requested but CUDA is not available on this machine")
    return device
