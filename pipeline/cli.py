"""`fnd`: every pipeline stage as a command, plus `fnd datasets`, `fnd predict` (score new
articles with a trained method), `fnd gate` (CI's metrics gate) and `fnd metrics-changes` (the
headline metrics that differ from an earlier commit).

An expected failure (bad input, a missing file, bad params: `pipeline.errors.FndError`) prints one
`error: …` line and exits 1; anything else is a bug and prints its traceback. `fnd --debug` or
$FND_DEBUG=1 shows the traceback of expected failures too.

DVC runs these same commands (see dvc.yaml); run them by hand to work on one dataset.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

import typer

from pipeline import config
from pipeline.data import registry
from pipeline.errors import DEBUG_ENV, USER_ERRORS, BadInput, debugging

app = typer.Typer(help="Reproducible fake-news detection pipeline.", no_args_is_help=True, add_completion=False)

PARAMS = typer.Option(Path("params.yaml"), "--params", help="params.yaml to read.")
DATA_ROOT = typer.Option(
    None,
    "--data-root",
    help=f"Folder holding one subfolder per dataset (default: ${config.DATA_ROOT_ENV}, else params data_root).",
)


@app.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help=f"Show the traceback of expected errors too (or set ${DEBUG_ENV}=1)."
    ),
) -> None:
    if debug:
        os.environ[DEBUG_ENV] = "1"


@contextlib.contextmanager
def _expected_errors():
    """An expected error inside the block ends the command as `_fail` says."""
    try:
        yield
    except USER_ERRORS as err:
        _fail(err)


def _fail(err: Exception) -> None:
    """Print an expected error as one line and exit 1; with --debug, raise it with its traceback."""
    if debugging():
        raise err
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _dump(obj) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


@app.command()
def datasets(data_root: str | None = DATA_ROOT, params: Path = PARAMS) -> None:
    """List the dataset adapters, the files each needs, and whether they are under the data root."""
    root = config.data_root(config.load_params(params) if params.exists() else {}, data_root)
    typer.echo(f"data root: {root}")
    for name in registry.ADAPTER_MODULES:
        adapter = registry.get(name)
        folder = root / adapter.FOLDER if adapter.FOLDER else None
        state = "(path from options)" if folder is None else ("found" if folder.exists() else "missing")
        typer.echo(
            f"\n{name}  [{state}]\n  {adapter.DESCRIPTION}\n  "
            f"needs: {adapter.FOLDER + '/' if adapter.FOLDER else ''}{adapter.NEEDS}"
        )


@app.command()
def ingest(
    names: list[str] = typer.Argument(None, help="Dataset names (see `fnd datasets`)."),
    all_: bool = typer.Option(False, "--all", help="Every adapter except 'generic'."),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="Write here instead of data/interim/."),
    data_root: str | None = DATA_ROOT,
    params: Path = PARAMS,
) -> None:
    """Read raw datasets into canonical Parquet with splits and an ingest report."""
    from stages import ingest as stage

    chosen = [n for n in registry.ADAPTER_MODULES if n != "generic"] if all_ else list(names or [])
    if not chosen:
        _fail(BadInput("name at least one dataset, or pass --all"))
    with _expected_errors():
        cfg = config.load_params(params)
        for name in chosen:
            start = time.perf_counter()
            report = stage.run(name, cfg, data_root, out_dir)
            typer.echo(
                f"{name}: read {report['rows_read']}, kept {report['rows_kept']}, rejected {report['rows_rejected']} "
                f"{report['rejected_by_reason'] or ''} in {time.perf_counter() - start:.1f}s; "
                f"splits {report['label_counts']}"
            )


@app.command()
def check(
    dataset: str = typer.Argument(..., help="A dataset name: a key of `datasets` or of `ingest.options`."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when there is a warning (for CI)."),
    data_root: str | None = DATA_ROOT,
    params: Path = PARAMS,
) -> None:
    """Check a dataset's mapping before any stage runs: rows kept and rejected, the split and its label
    balance, duplicates, conflicting labels and boilerplate, and the methods that would not apply.
    Writes nothing."""
    from pipeline.check import summary
    from stages import ingest as stage

    with _expected_errors():
        cfg = config.load_params(params)
        df, report = stage.read(dataset, cfg, data_root)
        typer.echo(summary(dataset, df, report, cfg))
    if strict and report.warnings:
        raise typer.Exit(1)


@app.command()
def embed(dataset: str, data_root: str | None = DATA_ROOT, params: Path = PARAMS) -> None:
    """Encode a dataset's articles: text, image and joint text-image vectors to Parquet."""
    from stages import embed as stage

    with _expected_errors():
        meta = stage.run(dataset, config.load_params(params), data_root)
    typer.echo(
        f"{dataset}: {meta['rows']} rows in {meta['seconds']}s on {meta['device']}; images {meta['image_status']}"
    )


