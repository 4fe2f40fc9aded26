"""A stand-in for the property's seal (公章) on the local stack's receipts: a red ring with a star."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 240


def demo_seal(folder: Path) -> Path:
    """`folder/seal.png`, drawn on first use."""
    path = folder / "seal.png"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    red = (210, 20, 30, 230)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), outline=red, width=10)
    centre, outer, inner = SIZE / 2, 48, 19
    star = [
        (
            centre + (outer if i % 2 == 0 else inner) * math.sin(i * math.pi / 5),
            centre - (outer if i % 2 == 0 else inner) * math.cos(i * math.pi / 5),
        )
        for i in range(10)
    ]
    draw.polygon(star, fill=red)
    draw.text((centre, SIZE - 52), "DEMO SEAL", fill=red, anchor="mm", font_size=22)
    image.save(path)
    return path
