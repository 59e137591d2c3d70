"""Node features shared by the per-article graph builders."""

from __future__ import annotations

import numpy as np


def encode_distinct(encoder, strings: list[str], progress: bool) -> dict[str, np.ndarray]:
    """Encode each distinct string once (sentences, entity names and concepts repeat a lot)."""
    distinct = sorted(set(strings))
    vectors = encoder.encode(distinct, progress=progress) if distinct else np.zeros((0, encoder.dim), np.float32)
    return dict(zip(distinct, vectors))
