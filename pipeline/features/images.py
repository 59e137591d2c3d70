"""Image loading that never crashes: every failure becomes a recorded status."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

OK = "ok"
NO_IMAGE = "no image"
MISSING = "missing file"
CORRUPT = "corrupt file"


def load_image(path: Path) -> tuple[Image.Image | None, str]:
    """Return (RGB image, 'ok') or (None, reason). GIFs and palettes give their first frame."""
    if not path.is_file():
        return None, MISSING
    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("RGB"), OK
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None, CORRUPT
