"""The README's shell commands exist: every `fnd` subcommand and option, `make` target, `dvc`
command and option, Python module and script the README's bash / sh / console blocks name.
A command this file does not know how to check is a failure, so the README stays checkable;
every failure is reported at once. The README is also kept short."""

from __future__ import annotations

import functools
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 250
SHELL_BLOCKS = ("bash", "sh", "console", "shell")
# Commands with nothing of ours to check: the shell's own, and tools outside this project.
UNCHECKED = {"cd", "source", ".", "export", "git", "pip", "pip3", "echo", "printf"}
SEPARATORS = {"&&", "||", ";", "|", "&"}
REDIRECTS = {">", ">>", "<", "2>", "&>", "2>&1"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def shell_commands(markdown: str) -> list[tuple[int, str]]:
    """(line number, command) for each command in the fenced bash / sh / console blocks: `\\`
    continuations joined, blank and `#` comment lines skipped; in console blocks only `$ ` lines
    are commands (the rest is output)."""
    commands: list[tuple[int, str]] = []
    fence, pending, start = None, "", 0
    for number, line in enumerate(markdown.splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            match = re.match(r"^(`{3,}|~{3,})\s*([\w+-]*)", stripped)
            if match:
                fence = (match.group(1), match.group(2).lower())
            continue
        if stripped.startswith(fence[0]):
            if pending:
                commands.append((start, pending))
            fence, pending = None, ""
            continue
        if fence[1] not in SHELL_BLOCKS:
            continue
        if not pending:
            if fence[1] == "console":
                if not stripped.startswith("$ "):
                    continue
                stripped = stripped[2:].strip()
            if not stripped or stripped.startswith("#"):
                continue
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        commands.append((start, pending + stripped))
        pending = ""
    return commands


def simple_commands(command: str) -> list[list[str]]:
    """The words of each simple command in a command line (split at `&&`, `||`, `;`, `|`),
    without redirections, inline comments and leading VAR=value assignments."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    out, words, skip_next = [], [], False
    for token in lexer:
        if token in SEPARATORS:
            out.append(words)
            words = []
        elif token in REDIRECTS:
            skip_next = True
        elif skip_next:
            skip_next = False
        else:
            words.append(token)
    out.append(words)
    cleaned = []
    for words in out:
        while words and ASSIGNMENT.match(words[0]):
            words = words[1:]
        if words:
            cleaned.append(words)
    return cleaned


@functools.cache
def make_targets() -> frozenset[str]:
    text = (ROOT / "Makefile").read_text()
    targets = set()
    for match in re.finditer(r"^([^\s#:=][^:=#]*?)\s*::?(?!=)", text, re.M):
        targets |= set(match.group(1).split())
    return frozenset(t for t in targets if not t.startswith("."))


def _is_group(command) -> bool:
    return hasattr(command, "commands")  # typer's click (typer may vendor its own copy of click)


def _options(command) -> set[str]:
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)} | {"--help"}


def _param(command, name: str):
    return next((p for p in command.params if name in (*p.opts, *p.secondary_opts)), None)


def check_fnd(args: list[str]) -> list[str]:
    """The command path exists and every option is one of its command's (or, before the
    subcommand, its group's: `fnd --debug predict ...`)."""
    command = typer.main.get_command(app)
    path, problems, i = ["fnd"], [], 0
    while _is_group(command) and i < len(args):
        word, i = args[i], i + 1
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            param = _param(command, name)
            if param is None and name != "--help":
                problems.append(f"`{' '.join(path)}` has no option {name}")
            elif param is not None and not (getattr(param, "is_flag", False) or getattr(param, "count", False)):
                i += "=" not in word  # skip the option's value
            continue
        if word not in command.commands:
            known = ", ".join(sorted(command.commands))
            return problems + [f"`{' '.join([*path, word])}`: no such command (known: {known})"]
        path.append(word)
        command = command.commands[word]
    if _is_group(command):
        return problems + [f"`{' '.join(path)}` names no subcommand"]
    options = _options(command)
    for word in args[i:]:
        name = word.split("=", 1)[0]
        if re.match(r"-[A-Za-z-]", word) and name not in options:
            problems.append(f"`{' '.join(path)}` has no option {name} (it has {', '.join(sorted(options))})")
    result = CliRunner().invoke(app, [*path[1:], "--help"])
    if result.exit_code != 0:
        problems.append(f"`{' '.join(path)} --help` exits {result.exit_code}")
    return problems


@functools.cache
def dvc_help(words: tuple[str, ...]) -> str | None:
    """`dvc <words> --help`, or None when dvc refuses it (no such command)."""
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), *words, "--help"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout if out.returncode == 0 else None


def check_dvc(args: list[str]) -> list[str]:
    """`dvc <command> [<subcommand>] --help` works and lists every option used."""
    words = []
    for word in args[:2]:
        if word.startswith("-"):
            break
        words.append(word)
    help_text = dvc_help(tuple(words[:1])) if words else None
    if help_text is None:
        return [f"`dvc {' '.join(words[:1])}` is not a dvc command"]
    choices = re.search(r"^\s+\{([\w,-]+)\}", help_text, re.M)  # a command group: exp, queue, plots, ...
    if choices and len(words) == 2:
        if words[1] not in choices.group(1).split(","):
            return [f"`dvc {' '.join(words)}` is not a dvc command (known: {choices.group(1)})"]
        help_text = dvc_help(tuple(words))
    else:
        words = words[:1]
    options = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text or ""))
    return [
        f"`dvc {' '.join(words)}` has no option {word.split('=', 1)[0]}"
        for word in args[len(words) :]
        if re.match(r"-[A-Za-z-]", word) and word.split("=", 1)[0] not in options
    ]


