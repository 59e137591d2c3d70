"""Output of the diagnostic scripts in scripts/: a generated Markdown table to a file or stdout."""

from __future__ import annotations

from pathlib import Path


def write_markdown(text: str, out: Path | None) -> None:
    """Write `text` to `out` (creating its folder) and say so, or print it when `out` is None."""
    if out is None:
        print(text, end="")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"{out}: written")
