"""Timestamp parsing shared by adapters: unparseable values become null and are counted."""

from __future__ import annotations

import pandas as pd

from pipeline.data.schema import IngestReport
from pipeline.data.validate import clean_text

TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"


def parse_timestamp(value, report: IngestReport, location: str, fmt: str | None = None, unit: str | None = None):
    """Return a UTC pd.Timestamp, or None (flagged 'unparseable timestamp') when it cannot be read."""
    text = clean_text(value)
    if not text or text.lower() in {"null", "none", "nan"}:
        return None
    try:
        if unit:
            return pd.Timestamp(float(text), unit=unit, tz="UTC")
        return pd.to_datetime(text, format=fmt, utc=True)
    except (ValueError, OverflowError, TypeError):
        report.flag("unparseable timestamp (kept as null)", location)
        return None
