"""`fnd check <dataset>`: what ingest makes of a dataset, as text for the console, before any
stage runs: rows kept and rejected with their reasons, the split and its label balance, the
data checks and their warnings, what the data has (images, timestamps, propagation graphs)
and which methods would not apply, with the reason."""

from __future__ import annotations

import pandas as pd

from pipeline import methods
from pipeline.data import checks
from pipeline.data.schema import LABEL_FAKE, SPLITS, IngestReport


def summary(dataset: str, df: pd.DataFrame, report: IngestReport, params: dict) -> str:
    lines = [f"{dataset}: {report.source}"]
    lines += _rows(report)
    lines += _split(report)
    lines += _checks(report)
    lines += _has(df, dataset, params)
    lines += _methods(dataset, params)
    shown = report.warnings or ["none"]
    lines.append(f"warnings ({len(report.warnings)}):")
    lines += [f"  - {w}" for w in shown]
    return "\n".join(lines)


def _examples(report: IngestReport, reason: str) -> str:
    shown = report.examples.get(reason) or []
    return f" (e.g. {shown[0]})" if shown else ""


def _rows(report: IngestReport) -> list[str]:
    lines = [f"rows: read {report.rows_read:,}, kept {report.rows_kept:,}, rejected {sum(report.rejected.values()):,}"]
    lines += [f"  rejected, {r}: {n:,}{_examples(report, r)}" for r, n in report.rejected.most_common()]
    lines += [f"  kept, {r}: {n:,}{_examples(report, r)}" for r, n in report.flagged.most_common()]
    return lines


def _split(report: IngestReport) -> list[str]:
    lines = [f"split: {report.split_method}", f"  {'split':<6}{'rows':>8}{'fake':>8}"]
    for split in SPLITS:
        counts = report.label_counts.get(split, {})  # label ("1" fake, "0" real) -> rows
        rows = sum(counts.values())
        share = f"{counts.get(str(LABEL_FAKE), 0) / rows:.0%}" if rows else "-"
        lines.append(f"  {split:<6}{rows:>8,}{share:>8}")
    return lines


def _checks(report: IngestReport) -> list[str]:
    lines = ["data checks:"]
    for name in checks.CHECKS:
        check = report.checks.get(name) or {}
        dropped = f", {check['rows_dropped']:,} dropped" if check.get("rows_dropped") else ""
        lines.append(f"  {name}: {check.get('rows', 0):,} rows (policy {check.get('policy', '-')}{dropped})")
    return lines


def _has(df: pd.DataFrame, dataset: str, params: dict) -> list[str]:
    images = int(df["image_paths"].map(lambda paths: paths is not None and len(paths) > 0).sum())
    timestamps = int(df["timestamp"].notna().sum())
    graphs = "yes" if "propagation" in methods.dataset_has(dataset, params) else "no"
    n = len(df)
    return [f"has: images on {images:,} of {n:,} rows, timestamps on {timestamps:,}, propagation graphs: {graphs}"]


def _methods(dataset: str, params: dict) -> list[str]:
    chosen = methods.train_params(params).get("methods", [])
    lines = ["methods (train.methods):"]
    for name in chosen:
        reason = methods.not_applicable(name, dataset, params)
        lines.append(f"  {name}: {'not applicable: ' + reason if reason else 'runs'}")
    return lines
