"""params.yaml access and path conventions shared by the stages and the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from pipeline.errors import MissingFile, ParamsError
from pipeline.params_check import check_params

DATA_ROOT_ENV = "FND_DATA_ROOT"


def load_params(path: Path | str = "params.yaml") -> dict:
    """The settings in `path`, every value checked (pipeline/params_check.py)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFile(f"{path}: params file not found (run from the project root or pass --params)")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ParamsError(f"{path}{at}: not valid YAML ({getattr(err, 'problem', None) or err})") from None
    except UnicodeDecodeError as err:
        raise ParamsError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    check_params(params, str(path))
    return params


def data_root(params: dict, override: str | None = None) -> Path:
    """--data-root beats $FND_DATA_ROOT beats params.yaml's data_root."""
    return Path(override or os.environ.get(DATA_ROOT_ENV) or params.get("data_root", "data/raw"))


def articles_path(dataset: str) -> Path:
    return Path("data/interim") / dataset / "articles.parquet"


def embeddings_path(dataset: str) -> Path:
    return Path("data/processed") / dataset / "embeddings.parquet"


def semantics_path(dataset: str) -> Path:
    return Path("data/processed") / dataset / "semantics.parquet"


def llm_path(dataset: str) -> Path:
    return Path("data/processed") / dataset / "llm.parquet"


def llm_intents_path(dataset: str) -> Path:
    return Path("data/processed") / dataset / "llm_intents.parquet"


def intent_embeddings_path(dataset: str) -> Path:
    return Path("data/processed") / dataset / "intent_embeddings.parquet"


def graphs_dir(dataset: str) -> Path:
    return Path("data/processed") / dataset / "graphs"


def graph_stats_path(dataset: str, name: str) -> Path:
    return Path("metrics/graphs") / dataset / f"{name}.json"


def model_dir(method: str, dataset: str) -> Path:
    return Path("models") / method / dataset


def metrics_path(method: str, dataset: str) -> Path:
    return Path("metrics") / method / f"{dataset}.json"


def plots_dir(method: str, dataset: str) -> Path:
    return Path("metrics/plots") / method / dataset


# The `fnd` command that writes each artifact (the rest of graphs/ comes from article-graphs).
WRITTEN_BY = {
    "articles.parquet": "ingest",
    "embeddings.parquet": "embed",
    "semantics.parquet": "semantics",
    "llm.parquet": "llm",
    "llm_intents.parquet": "llm-intents",
    "intent_embeddings.parquet": "intent-embeddings",
    "similarity.pt": "similarity-graph",
}


def require(path: Path | str) -> Path:
    """`path`, or a MissingFile error naming the command that writes it."""
    path = Path(path)
    if not path.exists():
        command = WRITTEN_BY.get(path.name, "article-graphs" if path.parent.name == "graphs" else None)
        hint = f"run `fnd {command}` for this dataset or `dvc repro`" if command else "run `dvc repro`"
        raise MissingFile(f"{path}: not found; {hint}")
    return path
