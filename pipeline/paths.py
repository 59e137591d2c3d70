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


def is_pattern(entry: str) -> bool:
    """Whether a path option is a glob pattern (has a wildcard)."""
    return any(c in str(entry) for c in "*?[")


def pattern_folder(entry: str) -> Path:
    """The folder that holds every file a path option names: above a pattern's first component
    with a wildcard, or a plain path's parent."""
    parts = Path(entry).parts
    wild = [i for i, part in enumerate(parts) if is_pattern(part)]
    return Path(*parts[: wild[0]]) if wild else Path(entry).parent


def image_roots(data_root: Path, folder: str, options: dict) -> list[Path]:
    """The folders image paths may resolve into, at ingest and at embed: the data root, the
    dataset's folder (which may be a symlink to another disk), and for the generic adapter its
    input files' folders and the option `image_root` (each relative to the data root, or absolute).
    For a pattern in `path` (a glob, alone or in a list) that is the folder above its first
    wildcard, which holds every file it matches."""
    roots = [Path(data_root), Path(data_root) / folder]
    entries = options.get("path") or []
    for entry in entries if isinstance(entries, (list, tuple)) else [entries]:
        roots.append(Path(data_root) / pattern_folder(str(entry)))
    if options.get("image_root"):
        roots.append(Path(data_root) / str(options["image_root"]))
    return roots
