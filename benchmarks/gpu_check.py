"""GPU check (issue 26): every method trains on CUDA on the embedded default and agrees with the
committed CPU metrics; seconds per epoch on CPU and GPU; the similarity graph at 1M nodes.

    python benchmarks/gpu_check.py                      # the full check on CUDA (about 8 min at most)
    python benchmarks/gpu_check.py --device cpu --quick # a dry run: logreg and a 2,000-node graph

It writes nothing into metrics/ or models/: models are trained in memory and the results go
to --out (default: $OUT/gpu_check.json when $OUT is set, else a temporary folder). It prints
a Markdown summary and exits 1 when a method's test accuracy is further than --tolerance from
the committed seed-0 accuracy, 2 when CUDA (or a module it needs) is missing.

Why a tolerance: GPU kernels (cuBLAS, scatter-add in PyTorch Geometric, cuDNN) do not add in
the CPU's order, so losses and the early-stopping epoch can differ by rounding; on the test
splits (48 PolitiFact, 125 MediaEval articles) one flipped prediction moves accuracy by 0.021
or 0.008. 0.025 allows one flip on PolitiFact and three on MediaEval; more is a real
difference to look at.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NEEDED_MODULES = (
    "torch",
    "torch_geometric",
    "transformers",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "sklearn",
    "yaml",
    "tqdm",
)
QUICK_METHODS = ("logreg",)


class CheckError(Exception):
    """A precondition is missing (CUDA, a module): one clear line, exit 2."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu for a dry run")
    parser.add_argument("--quick", action="store_true", help="logreg only and a 2,000-node graph (a dry run)")
    parser.add_argument("--methods", nargs="*", help="methods to train (default: all, or logreg with --quick)")
    parser.add_argument("--root", default=str(ROOT), help="project folder holding data/, metrics/, params.yaml")
    parser.add_argument("--out", help="JSON file (default $OUT/gpu_check.json, else a temporary folder)")
    parser.add_argument("--tolerance", type=float, default=0.025, help="absolute test-accuracy tolerance")
    parser.add_argument("--sim-nodes", type=int, help="similarity-graph nodes (default 1,000,000; 2,000 with --quick)")
    parser.add_argument("--sim-dim", type=int, default=512, help="joint dimension (512: CLIP ViT-B/32)")
    parser.add_argument("--theta", type=float, default=0.95)
    parser.add_argument("--block", type=int, help="tile size (default 8192 on cuda, 2048 on cpu)")
    parser.add_argument("--no-cpu-baseline", action="store_true", help="skip retraining on CPU for seconds per epoch")
    parser.add_argument(
        "--budget-s", type=float, default=420.0, help="skip the CPU baseline once this many seconds have passed"
    )
    return parser.parse_args(argv)


