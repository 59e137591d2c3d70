"""Path confinement: a file the pipeline opens on the data's say-so must lie in an allowed folder."""

from __future__ import annotations

from pathlib import Path


def resolve_path(path: Path) -> Path | None:
    """The absolute path with every symlink followed, or None when it cannot be resolved
    (a symlink loop, a name the OS refuses)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def inside(path: Path, roots) -> bool:
    """Whether `path` resolves (symlinks followed) into one of the folders `roots`."""
    resolved = resolve_path(path)
    return resolved is not None and any(resolved.is_relative_to(Path(root).resolve()) for root in roots)
