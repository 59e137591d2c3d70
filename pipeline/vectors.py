"""Vectors and provenance in Parquet: fixed-size-list float32 columns and the JSON metadata
every stage writes under META_KEY. Readers import this alone, not the encoders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

META_KEY = b"fnd_meta"


def vector_column(rows: list, dim: int) -> pa.Array:
    return pa.array([None if r is None else np.asarray(r, np.float32) for r in rows], type=pa.list_(pa.float32(), dim))


def read_meta(table_or_path) -> dict:
    import pyarrow.parquet as pq

    schema = pq.read_schema(table_or_path) if isinstance(table_or_path, (str, Path)) else table_or_path.schema
    return json.loads(schema.metadata[META_KEY])


def vectors(table: pa.Table, column: str) -> np.ndarray:
    """A fixed-size-list column as an (n, dim) float32 matrix (nulls become zeros)."""
    col = table.column(column).combine_chunks()
    dim = col.type.list_size
    flat = col.fill_null(pa.scalar([0.0] * dim, col.type)).flatten().to_numpy(zero_copy_only=False)
    return flat.reshape(len(col), dim).astype(np.float32)
