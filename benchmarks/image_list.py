"""The image_list source against image_folder on the same files: first read, cached read, training throughput.

Writes N 64×64 RGB JPEGs of smooth random images (ten classes, ImageNet-LT's layout: ``train/<class>/<n>.JPEG``)
and a "path label" list of them in a shuffled order, then, alternating within each repeat: image_list's first
read (decode into a fresh cache), its cached read (read the list, stat every file, compare the manifest, load
the arrays), and the same two for image_folder on the class folders. Last, one epoch of the seed CNN on each
source's first 4,000 images (the same kind of tensors: training does not depend on where they came from). The
files stay in the OS page cache, so this is decoding speed, not disk speed. Usage:

    .venv/bin/python benchmarks/image_list.py [--n 20000] [--repeats 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from _publish import publish
from imbalance_lab.data import SOURCES
from imbalance_lab.models import MODELS

CLASSES = 10


def write_images(root: Path, n: int) -> Path:
    """``n`` JPEGs (upsampled 8×8 noise, so they compress like photos rather than like noise) and their list."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        label = i % CLASSES
        rel = f"train/c{label:02d}/{i:06d}.JPEG"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        small.resize((64, 64), Image.Resampling.BICUBIC).save(root / rel, quality=90)
        rows.append(f"{rel} {label}\n")
    random.Random(0).shuffle(rows)
    listing = root / "train_list.txt"
    listing.write_text("".join(rows))
    return listing


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def epoch_throughput(images: torch.Tensor, labels: torch.Tensor, batch_size: int = 64, n: int = 4000) -> float:
    """Images per second of one training epoch of the seed CNN (Adam, channels-last) on the first ``n`` images."""
    images, labels = images[:n], labels[:n]
    torch.manual_seed(0)
    model = MODELS.create("simple_cnn", 3, (64, 64), CLASSES).to(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        x = (images[idx].float() / 255).contiguous(memory_format=torch.channels_last)
        loss = torch.nn.functional.cross_entropy(model(x), labels[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return len(order) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    times: dict[str, list[float]] = {k: [] for k in ("list first", "list cached", "folder first", "folder cached")}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        start = time.perf_counter()
        listing = write_images(root, args.n)
        written = time.perf_counter() - start
        for repeat in range(args.repeats):
            caches = {name: Path(tmp) / f"cache-{name}-{repeat}" for name in ("list", "folder")}
            for name in ("list", "folder") if repeat % 2 == 0 else ("folder", "list"):
                params = {"file": str(listing), "root": str(root)} if name == "list" else {"root": str(root / "train")}
                source = "image_list" if name == "list" else "image_folder"
                for kind in ("first", "cached"):
                    seconds, data = timed(
                        lambda: SOURCES.create(source, **params, size=64, cache_dir=str(caches[name]))  # noqa: B023
                    )
                    times[f"{name} {kind}"].append(seconds)
                assert len(data.labels) == args.n
        listed = SOURCES.create("image_list", file=str(listing), root=str(root), size=64, cache_dir=str(caches["list"]))
        folder = SOURCES.create("image_folder", root=str(root / "train"), size=64, cache_dir=str(caches["folder"]))
        torch.set_num_threads(os.cpu_count() or 1)
        epoch_throughput(listed.images, listed.labels, n=512)  # warm-up: kernels chosen, memory allocated
        rates: dict[str, list[float]] = {"list": [], "folder": []}
        for repeat in range(args.repeats):
            for name in ("list", "folder") if repeat % 2 == 0 else ("folder", "list"):
                got = listed if name == "list" else folder
                rates[name].append(epoch_throughput(got.images, got.labels))
        speeds = {name: statistics.median(values) for name, values in rates.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [
        "| source | first read (decode + cache) | cached read | images/s decoded | one epoch of the seed CNN |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in (("list", "`image_list` (ImageNet-LT-style list)"), ("folder", "`image_folder`")):
        first, cached = med[f"{name} first"], med[f"{name} cached"]
        rows.append(
            f"| {label} | {first:.2f} s | {cached:.3f} s ({cached / first:.1%}) | {args.n / first:,.0f} | "
            f"{speeds[name]:,.0f} images/s |"
        )
    text = "\n".join(
        [
            f"### image_list against image_folder, {args.n:,} 64×64 JPEGs ({time.strftime('%Y-%m-%d')})",
            "",
            f"Command: `.venv/bin/python benchmarks/image_list.py --n {args.n} --repeats {args.repeats}`; "
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; median of "
            f"{args.repeats} repeats, the two sources alternated; writing the files took {written:.0f} s.",
            "",
            *rows,
            "",
        ]
    )
    publish(text, args.write)


if __name__ == "__main__":
    main()
