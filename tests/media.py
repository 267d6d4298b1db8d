"""Real PDQ hashes of generated images, for the media-matching tests and bench."""

from __future__ import annotations

import io

import numpy as np
import pdqhash
from PIL import Image, ImageDraw, ImageFilter

BLUR = 1.5


def picture(seed: int, size: int = 256) -> Image.Image:
    """A synthetic photograph-like image: smooth colour fields and shapes, different per seed."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = (int(v) for v in rng.integers(0, size - 40, size=2))
        w, h = (int(v) for v in rng.integers(20, size // 2, size=2))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        else:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
    return img.filter(ImageFilter.GaussianBlur(BLUR))


def pdq_hex(img: Image.Image) -> str:
    vector, _quality = pdqhash.compute(np.asarray(img.convert("RGB")))
    return bytes(np.packbits(vector.astype(np.uint8))).hex()


def rotated(img: Image.Image, degrees: float) -> Image.Image:
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(128, 128, 128))


def cropped(img: Image.Image, fraction: float) -> Image.Image:
    w, h = img.size
    dx, dy = int(w * fraction), int(h * fraction)
    return img.crop((dx, dy, w - dx, h - dy)).resize((w, h), Image.Resampling.BICUBIC)


def reencoded(img: Image.Image, quality: int = 40) -> Image.Image:
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
