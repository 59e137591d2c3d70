"""The comparison report, built from committed metrics only (never from models or test labels).

Runs: the embedded default (params.yaml, metrics/<method>/<dataset>.json; a method that does
not apply to a dataset has no stage and is listed with the registry's reason) and every
full-data run under reports/full/<name>/ (its params.yaml and metrics/<method>.json). Output:
- summary.json: every run × dataset × method, test mean ± std over seeds, or why not applicable;
  for a method predicting from the LLM's scores, the share of test rows the LLM scored
  (`test_llm_coverage`; results.md marks a share below 1 and says what the other rows got);
- results.md with PNG figures: per-dataset tables and bar charts, ROC curves, the papers'
  numbers next to ours, sweep curves, and every substitute the metrics name;
- sweeps/<run>/<dataset>/<param>.csv: the sweep curves as DVC plot data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from pipeline import methods  # noqa: E402
from pipeline.errors import BadInput, MissingFile
from pipeline.papers import PUBLISHED  # noqa: E402

HEADLINE = ("accuracy", "macro_f1", "auc")
DIAGNOSTICS = "reports/diagnostics"  # the diagnostic scripts' Markdown tables


@dataclass
class Run:
    key: str  # "embedded" or "full/<name>"
    params: dict
    metrics: dict[tuple[str, str], dict] = field(default_factory=dict)  # (method, dataset) -> metrics JSON
    plots_dir: Path | None = None
    locked: dict[str, dict[str, str]] = field(default_factory=dict)  # a full run's dvc.lock: stage -> dep path -> md5

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(dataset for _, dataset in self.metrics))

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(method for method, _ in self.metrics))


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise BadInput(f"{path}: cannot read metrics ({err})") from err


def load_runs(root: Path) -> list[Run]:
    """The embedded run (every configured method × dataset must have metrics) and the full runs."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    embedded = Run("embedded", params, plots_dir=root / "metrics/plots")
    trained: dict[tuple[str, str], list[str]] = {}  # (dataset, method) -> the method, then its variants
    for name, dataset in methods.trained(params):
        trained.setdefault((dataset, methods.spec(name).name), []).append(name)
    for dataset in params.get("datasets", {}):
        for method in methods.train_params(params).get("methods", []):
            if (dataset, method) not in trained:
                reason = methods.not_applicable(method, dataset, params)
                embedded.metrics[method, dataset] = {"method": method, "dataset": dataset, "not_applicable": reason}
                continue
            for name in trained[dataset, method]:
                path = root / "metrics" / name / f"{dataset}.json"
                if not path.exists():
                    raise MissingFile(f"{path}: no metrics for {name} on {dataset}; run `dvc repro` first")
                embedded.metrics[name, dataset] = _read(path)
    runs = [embedded]
    for folder in sorted(p for p in (root / "reports/full").glob("*") if (p / "metrics").is_dir()):
        run = Run(f"full/{folder.name}", yaml.safe_load((folder / "params.yaml").read_text()))
        run.locked = locked_deps(folder / "dvc.lock")
        for path in sorted((folder / "metrics").glob("*.json")):
            metrics = _read(path)
            run.metrics[metrics.get("method", path.stem), metrics.get("dataset", folder.name)] = metrics
        runs.append(run)
    return runs


def locked_deps(lock: Path) -> dict[str, dict[str, str]]:
    """Each stage a dvc.lock records, with the md5 of each of its dependencies."""
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {}) if lock.exists() else {}
    return {name: {dep["path"]: dep.get("md5") for dep in stage.get("deps", [])} for name, stage in stages.items()}


def model_code(method: str) -> str:
    """The file that holds a method's model, e.g. pipeline/models/mmfnd.py."""
    return methods.spec(method).module.replace(".", "/") + ".py"