def check_python(args: list[str]) -> list[str]:
    if args[:1] == ["-m"] and len(args) > 1:
        try:
            found = importlib.util.find_spec(args[1]) is not None
        except ModuleNotFoundError:  # its parent package does not exist
            found = False
        return [] if found else [f"no Python module {args[1]}"]
    if args and not args[0].startswith("-"):
        return [] if (ROOT / args[0]).is_file() else [f"no script {args[0]}"]
    return []  # `python -c ...` and the like


def check(words: list[str]) -> list[str]:
    program, args = words[0], words[1:]
    if program == "fnd":
        return check_fnd(args)
    if program == "make":
        targets = [a for a in args if not a.startswith("-") and "=" not in a]
        return [f"no make target {t!r} in the Makefile" for t in targets if t not in make_targets()]
    if program == "dvc":
        return check_dvc(args)
    if program in ("python", "python3"):
        return check_python(args)
    if program in ("bash", "sh"):
        return [] if args and (ROOT / args[0]).is_file() else [f"no script {' '.join(args[:1])}"]
    if program.endswith(".sh"):
        return [] if (ROOT / program).is_file() else [f"no script {program}"]
    if program in UNCHECKED:
        return []
    return [f"unknown command {program!r}: check it in tests/test_readme.py or leave it out of shell blocks"]


def test_every_readme_command_exists():
    commands = shell_commands(README.read_text(encoding="utf-8"))
    assert commands, "README.md has no bash, sh or console block"
    failures = [
        f"README.md:{number}: {problem}\n    {command}"
        for number, command in commands
        for words in simple_commands(command)
        for problem in check(words)
    ]
    assert not failures, f"{len(failures)} README command(s) do not exist:\n" + "\n".join(failures)


def test_readme_is_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"README.md has {lines} lines; keep it at most {MAX_LINES} (move detail to docs/)"


# --- the checker itself, on a README written here ---

SAMPLE = """\
Some prose with `fnd nosuch` inline: not a command.

```bash
# a comment line
make test
fnd predict mmfnd mediaeval2016 \\
    --text "a post # not a comment" --top-k 3
FND_DEBUG=1 fnd ingest mediaeval2016 --out-dir /tmp/x  # an inline comment --bogus
```

```python
fnd this is python, not shell
```

```console
$ dvc exp run -S mask_rate=0.3
Running stage 'train-glpn-mediaeval2016':
$ python -m pipeline.cli --help | head -3 > out.txt
```
"""


def test_shell_blocks_are_read_with_continuations_comments_and_prompts():
    assert shell_commands(SAMPLE) == [
        (5, "make test"),
        (6, 'fnd predict mmfnd mediaeval2016 --text "a post # not a comment" --top-k 3'),
        (8, "FND_DEBUG=1 fnd ingest mediaeval2016 --out-dir /tmp/x  # an inline comment --bogus"),
        (16, "dvc exp run -S mask_rate=0.3"),
        (18, "python -m pipeline.cli --help | head -3 > out.txt"),
    ]
    assert simple_commands("FND_DEBUG=1 fnd ingest x --out-dir /tmp/x  # --bogus") == [
        ["fnd", "ingest", "x", "--out-dir", "/tmp/x"]
    ]
    assert simple_commands("python -m pipeline.cli --help | head -3 > out.txt && cd ..") == [
        ["python", "-m", "pipeline.cli", "--help"],
        ["head", "-3"],
        ["cd", ".."],
    ]


@pytest.mark.parametrize(
    "command, problem",
    [
        ("fnd predict mmfnd mediaeval2016 --text x --top-k 3", None),
        ("fnd nosuch mediaeval2016", "`fnd nosuch`: no such command"),
        ("fnd predict mmfnd mediaeval2016 --bogus 1", "`fnd predict` has no option --bogus"),
        ("fnd --nodebug predict glpn x", "`fnd` has no option --nodebug"),
        ("fnd predict", None),
        ("FND_DEBUG=1 fnd --debug predict glpn x --top-k=3", None),
        ("fnd", "`fnd` names no subcommand"),
        ("dvc exp nosuch", "`dvc exp nosuch` is not a dvc command"),
        ("python -m nosuchpackage.sub", "no Python module nosuchpackage.sub"),
        ("make test", None),
        ("make nosuchtarget", "no make target 'nosuchtarget'"),
        ("dvc exp run -S mask_rate=0.3 --queue", None),
        ("dvc repro --glob 'train-*'", None),
        ("dvc nosuch", "`dvc nosuch` is not a dvc command"),
        ("dvc exp run --bogus", "`dvc exp run` has no option --bogus"),
        ("python -m pipeline.cli", None),
        ("python -m pipeline.nosuch", "no Python module pipeline.nosuch"),
        ("python benchmarks/nosuch.py", "no script benchmarks/nosuch.py"),
        ("bash scripts/nosuch.sh", "no script scripts/nosuch.sh"),
        ("curl https://example.org", "unknown command 'curl'"),
    ],
)
def test_the_checker_finds_what_does_not_exist(command, problem):
    problems = [p for words in simple_commands(command) for p in check(words)]
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_every_test_the_hostile_input_table_cites_exists():
    """docs/hostile-input.md pins each behaviour to a test by name; a renamed or deleted test
    must not leave the table pointing at nothing."""
    table = (ROOT / "docs/hostile-input.md").read_text()
    cited = set(re.findall(r"(?:::|`|, )(test_\w+)(?![\w.])", table))
    defined = {
        name
        for path in (ROOT / "tests").glob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(), re.M)
    }
    assert len(cited) > 30
    assert sorted(cited - defined) == []