@app.command()
def semantics(dataset: str, data_root: str | None = DATA_ROOT, params: Path = PARAMS) -> None:
    """Sentences, entities, AMR graphs (PENMAN) and Wikipedia evidence links per article."""
    from stages import semantics as stage

    with _expected_errors():
        report = stage.run(dataset, config.load_params(params), data_root)
    linking = report["entity_linking"]
    typer.echo(
        f"{dataset}: {report['docs']} docs in {report['seconds']}s ({report['docs_per_s']} docs/s); "
        f"status {report['status']}; entity names linked {linking.get('linked', 0)}/{linking.get('entity names', 0)} "
        f"({linking['fraction_linked']})"
    )


@app.command()
def llm(dataset: str, params: Path = PARAMS) -> None:
    """LLM veracity pseudo labels with confidence and zero-shot labels (cached, resumable)."""
    from stages import llm as stage

    _llm_stage(dataset, stage.run, params)


@app.command("llm-intents")
def llm_intents(dataset: str, params: Path = PARAMS) -> None:
    """LLM intent paragraphs (belief, desire, plan, outcome) for InSide (cached, resumable)."""
    from stages import llm as stage

    _llm_stage(dataset, stage.run_intents, params)


def _llm_stage(dataset: str, run, params: Path) -> None:
    with _expected_errors():
        report = run(dataset, config.load_params(params))
    for task, counts in report["tasks"].items():
        typer.echo(
            f"{dataset} {task}: {counts['requests']} requests ({counts['distinct']} distinct texts), "
            f"{counts['from_cache']} from cache, "
            f"{counts['computed']} computed ({counts['items_per_s']} items/s), {counts['truncated']} truncated"
        )
    quality = report["validation_quality"].get("veracity", {})
    if "accuracy" in quality:
        typer.echo(
            f"{dataset} pseudo labels on val: accuracy {quality['accuracy']}, "
            f"top 5% accuracy {quality['top_5pct_accuracy']}, ECE {quality['ece_10_bins']}"
        )


@app.command("intent-embeddings")
def intent_embeddings(dataset: str, params: Path = PARAMS) -> None:
    """Embed the LLM's intent paragraphs (belief, desire, plan, outcome) with the text encoder (InSide)."""
    from stages import intent_embeddings as stage

    with _expected_errors():
        report = stage.run(dataset, config.load_params(params))
    typer.echo(
        f"{dataset}: {report['articles_with_all_four']} of {report['articles']} articles have all four intents, "
        f"{report['distinct_paragraphs']} distinct paragraphs embedded"
    )


@app.command("similarity-graph")
def similarity_graph(dataset: str, params: Path = PARAMS) -> None:
    """Cross-modal similarity graph over all posts (five similarity types, threshold θ)."""
    from stages import similarity_graph as stage

    with _expected_errors():
        stats = stage.run(dataset, config.load_params(params))
    if stats["built"]:
        typer.echo(
            f"{dataset}: {stats['edges']} edges at θ={stats['theta']}, average degree {stats['average_degree']}, "
            f"{stats['isolated_nodes']} isolated of {stats['nodes']} nodes"
        )
    else:
        typer.echo(f"{dataset}: similarity graph not built: {stats['reason']}")


@app.command("article-graphs")
def article_graphs(dataset: str, data_root: str | None = DATA_ROOT, params: Path = PARAMS) -> None:
    """Propagation, sentence-entity and WikiAMR graphs per article."""
    from stages import article_graphs as stage

    with _expected_errors():
        stats = stage.run(dataset, config.load_params(params), data_root)
    for name in ("propagation", "sentence_entity", "wikiamr"):
        typer.echo(
            f"{dataset} {name}: {stats[name].get('graphs', 0)} graphs, {stats[name].get('nodes', 0)} nodes, "
            f"{stats[name].get('edges', 0)} edges"
        )


@app.command()
def train(name: str, dataset: str, params: Path = PARAMS) -> None:
    """Train NAME (a method or one of its ablation variants) on DATASET for every configured seed
    (validation-based model selection) and write its metrics: a train stage of dvc.yaml."""
    from stages import train as stage

    with _expected_errors():
        metrics = stage.run(name, dataset, config.load_params(params))
    typer.echo(stage.summary(name, dataset, metrics))


