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


def image_roots(data_root: Path, folder: str, options: dict) -> list[Path]:
    """The folders image paths may resolve into, at ingest and at embed: the data root, the
    dataset's folder (which may be a symlink to another disk), and for the generic adapter its
    input file's folder and the option `image_root` (each relative to the data root, or absolute)."""
    roots = [Path(data_root), Path(data_root) / folder]
    if options.get("path"):
        roots.append((Path(data_root) / str(options["path"])).parent)
    if options.get("image_root"):
        roots.append(Path(data_root) / str(options["image_root"]))
    return roots
