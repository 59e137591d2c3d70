"""Stage train: one method, or one of its ablation variants, on one dataset, every configured seed.

It writes models/<name>/<dataset>/{model.pkl, predictions.parquet, train.json},
metrics/<name>/<dataset>.json (test and val: mean over seeds with std beside; each seed under
its seed) and metrics/plots/<name>/<dataset>/{roc,precision_recall}.csv.

    python -m stages.train <method or variant> <dataset>
"""

from __future__ import annotations

import argparse
import json
import pickle

import pandas as pd

from pipeline import config
from pipeline.device import resolve_device
from pipeline.evaluate import add_llm_coverage, evaluate, llm_coverage, plot_data
from pipeline.methods import ParamsError, settings_dict, spec, train_params
from pipeline.seed_checkpoints import SeedCheckpoints
from pipeline.train import NotApplicable, load_inputs, substitutes, train
from stages import fail_clearly

PREDICTION_COLUMNS = ["id", "split", "prob_fake", "pred", "seed", "label"]


def run(name: str, dataset: str, params: dict) -> dict:
    """Trains the method or variant `name` on `dataset`; returns its metrics."""
    method_spec = spec(name)  # raises for an unknown name
    cfg = train_params(params)
    if dataset not in params.get("datasets", {}):
        raise ParamsError(f"unknown dataset {dataset!r}; params.yaml datasets: {', '.join(params.get('datasets', {}))}")
    values = settings_dict(name, params)  # checked before any work
    data, articles = load_inputs(dataset, method_spec.reads)
    device = str(resolve_device(cfg.get("device", "auto")))
    lines = substitutes(data, method_spec.reads)
    return _train_one(
        name, dataset, method_spec, data, articles["label"].to_numpy(), values, cfg.get("seeds", [0]), device, lines
    )


def _train_one(name, dataset, method_spec, data, labels, values, seeds, device, lines) -> dict:
    predictions, records, models, reason = [], [], {}, None
    checkpoints = SeedCheckpoints.for_stage(values | {"device": device})
    try:
        for seed in seeds:
            finished = checkpoints.load(seed)
            model, preds, record = finished or train(method_spec, data, values, seed, device)
            if not finished:
                checkpoints.save(seed, (model, preds, record))
            predictions.append(preds.assign(label=labels))
            records.append(record | {"settings": values})
            models[seed] = model
    except NotApplicable as err:  # an input the dataset should have is empty (e.g. every image failed to load)
        predictions, records, reason = (
            [pd.DataFrame(columns=PREDICTION_COLUMNS)],
            [{"not_applicable": str(err)}],
            str(err),
        )
    out = config.model_dir(name, dataset)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "model.pkl", "wb") as fh:
        pickle.dump(models, fh)
    frame = pd.concat(predictions)
    frame.to_parquet(out / "predictions.parquet", index=False)
    (out / "train.json").write_text(json.dumps(records, indent=2) + "\n")
    metrics = _write_metrics(name, dataset, frame, records, reason, lines, llm_coverage(method_spec, data))
    checkpoints.clear()
    return metrics


def _write_metrics(
    name: str,
    dataset: str,
    predictions: pd.DataFrame,
    records: list[dict],
    reason: str | None,
    lines: list[str],
    coverage: dict | None = None,
) -> dict:
    metrics = {"method": name, "dataset": dataset}
    plots = config.plots_dir(name, dataset)
    plots.mkdir(parents=True, exist_ok=True)
    if reason:
        metrics["not_applicable"] = reason
        frames = plot_data(predictions.iloc[:0].assign(seed=0))
    else:
        metrics |= evaluate(predictions)
        for record in records:
            metrics["seeds"][str(record["seed"])]["selected"] = record.get(
                "selected", {"epoch": record.get("selected_epoch")}
            )
        metrics["substitutes"] = lines
        add_llm_coverage(metrics, coverage)
        frames = plot_data(predictions)
    path = config.metrics_path(name, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2) + "\n")
    for kind, frame in frames.items():
        frame.round(6).to_csv(plots / f"{kind}.csv", index=False)
    return metrics


HEADLINE_LABELS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "auc": "AUC"}


def summary(name: str, dataset: str, metrics: dict) -> str:
    """The console line of one metrics file: each headline test metric's mean ± std over the seeds,
    said to be that, with the seeds named (a seed's own figures are under `seeds` in the file)."""
    if "not_applicable" in metrics:
        return f"{name}/{dataset}: not applicable: {metrics['not_applicable']}"
    seeds = sorted(metrics.get("seeds", {}), key=int)
    over = f"{len(seeds)} seed{'' if len(seeds) == 1 else 's'} ({', '.join(seeds)})"
    test = metrics.get("test")
    if not test:
        return f"{name}/{dataset}: no test rows to score ({over})"
    figures = ", ".join(
        f"{label} {test[key]:.4f} ± {test.get(f'{key}_std', 0.0):.4f}" if test.get(key) is not None else f"{label} n/a"
        for key, label in HEADLINE_LABELS.items()
    )
    warning = f"\nwarning: {metrics['warning']}" if "warning" in metrics else ""
    return f"{name}/{dataset} test, mean ± std over {over}: {figures}{warning}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a method or one of its ablation variants")
    parser.add_argument("dataset")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    with fail_clearly():
        metrics = run(args.name, args.dataset, config.load_params(args.params))
    print(summary(args.name, args.dataset, metrics))


if __name__ == "__main__":
    main()
