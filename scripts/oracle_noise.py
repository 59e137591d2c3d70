"""Oracle-noise diagnostic for GLPN-LLM: how much would a better LLM change GLPN?

Our LLM is a small substitute, so GLPN-LLM's pseudo labels are poor. This script trains GLPN
with SIMULATED pseudo labels of a controlled accuracy a: for every test row the simulated
LLM label is the true label, flipped with probability 1 - a, and its confidence c is drawn
uniformly from [0.5, 1), independently of whether the label is right; the simulated P(fake)
is c for a fake label, else 1 - c. GLPN then takes its usual top `pseudo_top_p` most
confident test rows as pseudo labels (pipeline/models/glpn.py). Each a is compared with
gcn_lp (the same network without pseudo labels) and with GLPN on the real LLM's scores.

With --method lgcl, the same for LGCL's negatives: every article's zero-shot class is its
true label, flipped with probability 1 - a (LGCL reads the class of every article, test
included, label-free), compared with LGCL without the negative term (lam = 0, no LLM) and with
LGCL on the real LLM's classes.

Each fit is appended to the CSV (--out) as it finishes, and a fit already there (same LLM, a and
seed) is not run again: an interrupted run goes on where it stopped, and a later run with other
--seeds adds them to the table. Delete the CSV to start over, e.g. after a model change.

Caveat: the simulation reads the TEST labels by construction. The numbers size what a better
LLM could change; they are not results and must never be used to choose settings.

    python scripts/oracle_noise.py [--method glpn] [--dataset mediaeval2016] [--seeds 0 1 2] \
        [--accuracies 0.6 0.7 0.8 0.9]
    python scripts/oracle_noise.py --method lgcl --dataset politifact
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pipeline import config
from pipeline.evaluate import classification_metrics
from pipeline.methods import artifact_path, settings_dict, spec
from pipeline.models.glpn import pseudo_labels
from pipeline.models.inputs import MethodInputs
from pipeline.train import load_inputs, train

HEADER = (
    "Oracle-noise diagnostic: the simulated LLM outputs (GLPN's pseudo labels, LGCL's zero-shot classes) are "
    "made from the TEST labels, so these numbers are not results; they size what a better LLM could change."
)


def simulate_llm(data: MethodInputs, truth: np.ndarray, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    """Simulated P(fake) per row: on test rows the true label kept with probability `accuracy`
    (else flipped) at a confidence uniform in [0.5, 1) drawn independently of correctness;
    NaN on train and val rows, so GLPN never gives them a pseudo label."""
    test = np.flatnonzero(data.mask("test"))
    correct = rng.random(len(test)) < accuracy
    label = np.where(correct, truth[test], 1 - truth[test])
    confidence = rng.uniform(0.5, 1.0, len(test))
    prob = np.full(len(data), np.nan)
    prob[test] = np.where(label == 1, confidence, 1.0 - confidence)
    return prob


def simulate_classes(truth: np.ndarray, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    """Simulated zero-shot class per article, every split: the true label kept with probability
    `accuracy`, else flipped."""
    return np.where(rng.random(len(truth)) < accuracy, truth, 1 - truth).astype(np.int64)


def fit(method: str, data: MethodInputs, truth: np.ndarray, values: dict, seed: int) -> dict:
    """Test accuracy and macro-F1 of one fit, with the accuracy of the pseudo labels it used."""
    _, predictions, record = train(spec(method), data, values, seed, "cpu")
    test = data.mask("test")
    metrics = classification_metrics(truth[test], predictions["prob_fake"].to_numpy()[test])
    chosen = pseudo_labels(data, values["pseudo_top_p"]) if values.get("use_pseudo_labels") else {}
    hits = [truth[row] == label for row, label in chosen.items()]
    return {
        "test_accuracy": metrics["accuracy"],
        "test_macro_f1": metrics["macro_f1"],
        "pseudo_labels": len(chosen),
        "pseudo_label_accuracy": float(np.mean(hits)) if hits else np.nan,
        "selected_epoch": record["selected_epoch"],
    }


class Ledger:
    """The CSV of finished fits: rows already in it are kept and not fitted again, and each new
    fit is appended as it finishes, so no finished fit is lost to an interruption."""

    def __init__(self, path: Path, dataset: str):
        self.path, self.dataset = path, dataset
        self.frame = pd.read_csv(path, comment="#") if path.exists() else pd.DataFrame()
        if len(self.frame) and set(self.frame["dataset"]) != {dataset}:
            raise SystemExit(f"error: {path} holds fits of {sorted(set(self.frame['dataset']))}, not {dataset}")

    def has(self, llm: str, a: float, seed: int) -> bool:
        if not len(self.frame):
            return False
        same_a = self.frame["a"].isna() if np.isnan(a) else np.isclose(self.frame["a"], a)
        return bool(((self.frame["llm"] == llm) & same_a & (self.frame["seed"] == seed)).any())

    def add(self, row: dict) -> None:
        new = pd.DataFrame([row | {"dataset": self.dataset}])
        if len(self.frame) and list(new.columns) != list(self.frame.columns):
            raise SystemExit(
                f"error: {self.path} has the columns {list(self.frame.columns)}, written by another --method"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            if not len(self.frame):  # the caveat heads the CSV too (pd.read_csv(..., comment="#"))
                fh.write(f"# {HEADER}\n")
            new.to_csv(fh, index=False, header=not len(self.frame))
        self.frame = pd.concat([self.frame, new], ignore_index=True) if len(self.frame) else new


def run(dataset: str, seeds: list[int], accuracies: list[float], params: dict, ledger: Ledger) -> pd.DataFrame:
    data, _ = load_inputs(dataset, spec("glpn").reads)
    articles = pd.read_parquet(config.require(artifact_path("articles", dataset)), columns=["id", "label"])
    truth = articles.set_index("id")["label"].loc[data.ids].to_numpy(dtype=np.int64)  # test labels: the oracle
    glpn, gcn_lp = settings_dict("glpn", params), settings_dict("gcn_lp", params)

    def record(llm: str, a: float, seed: int, method: str, inputs: MethodInputs, values: dict) -> None:
        if ledger.has(llm, a, seed):
            return
        row = {"llm": llm, "a": a, "seed": seed, "method": method} | fit(method, inputs, truth, values, seed)
        ledger.add(row)
        what = f"simulated LLM, a={a}" if llm == "simulated" else f"{llm} LLM"
        print(
            f"{method} ({what}), seed {seed}: test accuracy {row['test_accuracy']:.4f}, epoch "
            f"{row['selected_epoch']}, {row['pseudo_labels']} pseudo labels, {row['pseudo_label_accuracy']:.2f} right",
            flush=True,
        )

    for seed in seeds:
        record("no", np.nan, seed, "gcn_lp", data, gcn_lp)
        record("real", np.nan, seed, "glpn", data, glpn)
        for a in accuracies:
            rng = np.random.default_rng([seed, round(a * 1000)])
            simulated = dataclasses.replace(data, llm_prob_fake=simulate_llm(data, truth, a, rng))
            record("simulated", a, seed, "glpn", simulated, glpn)
    return ledger.frame


def run_lgcl(dataset: str, seeds: list[int], accuracies: list[float], params: dict, ledger: Ledger) -> pd.DataFrame:
    data, _ = load_inputs(dataset, spec("lgcl").reads)
    articles = pd.read_parquet(config.require(artifact_path("articles", dataset)), columns=["id", "label"])
    truth = articles.set_index("id")["label"].loc[data.ids].to_numpy(dtype=np.int64)  # test labels: the oracle
    lgcl = settings_dict("lgcl", params)

    def record(llm: str, a: float, seed: int, inputs: MethodInputs, values: dict) -> None:
        if ledger.has(llm, a, seed):
            return
        _, predictions, _ = train(spec("lgcl"), inputs, values, seed, "cpu")
        test = inputs.mask("test")
        metrics = classification_metrics(truth[test], predictions["prob_fake"].to_numpy()[test])
        classes = inputs.llm_zero_shot
        ledger.add(
            {
                "llm": llm,
                "a": a,
                "seed": seed,
                "test_accuracy": metrics["accuracy"],
                "test_macro_f1": metrics["macro_f1"],
                "classes_right": float((classes == truth)[classes >= 0].mean()) if values["lam"] else np.nan,
            }
        )
        what = f"simulated LLM, a={a}" if llm == "simulated" else f"{llm} LLM"
        print(f"lgcl ({what}), seed {seed}: test accuracy {metrics['accuracy']:.4f}", flush=True)

    for seed in seeds:
        record("no", np.nan, seed, data, lgcl | {"lam": 0.0})
        record("real", np.nan, seed, data, lgcl)
        for a in accuracies:
            rng = np.random.default_rng([seed, round(a * 1000)])
            simulated = dataclasses.replace(data, llm_zero_shot=simulate_classes(truth, a, rng))
            record("simulated", a, seed, simulated, lgcl)
    return ledger.frame


def _stat(part: pd.DataFrame, column: str = "test_accuracy") -> str:
    return f"{part[column].mean():.4f} ± {part[column].std(ddof=0):.4f}"


def table_lgcl(frame: pd.DataFrame) -> str:
    """The markdown report for LGCL: one row per accuracy a (mean ± std over seeds)."""
    no_llm, real = frame[frame["llm"] == "no"], frame[frame["llm"] == "real"]
    lines = [
        HEADER,
        "",
        "| accuracy a | LGCL test accuracy | LGCL without negatives (lam = 0) | real-LLM LGCL |",
        "|---|---|---|---|",
    ]
    for a, part in frame[frame["llm"] == "simulated"].groupby("a"):
        lines.append(f"| {a:g} | {_stat(part)} | {_stat(no_llm)} | {_stat(real)} |")
    seeds = ", ".join(str(s) for s in sorted(frame["seed"].unique()))
    return "\n".join(lines) + (
        f"\n\nTest accuracy, mean ± std over seeds {seeds}; dataset {frame['dataset'].iat[0]}. The real LLM's "
        f"zero-shot classes are right for {_stat(real, 'classes_right')} of the articles.\n"
    )


def table(frame: pd.DataFrame) -> str:
    """The markdown report: the header, then one row per accuracy a (mean ± std over seeds)."""

    real_rows = frame[frame["llm"] == "real"]
    baseline, real = _stat(frame[frame["llm"] == "no"]), _stat(real_rows)
    lines = [
        HEADER,
        "",
        "| accuracy a | GLPN test accuracy | pseudo labels right | gcn_lp | real-LLM GLPN |",
        "|---|---|---|---|---|",
    ]
    for a, part in frame[frame["llm"] == "simulated"].groupby("a"):
        lines.append(f"| {a:g} | {_stat(part)} | {_stat(part, 'pseudo_label_accuracy')} | {baseline} | {real} |")
    seeds = ", ".join(str(s) for s in sorted(frame["seed"].unique()))
    n = int(frame["pseudo_labels"].max())
    return "\n".join(lines) + (
        f"\n\nTest accuracy, mean ± std over seeds {seeds}; dataset {frame['dataset'].iat[0]}. "
        f"GLPN gives at most {n} test rows a pseudo label. `pseudo labels right`: the share of "
        "the chosen simulated pseudo labels that are correct (the real LLM's: "
        f"{_stat(real_rows, 'pseudo_label_accuracy')}).\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["glpn", "lgcl"], default="glpn")
    parser.add_argument("--dataset", default="mediaeval2016")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--accuracies", type=float, nargs="+", default=[0.6, 0.7, 0.8, 0.9])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument(
        "--out", type=Path, help="CSV path (default reports/diagnostics/oracle_noise[_lgcl]_<dataset>.csv)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small graphs: one thread is as fast and leaves the CPU to other jobs
    print(HEADER, flush=True)
    name = "oracle_noise_lgcl" if args.method == "lgcl" else "oracle_noise"
    out = args.out or Path("reports/diagnostics") / f"{name}_{args.dataset}.csv"
    ledger = Ledger(out, args.dataset)
    if len(ledger.frame):
        print(f"{len(ledger.frame)} fits already in {out}: not fitted again", flush=True)
    runner = run_lgcl if args.method == "lgcl" else run
    frame = runner(args.dataset, args.seeds, args.accuracies, config.load_params(args.params), ledger)
    report = table_lgcl(frame) if args.method == "lgcl" else table(frame)
    out.with_suffix(".md").write_text(report, encoding="utf-8")
    print(report)
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