@app.command("metrics")
def metrics_(
    method: str | None = typer.Option(None, "--method", help="Only this method or variant."),
    dataset: str | None = typer.Option(None, "--dataset", help="Only this dataset."),
    folder: Path = typer.Option(Path("metrics"), "--dir", help="The metrics folder (metrics/<method>/<dataset>.json)."),
) -> None:
    """Print the trained methods' test metrics: each one's mean ± std over the seeds, a line per method
    and dataset. (`dvc metrics show` sorts its columns by name: a seed's own figures, seeds.0.test.*,
    come before the means, test.*.)"""
    from stages.train import summary

    shown = 0
    with _expected_errors():
        for path in sorted(folder.glob(f"{method or '*'}/{dataset or '*'}.json")):
            try:
                result = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise BadInput(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
            if isinstance(result, dict) and "method" in result and ("test" in result or "not_applicable" in result):
                typer.echo(summary(result["method"], result["dataset"], result))
                shown += 1
    if not shown:
        _fail(BadInput(f"no metrics in {folder}/{method or '*'}/{dataset or '*'}.json: run `dvc repro` or `fnd train`"))


@app.command()
def stages(
    params: Path = PARAMS,
    out: Path = typer.Option(Path("dvc.yaml"), "--out", help="Where to write the stage graph."),
    check: bool = typer.Option(False, "--check", help="Only say whether OUT is current; exit 1 when it is not."),
) -> None:
    """Write dvc.yaml from params.yaml and the method registry (exact deps, one stage per applicable pair)."""
    from pipeline import stagegraph

    with _expected_errors():
        text = stagegraph.render(config.load_params(params))
    if check:
        if not out.exists() or out.read_text() != text:
            _fail(BadInput(f"{out} is out of date with {params} and pipeline/methods.py: run `fnd stages`"))
        typer.echo(f"{out} is current")
        return
    out.write_text(text)
    stage_names = text.count("\n    cmd: ")
    typer.echo(f"{out}: {stage_names} stages")


@app.command()
def predict(
    method: str,
    dataset: str = typer.Argument(
        ..., help="The dataset the method was trained on: one of params.yaml's datasets (models/<method>/<dataset>)."
    ),
    text: str | None = typer.Option(None, "--text", help="One article's text."),
    image: Path | None = typer.Option(
        None, "--image", help="With --text: the article's image file (a relative path is read from here)."
    ),
    title: str = typer.Option("", "--title", help="With --text: the article's title."),
    input_file: Path | None = typer.Option(
        None,
        "--input",
        help="A CSV or JSONL batch: text, and optionally id, title, image, lang. "
        "Relative image paths are read from the batch file's folder.",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        help="Write results here (.jsonl or .csv) instead of printing JSON lines. In CSV, a text cell "
        "starting with = + - @, a tab or a carriage return gets a leading ' (no spreadsheet formulas).",
    ),
    top_k: int = typer.Option(5, "--top-k", help="GLPN: how many nearest labelled posts to show."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars on stderr."),
    data_root: str | None = DATA_ROOT,
    params: Path = PARAMS,
) -> None:
    """Score new articles with a trained METHOD: label, P(fake) and the method's explanation.

    Items that look written in another language than the training data's get a warning on
    stderr. CSV output neutralises spreadsheet formulas: a text cell starting with =, +, -, @,
    a tab or a carriage return is written with a leading ' (OWASP's CSV injection advice)."""
    from pipeline import predict as scoring

    if (text is None) == (input_file is None):
        _fail(BadInput("give either --text (one article) or --input (a CSV or JSONL file)"))
    if output is not None and output.suffix not in (".csv", ".jsonl"):
        _fail(BadInput(f"--output {output}: use a .csv or .jsonl file"))
    with _expected_errors():
        cfg = config.load_params(params)
        items = (
            scoring.single_item(text, str(image) if image else None, title)
            if text is not None
            else scoring.read_items(input_file)
        )
        with contextlib.redirect_stdout(sys.stderr):  # encoder packages print while loading; stdout carries the results
            root = config.data_root(cfg, data_root)
            results = scoring.predict(method, dataset, items, cfg, root, top_k, progress=progress, warn=_warn)
    if output is None:
        for result in results:
            typer.echo(json.dumps(result, ensure_ascii=False))
        return
    scoring.write_results(results, output)
    typer.echo(f"{len(results)} predictions -> {output}")


def _warn(message: str) -> None:
    typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)


@app.command("report")
def report_(
    out: Path = typer.Option(Path("reports"), help="Folder for summary.json, results.md, figures/ and sweeps/."),
) -> None:
    """Summarise every method × dataset (embedded default and reports/full/ runs) into the comparison report."""
    from stages import report as stage

    with _expected_errors():
        table = stage.run(Path("."), out)
    results = sum(len(methods) for datasets in table.values() for methods in datasets.values())
    typer.echo(f"{out}/results.md: {results} results in {len(table)} runs; summary in {out}/summary.json")


@app.command()
def gate(
    tolerance: float = typer.Option(0.001, help="Largest absolute change of any metric that still passes."),
    skip: str = typer.Option(
        "^(llm_intents|intent_embeddings)-|^train-(inside|lgcl)",
        help="Regex of stages not "
        "re-run in CI (too slow for it: InSide's LLM intents, InSide, LGCL); they must not be stale instead.",
    ),
) -> None:
    """CI metrics gate: `dvc repro`, then compare every metric with the committed one (`dvc metrics diff`)."""
    from pipeline import gate as metrics_gate

    with _expected_errors():
        passed, report = metrics_gate.run(tolerance, skip)
    typer.echo(report)
    if not passed:
        raise typer.Exit(1)


@app.command("metrics-changes")
def metrics_changes(
    rev: str = typer.Option("HEAD~1", "--rev", help="Git revision to compare HEAD's committed metrics with."),
) -> None:
    """Markdown table of the headline test metrics (accuracy, macro-F1, AUC) that differ between REV and HEAD."""
    from pipeline import metrics_changes as changes

    with _expected_errors():
        typer.echo(changes.run(rev))


if __name__ == "__main__":
    app()