# md5 of a model file -> md5 of its next version, where the two train the same models: the slice's
# stages, re-run with the next version, gave every metric byte for byte the same. A full run of the
# earlier version counts as run with today's code.
SAME_RESULTS = {
    # pipeline/models/inside.py, 2026-12-06: the input width comes from the intent vectors, not the text vectors
    "f457458c31a9eb13a9468f329070fa98": "b884507f87ca3464204c6b903e12b5bd",
}


def ran_current_code(run: Run, method: str, dataset: str) -> bool:
    """Whether the full run's own stage for the method (train-<method>-<dataset> in its dvc.lock)
    read the method's model file as this code has it, or a version that trains the same models
    (SAME_RESULTS). Runs locked before the stage graph named that file (it named all of
    pipeline/models) do not; nor does a method whose stage is older than another stage of the
    run (STAGES=… in scripts/full_run.sh re-runs some stages alone)."""
    current = Path(importlib.util.find_spec(methods.spec(method).module).origin).read_bytes()
    recorded = run.locked.get(f"train-{method}-{dataset}", {}).get(model_code(method))
    while recorded in SAME_RESULTS:
        recorded = SAME_RESULTS[recorded]
    return recorded == hashlib.md5(current).hexdigest()


def summarise(metrics: dict) -> dict:
    if "not_applicable" in metrics:
        return {"not_applicable": metrics["not_applicable"]}
    test = metrics["test"]
    row = {key: {"mean": test[key], "std": test[f"{key}_std"]} for key in HEADLINE if key in test} | {
        "seeds": len(metrics["seeds"]),
        "test_items": test["n"],
        "validation_saturated": validation_saturated(metrics),
    }
    if "llm_coverage" in test:  # pipeline.evaluate.add_llm_coverage
        row["test_llm_coverage"] = test["llm_coverage"]
    if "warning" in metrics:
        row["warning"] = metrics["warning"]
    return row


def validation_saturated(metrics: dict) -> bool:
    """Whether validation was perfect (AUC 1, or accuracy 1 without an AUC) on every seed: then
    early stopping and model selection could not tell epochs or settings apart."""
    scores = [
        entry["val"]["auc"] if entry["val"].get("auc") is not None else entry["val"]["accuracy"]
        for entry in metrics["seeds"].values()
        if "val" in entry
    ]
    return bool(scores) and min(scores) >= 1.0


def summary(runs: list[Run]) -> dict:
    out: dict = {}
    for run in runs:
        for (method, dataset), metrics in run.metrics.items():
            out.setdefault(run.key, {}).setdefault(dataset, {})[method] = summarise(metrics)
    return out


def base_method(name: str) -> str:
    return methods.spec(name).name


def effective_settings(name: str, params: dict) -> dict:
    """The settings a method or variant trains with (pipeline.methods.settings)."""
    settings = methods.settings_dict(name, params)
    if settings.get("use_pseudo_labels") is False:  # no pseudo labels is the top-p = 0 point
        settings |= {"use_pseudo_labels": True, "pseudo_top_p": 0.0}
    return settings


def sweep_points(run: Run, dataset: str, base: str, param: str) -> pd.DataFrame:
    reference = effective_settings(base, run.params)
    rows = []
    for method in run.methods:
        metrics = run.metrics.get((method, dataset))
        if metrics is None or "not_applicable" in metrics or base_method(method) != base:
            continue
        settings = effective_settings(method, run.params)
        if {k: v for k, v in settings.items() if k != param} != {k: v for k, v in reference.items() if k != param}:
            continue
        test = metrics["test"]
        rows.append(
            {
                "value": float(settings[param]),
                "method": method,
                "accuracy": test["accuracy"],
                "accuracy_std": test["accuracy_std"],
                "macro_f1": test["macro_f1"],
            }
        )
    return pd.DataFrame(rows, columns=["value", "method", "accuracy", "accuracy_std", "macro_f1"]).sort_values("value")


def _cell(summary_row: dict, key: str) -> str:
    value = summary_row.get(key)
    if value is None:
        return ""
    seeds_agree = value["std"] < 5e-7  # float noise of identical seeds
    return f"{value['mean']:.3f}" if seeds_agree else f"{value['mean']:.3f} ± {value['std']:.3f}"


