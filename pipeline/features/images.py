"""Image loading that never crashes: every failure becomes a recorded status."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from pipeline.paths import inside

OK = "ok"
NO_IMAGE = "no image"
MISSING = "missing file"
CORRUPT = "corrupt file"
TOO_LARGE = "image over the pixel budget"
OUTSIDE = "path outside the data folder"

# PIL's own decompression-bomb threshold (about 89.5 megapixels): larger images are skipped
# before their pixels are decoded, so a small file that expands to gigabytes cannot exhaust memory.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS


def load_image(path: Path, allowed_roots: tuple[Path, ...] | None = None) -> tuple[Image.Image | None, str]:
    """Return (RGB image, 'ok') or (None, reason). GIFs and palettes give their first frame.

    With `allowed_roots`, a path that does not resolve (symlinks followed) under one of them
    is refused without being opened."""
    if allowed_roots is not None and not inside(path, allowed_roots):
        return None, OUTSIDE
    if not path.is_file():
        return None, MISSING
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                return None, TOO_LARGE
            img.load()
            return img.convert("RGB"), OK
    except Image.DecompressionBombError:
        return None, TOO_LARGE
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None, CORRUPT