def preflight(device: str) -> None:
    missing = [name for name in NEEDED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise CheckError(f"this Python ({sys.executable}) lacks {', '.join(missing)}; nothing can be installed here")
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CheckError(
            f"CUDA is not available (torch {torch.__version__}, built for CUDA {torch.version.cuda}): "
            "run on a GPU machine, or pass --device cpu for a dry run"
        )


def environment(device: str) -> dict:
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__, "cpu_threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        env |= {"gpu": torch.cuda.get_device_name(), "cuda": torch.version.cuda}
    return env


def epoch_seconds(record: dict) -> dict:
    """Seconds per epoch as the method's train.json records them (none for logreg, llm_only)."""
    out = {}
    for key in ("seconds_per_epoch", "mean_train_epoch_seconds"):
        if key in record:
            out["epoch"] = record[key]
    for part in ("lgcl", "gmae"):  # LGCL records its two encoders' epochs separately
        if isinstance(record.get(part), dict) and "seconds_per_epoch" in record[part]:
            out[part] = record[part]["seconds_per_epoch"]
    return out


def targets(root: Path, params: dict, methods) -> list[tuple[str, str, dict]]:
    """(method, dataset, committed metrics) for every pair with committed, applicable metrics."""
    from pipeline.methods import METHODS

    out = []
    for method in methods:
        if method not in METHODS:
            raise CheckError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
        for dataset in params.get("datasets", {}):
            path = root / "metrics" / method / f"{dataset}.json"
            committed = json.loads(path.read_text()) if path.exists() else {"not_applicable": "no metrics"}
            if "not_applicable" not in committed:
                out.append((method, dataset, committed))
    return out


def train_once(root: Path, params: dict, method: str, dataset: str, device: str) -> dict:
    """One seed (0) of `method` on `dataset` with the project's own training code, in memory."""
    from pipeline.evaluate import evaluate
    from pipeline.methods import settings_dict, spec
    from pipeline.train import load_inputs, train

    method_spec = spec(method)
    values = settings_dict(method, params)
    data, articles = load_inputs(dataset, method_spec.reads, root=root)
    start = time.perf_counter()
    _, predictions, record = train(method_spec, data, values, 0, device)
    seconds = time.perf_counter() - start
    metrics = evaluate(predictions.assign(label=articles["label"].to_numpy()))
    return {"test": metrics["seeds"]["0"]["test"], "train_seconds": round(seconds, 3), "epochs": epoch_seconds(record)}


def check_methods(args, root: Path, params: dict) -> tuple[list[dict], list[str]]:
    from pipeline.methods import METHODS, artifact_path, spec

    methods = args.methods or (QUICK_METHODS if args.quick else tuple(METHODS))
    rows, failures = [], []
    for method, dataset, committed_metrics in targets(root, params, methods):
        row = {"method": method, "dataset": dataset}
        missing = [p for name in spec(method).reads if not (root / (p := artifact_path(name, dataset))).exists()]
        if missing:  # DVC outputs are git-ignored: only what was carried (or rebuilt) is there
            row["skipped"] = f"missing artifact(s) {', '.join(missing)} (DVC outputs: carry them or dvc pull)"
            rows.append(row)
            continue
        committed = committed_metrics["seeds"]["0"]["test"]
        result = train_once(root, params, method, dataset, args.device)
        diff = abs(result["test"]["accuracy"] - committed["accuracy"])
        row |= {
            "accuracy": result["test"]["accuracy"],
            "committed_cpu_accuracy": committed["accuracy"],
            "abs_diff": round(diff, 4),
            "macro_f1": result["test"].get("macro_f1"),
            "committed_cpu_macro_f1": committed.get("macro_f1"),
            "agrees": diff <= args.tolerance,
            "train_seconds": result["train_seconds"],
            "seconds_per_epoch": result["epochs"],
        }
        recorded = root / "models" / method / dataset / "train.json"
        if recorded.exists():  # the committed run's CPU timing, when the DVC output is there
            row["recorded_cpu_seconds_per_epoch"] = epoch_seconds(json.loads(recorded.read_text())[0])
        if not row["agrees"]:
            failures.append(
                f"{method}/{dataset}: test accuracy {row['accuracy']:.4f} on {args.device} vs committed "
                f"{committed['accuracy']:.4f} (|diff| {diff:.4f} > {args.tolerance})"
            )
        rows.append(row)
        print(f"trained {method}/{dataset} on {args.device}: {result['train_seconds']:.1f} s", file=sys.stderr)
    return rows, failures


def cpu_baseline(args, root: Path, params: dict, rows: list[dict], started: float) -> None:
    """Seconds per epoch on this machine's CPU for the methods that record epochs, while the budget allows."""
    if args.no_cpu_baseline or args.device == "cpu":
        return
    for row in rows:
        if "skipped" in row or not row["seconds_per_epoch"]:
            continue
        if time.perf_counter() - started > args.budget_s:
            row["cpu_baseline"] = f"skipped: past the {args.budget_s:.0f} s budget"
            continue
        result = train_once(root, params, row["method"], row["dataset"], "cpu")
        row |= {"cpu_seconds_per_epoch": result["epochs"], "cpu_accuracy": result["test"]["accuracy"]}
        print(f"trained {row['method']}/{row['dataset']} on cpu: {result['train_seconds']:.1f} s", file=sys.stderr)


def check_similarity(args) -> dict:
    import numpy as np
    import torch

    from pipeline.graphs.similarity import similarity_edges

    n = args.sim_nodes or (2_000 if args.quick else 1_000_000)
    block = args.block or (8192 if args.device.startswith("cuda") else 2048)
    rng = np.random.default_rng(0)

    def unit(rows):
        x = rng.standard_normal((rows, args.sim_dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    text, image = unit(n), unit(n)
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    src, _, _, _ = similarity_edges(text, image, args.theta, block, args.device, progress=False)
    if cuda:
        torch.cuda.synchronize()
    out = {
        "nodes": n,
        "dim": args.sim_dim,
        "theta": args.theta,
        "block": block,
        "vectors": "random unit vectors (numpy seed 0), text and image",
        "seconds": round(time.perf_counter() - start, 2),
        "edges": int(len(src)),
    }
    if cuda:
        out["max_memory_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return out


def markdown(report: dict) -> str:
    def epochs(value):
        return ", ".join(f"{k} {v:.4f}" for k, v in (value or {}).items()) or "–"

    device = report["device"]
    lines = [
        f"## GPU check ({device}; {report['environment'].get('gpu', 'no GPU')})",
        "",
        f"Seed 0 against the committed CPU metrics (seed 0), tolerance {report['tolerance']} absolute accuracy.",
        "",
        f"| method | dataset | accuracy ({device}) | committed (CPU) | diff | agrees "
        f"| s/epoch ({device}) | s/epoch (CPU here) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["methods"]:
        if "skipped" in row:
            lines.append(f"| {row['method']} | {row['dataset']} | skipped: {row['skipped']} | | | | | |")
            continue
        cpu = (
            epochs(row.get("cpu_seconds_per_epoch")) if "cpu_seconds_per_epoch" in row else row.get("cpu_baseline", "–")
        )
        lines.append(
            f"| {row['method']} | {row['dataset']} | {row['accuracy']:.4f} | {row['committed_cpu_accuracy']:.4f} | "
            f"{row['abs_diff']:.4f} | {'yes' if row['agrees'] else '**no**'} "
            f"| {epochs(row['seconds_per_epoch'])} | {cpu} |"
        )
    sim = report["similarity_graph"]
    lines += [
        "",
        f"Similarity graph: {sim['nodes']:,} nodes, {sim['dim']}-d, θ = {sim['theta']}, block {sim['block']}: "
        f"{sim['seconds']} s, {sim['edges']:,} edges"
        + (
            f", max_memory_allocated {sim['max_memory_allocated_gib']} GiB" if "max_memory_allocated_gib" in sim else ""
        ),
        "",
        f"Result: {'OK' if report['ok'] else 'FAILED: ' + '; '.join(report['failures'])} ({report['seconds']} s)",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        preflight(args.device)
        from pipeline import config

        root = Path(args.root).resolve()
        params = config.load_params(root / "params.yaml")
        rows, failures = check_methods(args, root, params)
    except CheckError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(os.environ.get("OUT") or tempfile.mkdtemp(prefix="gpu_check-"))
    if not args.out:
        out = out / "gpu_check.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "device": args.device,
        "environment": environment(args.device),
        "tolerance": args.tolerance,
        "methods": rows,
        "similarity_graph": None,
        "ok": not failures,
        "failures": failures,
        "seconds": None,
    }

    def save():  # after every phase, so that a run cut short still leaves what it measured
        report["seconds"] = round(time.perf_counter() - started, 1)
        out.write_text(json.dumps(report, indent=2) + "\n")

    save()
    report["similarity_graph"] = check_similarity(args)
    save()
    cpu_baseline(args, root, params, rows, started)
    save()
    print(markdown(report))
    print(f"\nwrote {out}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