def _percent(share: float) -> str:
    """A share as a percentage that reads 100% only when it is 1 (and 0% only when it is 0)."""
    percent = share * 100
    if 0 < share < 1:
        percent = min(max(percent, 0.1), 99.9)
    text = f"{percent:.1f}".removesuffix(".0")
    return f"{text}%"


def _coverage_note(row: dict) -> str:
    """' (LLM coverage 40%)' for a row whose test rows the LLM did not all score, else ''."""
    share = row.get("test_llm_coverage")
    return "" if share is None or share >= 1 else f" (LLM coverage {_percent(share)})"


def _coverage_lines(rows: dict[str, dict]) -> list[str]:
    """The footnote of a table with rows the LLM did not fully score: what those rows got."""
    partial = {m: r["test_llm_coverage"] for m, r in rows.items() if r.get("test_llm_coverage", 1) < 1}
    if not partial:
        return []
    lines = ["", "LLM coverage below 100% (the share of test rows the LLM scored, beside the accuracy):"]
    for method, share in partial.items():
        unscored = methods.spec(method).unscored
        lines.append(
            f"- `{method}`: {_percent(share)}; {unscored}"
            + (": **no test row was scored, so these numbers say nothing about the LLM**." if share == 0 else ".")
        )
    return lines


def _slug(*parts: str) -> str:
    return "_".join(p.replace("/", "-") for p in parts)


