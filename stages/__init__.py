"""One thin module per DVC stage: read params, call the library, write the outs.

Each runs as `python -m stages.<name> …` (the commands in dvc.yaml); `fnd` calls the same
`run` functions. With $FND_TRACE_IMPORTS set to a folder, a stage writes there the project
files it imported (tests/test_stage_graph.py checks them against the declared deps)."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import inspect
import json
import os
import sys
from pathlib import Path

from pipeline.errors import USER_ERRORS, debugging

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def fail_clearly():
    """An expected error becomes one line on stderr and exit status 1 (its traceback with $FND_DEBUG)."""
    try:
        yield
    except USER_ERRORS as err:
        if debugging():
            raise
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None


def main(commands: dict, doc: str, argv: list[str] | None = None) -> None:
    """`python -m stages.<module> [command] <dataset> [--params P] [--data-root R]`: run one of
    the module's `commands` (name -> run function; the command is omitted when there is one),
    then print the scalar fields of what it returns."""
    from pipeline import config

    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    if len(commands) > 1:
        parser.add_argument("command", choices=list(commands))
    parser.add_argument("dataset")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data-root", default=None, help="overrides params data_root and $FND_DATA_ROOT")
    args = parser.parse_args(argv)
    run = commands[args.command] if len(commands) > 1 else next(iter(commands.values()))
    with fail_clearly():
        extra = {"data_root": args.data_root} if "data_root" in inspect.signature(run).parameters else {}
        result = run(args.dataset, config.load_params(args.params), **extra)
    print(
        json.dumps(
            {key: value for key, value in result.items() if not isinstance(value, (dict, list))}, ensure_ascii=False
        )
    )


def imported_files() -> list[str]:
    """The project's own source files loaded in this process, relative to the project root."""
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and any(Path(path).resolve().is_relative_to(ROOT / package) for package in ("pipeline", "stages")):
            files.add(Path(path).resolve().relative_to(ROOT).as_posix())
    return sorted(files)


def _trace_imports(folder: str) -> None:
    name = "_".join(Path(arg).stem if i == 0 else arg.lstrip("-") for i, arg in enumerate(sys.argv)) or "stage"
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{name}.json").write_text(json.dumps({"argv": sys.argv, "files": imported_files()}))


if os.environ.get("FND_TRACE_IMPORTS"):
    atexit.register(_trace_imports, os.environ["FND_TRACE_IMPORTS"])
