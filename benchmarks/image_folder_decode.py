"""Image-folder source: cold decode throughput (1 worker vs all cores) and cache-hit load time, side by side.

Writes N random 128×128 RGB JPEGs (two classes) to a temp folder, then, alternating
within each repeat: a cold ``image_folder`` call with ``workers=1``, one with
``workers=os.cpu_count()`` (each into a fresh cache folder, so it decodes and writes
the cache), and a cache-hit call (list the folder, compare the manifest, load the
arrays). It also times the decoding alone with a thread pool and with a process
pool, the choice the source makes. The files stay in the OS page cache, so this is
decoding speed, not disk speed. Usage:

    .venv/bin/python benchmarks/image_folder_decode.py [--n 2000] [--size 64] [--repeats 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

import imbalance_lab.data  # noqa: F401  (the registry, before the source module registers itself)
from _publish import publish

image_folder_module = importlib.import_module("imbalance_lab.data.image_folder")


def write_jpegs(root: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        folder = root / ("cats" if i % 2 == 0 else "dogs")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(folder / f"{i:05d}.jpg", quality=90)


def timed(fn, *args, **kw) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn(*args, **kw)
    return time.perf_counter() - start


def spread(times: list[float]) -> float:
    """(max - min) / median: how much the repeats disagree."""
    return (max(times) - min(times)) / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="number of JPEGs")
    parser.add_argument("--size", type=int, default=64, help="output size (square)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None, help="append a results section to this Markdown file")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="imbalance-lab-bench-") as tmp:
        root = Path(tmp) / "images"
        write_jpegs(root, args.n)
        times: dict[str, list[float]] = {"cold_1": [], "cold_all": [], "hit": [], "threads": [], "processes": []}
        listing = image_folder_module._list_folder(root.resolve())
        for rep in range(args.repeats):
            for workers, key in ((1, "cold_1"), (cores, "cold_all")):
                cache = Path(tmp) / f"cache-{key}-{rep}"
                times[key].append(
                    timed(
                        image_folder_module.image_folder,
                        str(root),
                        size=args.size,
                        workers=workers,
                        cache_dir=str(cache),
                    )
                )
            times["hit"].append(
                timed(image_folder_module.image_folder, str(root), size=args.size, cache_dir=str(cache))
            )
            for key, pool in (("threads", "thread"), ("processes", "process")):
                size = (args.size, args.size)
                times[key].append(
                    timed(image_folder_module._decode_listing, listing, size, 3, "stretch", "skip", cores, pool=pool)
                )
    load_after = os.getloadavg()[0]

    med = {k: statistics.median(v) for k, v in times.items()}
    rate = {k: args.n / med[k] for k in med}
    noisy = max(load_before, load_after) > 0.5 * cores or any(spread(v) > 0.25 for v in times.values())

    def runs(key: str, digits: int = 2) -> str:
        return ", ".join(f"{t:.{digits}f}" for t in times[key])

    lines = [
        f"### Image-folder decode and cache, {args.n} random 128×128 JPEGs → {args.size}×{args.size} RGB ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {cores} CPUs, Python {platform.python_version()}, Pillow {PIL.__version__}.",
        f"Command: `.venv/bin/python benchmarks/image_folder_decode.py --n {args.n} --size {args.size} --repeats {args.repeats}`",
        "(files in the OS page cache; median of the repeats; a cold call decodes and writes the cache).",
        "",
        "| what | time (s, median) | images/s | runs (s) |",
        "|---|---:|---:|---|",
        f"| cold decode, `workers=1` | {med['cold_1']:.2f} | {rate['cold_1']:,.0f} | {runs('cold_1')} |",
        f"| cold decode, `workers={cores}` (threads) | {med['cold_all']:.2f} | {rate['cold_all']:,.0f} | {runs('cold_all')} |",
        f"| cache hit (list folder, check manifest, load arrays) | {med['hit']:.3f} | {rate['hit']:,.0f} | {runs('hit', 3)} |",
        f"| decoding only, {cores} threads | {med['threads']:.2f} | {rate['threads']:,.0f} | {runs('threads')} |",
        f"| decoding only, {cores} processes | {med['processes']:.2f} | {rate['processes']:,.0f} | {runs('processes')} |",
        "",
        f"{cores} workers / 1 worker = **{med['cold_1'] / med['cold_all']:.2f}×** on cold decode. "
        f"A cache hit takes **{med['hit'] / med['cold_all']:.1%}** of a {cores}-worker cold decode "
        f"({med['cold_all'] / med['hit']:.0f}× faster) and {med['hit'] / med['cold_1']:.1%} of a 1-worker one. "
        f"Processes / threads (decoding only) = {med['threads'] / med['processes']:.2f}×.",
        "",
    ]
    if noisy:
        lines += [
            f"Timings are noisy: the load average was {load_before:.1f} before and {load_after:.1f} after on {cores} CPUs "
            f"(other work was running), or the repeats disagree by more than 25%. Rerun on an idle machine before quoting them.",
            "",
        ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("error", image_folder_module.DataWarning)  # no file should be skipped here
        main()