def _bar_chart(rows: dict[str, dict], title: str, path: Path) -> None:
    names = [m for m, r in rows.items() if "accuracy" in r]
    means = [rows[m]["accuracy"]["mean"] for m in names]
    stds = [rows[m]["accuracy"]["std"] for m in names]
    bases = [base_method(m) for m in names]
    labels = [m + _coverage_note(rows[m]) for m in names]
    palette = {b: plt.cm.tab10(i % 10) for i, b in enumerate(dict.fromkeys(bases))}
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(names) + 1.2))
    ax.barh(labels[::-1], means[::-1], xerr=stds[::-1], color=[palette[b] for b in bases[::-1]], capsize=2)
    ax.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("test accuracy (mean ± std over seeds)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _roc_chart(plots_dir: Path, methods: list[str], dataset: str, path: Path) -> bool:
    """One ROC figure over `methods` at `path`; False (and no figure) when none has ROC data."""
    rocs = [plots_dir / method / dataset / "roc.csv" for method in methods]
    curves = {m: pd.read_csv(roc) for m, roc in zip(methods, rocs) if roc.exists() and roc.stat().st_size > 10}
    if not curves:
        return False
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for method, frame in curves.items():
        ax.plot(frame["fpr"], frame["tpr"], label=method, linewidth=1.2)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC, {dataset} (seed 0)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _sweep_chart(points: pd.DataFrame, param: str, title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    ax.errorbar(points["value"], points["accuracy"], yerr=points["accuracy_std"], marker="o", capsize=3)
    ax.set_xlabel(param)
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sample_size(run: Run, dataset: str) -> int | None:
    """The ingest option `sample` of a run's dataset: a seeded sample of about that many articles."""
    return ((run.params.get("ingest", {}).get("options") or {}).get(dataset) or {}).get("sample")


def _run_title(run: Run) -> str:
    if run.key == "embedded":
        return "Embedded default"
    name = run.key.split("/", 1)[1]
    size = sample_size(run, name)
    return f"Full data: {name}" + (f" (a seeded sample of about {size} articles)" if size else "")


def write(root: Path, out: Path) -> dict:
    """Writes out/summary.json, out/results.md, out/figures/ and out/sweeps/; returns the summary."""
    runs = load_runs(root)
    table = summary(runs)
    figures, sweeps = out / "figures", out / "sweeps"
    figures.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(table, indent=2) + "\n")
    lines = [
        "# Results report",
        "",
        "Generated by the `report` stage of `dvc repro` from the committed metrics (`fnd report`); "
        "do not edit by hand.",
        "Test split, mean ± std over seeds; a single number means every seed gave that figure. Model selection",
        "used validation only. `reports/summary.json` holds the same numbers.",
        "",
    ]
    lines += _papers_section(runs, table)
    sweep_lines: list[str] = []
    for run in runs:
        lines += [f"## {_run_title(run)}", ""]
        for dataset in run.datasets:
            rows = table[run.key][dataset]
            applicable = {m: r for m, r in rows.items() if "not_applicable" not in r}
            items = {r["test_items"] for r in applicable.values()}
            lines += [f"### {dataset}" + (f" ({', '.join(map(str, sorted(items)))} test items)" if items else ""), ""]
            if not applicable:
                lines += ["No method applies to this dataset.", ""]
                continue
            lines += ["| method | kind | accuracy | macro-F1 | AUC |", "|---|---|---|---|---|"]
            for method, row in applicable.items():
                base = base_method(method)
                kind = methods.spec(base).kind if method == base else f"{base} variant"
                lines.append(
                    f"| `{method}` | {kind} | {_cell(row, 'accuracy')}{_coverage_note(row)} | "
                    f"{_cell(row, 'macro_f1')} | {_cell(row, 'auc')} |"
                )
            lines += _coverage_lines(applicable)
            saturated = [m for m, r in applicable.items() if r["validation_saturated"]]
            if saturated:
                lines += [
                    "",
                    f"Validation saturated for {', '.join(f'`{m}`' for m in saturated)}: perfect on every "
                    "seed, so early stopping and model selection could not tell epochs or settings apart "
                    "(docs/findings.md).",
                ]
            by_reason: dict[str, list[str]] = {}  # a method and its variants share their reason
            for method in sorted(m for m in rows if m not in applicable):
                by_reason.setdefault(rows[method]["not_applicable"], []).append(method)
            if by_reason:
                reasons = "; ".join(f"{', '.join(f'`{m}`' for m in names)}: {why}" for why, names in by_reason.items())
                lines += ["", f"Not applicable here: {reasons}."]
            bar = figures / f"{_slug(run.key, dataset)}_accuracy.png"
            _bar_chart(applicable, f"{_run_title(run)}: {dataset}", bar)
            lines += ["", f"![accuracy on {dataset}](figures/{bar.name})"]
            if run.plots_dir is not None:
                main = [m for m in applicable if base_method(m) == m]
                roc = figures / f"{_slug(run.key, dataset)}_roc.png"
                if _roc_chart(run.plots_dir, main, dataset, roc):
                    lines += [f"![ROC on {dataset}](figures/{roc.name})"]
            lines.append("")
            sweep_lines += _sweeps(run, dataset, sweeps, figures)
    if sweep_lines:
        lines += [
            "## Sweeps",
            "",
            "Points are the ablation variants that differ from the method's settings in one",
            "parameter only; the curves' data are DVC plots (`dvc plots show reports/sweeps`).",
            "",
        ] + sweep_lines
    lines += _diagnostics_section(root / DIAGNOSTICS)
    lines += _substitutes_section(runs)
    (out / "results.md").write_text("\n".join(lines).rstrip() + "\n")
    return table


def _sweeps(run: Run, dataset: str, sweeps: Path, figures: Path) -> list[str]:
    lines = []
    for base in dict.fromkeys(map(base_method, run.methods)):
        for param in methods.spec(base).sweeps:
            points = sweep_points(run, dataset, base, param)
            if len(points) < 2:
                continue
            csv = sweeps / run.key / dataset / f"{base}_{param}.csv"
            csv.parent.mkdir(parents=True, exist_ok=True)
            points.round(6).to_csv(csv, index=False)
            png = figures / f"{_slug(run.key, dataset)}_{base}_{param}.png"
            _sweep_chart(points, param, f"{base}: accuracy vs {param} ({dataset})", png)
            curve = ", ".join(f"{v:g}: {a:.3f}" for v, a in zip(points["value"], points["accuracy"]))
            lines += [
                f"**{_run_title(run)}, {dataset}, `{base}` vs `{param}`** ({curve})",
                "",
                f"![{base} {param} sweep](figures/{png.name})",
                "",
            ]
    return lines


def _papers_section(runs: list[Run], table: dict) -> list[str]:
    lines = [
        "## The papers' numbers and ours",
        "",
        "| paper | dataset | paper acc | paper F1 | ours | our acc | our macro-F1 | not like for like |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for pub in PUBLISHED:
        found = [
            (run, name)
            for name in pub.ours
            for run in runs
            if "accuracy" in table.get(run.key, {}).get(name, {}).get(pub.method, {})
        ]
        paper = f"| {pub.paper} | {pub.dataset} | {pub.accuracy or '–'} | {pub.f1 or '–'} |"
        if not found:
            lines.append(f"{paper} not run ({', '.join(pub.ours)}) | | | {pub.differs} |")
        for run, name in found:
            row = table[run.key][name][pub.method]
            size = sample_size(run, name)
            where = (
                "embedded slice"
                if run.key == "embedded"
                else f"sample of about {size} articles"
                if size
                else "full data"
            )
            where = f"{where} ({name})"
            if run.key != "embedded" and not ran_current_code(run, pub.method, name):
                where += f", run with earlier code than today's `{model_code(pub.method)}`"
            lines.append(
                f"{paper} {where} | {_cell(row, 'accuracy')}{_coverage_note(row)} | {_cell(row, 'macro_f1')} "
                f"| {pub.differs} |"
            )
    return lines + [
        "",
        "Our numbers come from the substitutes listed at the end, on the data named; docs/methods.md (fidelity "
        "and substitutes) and docs/findings.md say why they differ from the papers'.",
        "",
    ]


def _diagnostics_section(folder: Path) -> list[str]:
    """The tables of scripts/ (authors' test-selected epoch, oracle noise, LGCL's protocols, a full
    re-run beside the run it replaced), each under its file's name, its own headings three levels down."""
    files = sorted(folder.glob("*.md"))
    if not files:
        return []
    lines = [
        "## Diagnostics and re-run comparisons (not results)",
        "",
        f"Tables the scripts in `scripts/` wrote to `{DIAGNOSTICS}/` (docs/experiments.md says how to make "
        "them). Each says what it reads: some read test labels by construction, so none is a result "
        "or a basis for choosing anything.",
        "",
    ]
    for path in files:
        lines += [f"### `{path.name}`", ""]
        lines += ["###" + line if line.startswith("#") else line for line in path.read_text().splitlines()]
        lines.append("")
    return lines


def _substitutes_section(runs: list[Run]) -> list[str]:
    uses: dict[str, set[str]] = {}
    for run in runs:
        for (method, _), metrics in run.metrics.items():
            for substitute in metrics.get("substitutes", []):
                uses.setdefault(substitute, set()).add(base_method(method))
        cap = run.params.get("graphs", {}).get("similarity", {}).get("max_neighbours")
        if cap:
            graph = (
                f"similarity graph of {run.key}: each edge among the {cap} strongest of either endpoint "
                f"(graphs.similarity.max_neighbours; the paper keeps every edge above theta)"
            )
            uses[graph] = {"glpn", "gcn_lp"}
        for dataset in run.datasets:
            size = sample_size(run, dataset)
            if size:
                sample = (
                    f"{dataset} in {run.key}: a seeded sample of about {size} articles "
                    "(ingest option sample; the paper uses them all)"
                )
                uses[sample] = {
                    base_method(method)
                    for (method, name), metrics in run.metrics.items()
                    if name == dataset and "not_applicable" not in metrics
                }
    lines = ["## Substitutes", "", "Every component standing in for a paper's, as the metrics name them:", ""]
    lines += [f"- {substitute} (used by {', '.join(sorted(methods))})" for substitute, methods in sorted(uses.items())]
    return lines + [""]
