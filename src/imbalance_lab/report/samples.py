"""A PNG grid of sample images per class, so a user can see they loaded the right thing."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from imbalance_lab.prepared import ExperimentData

LABEL_WIDTH = 110
GAP = 2


def sample_grid(data: ExperimentData, per_class: int = 10, cell: int = 56) -> Image.Image:
    """One row per experiment class: its first ``per_class`` pool images (in draw order), upscaled."""
    names = data.class_names
    h, w = data.source.image_size
    zoom = max(1, cell // max(h, w))
    cell_h, cell_w = h * zoom, w * zoom
    width = LABEL_WIDTH + per_class * (cell_w + GAP)
    height = len(names) * (cell_h + GAP) + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for row, pool in enumerate(data.plan.pool_by_class):
        top = GAP + row * (cell_h + GAP)
        groups = data.resolved.classes.member_names(data.source.class_names)[names[row]]
        label = names[row] if groups == [names[row]] else f"{names[row]} ({len(groups)} classes)"
        draw.text((4, top + cell_h // 2 - 6), f"{label}\n{len(pool)} in pool", fill="black")
        images = data.source.images[pool[:per_class]].numpy()  # k×C×H×W uint8
        for col, img in enumerate(images):
            array = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img[:3]
            tile = Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)), "RGB")
            canvas.paste(tile.resize((cell_w, cell_h), Image.NEAREST), (LABEL_WIDTH + col * (cell_w + GAP), top))
    return canvas


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
