"""The process executor's workers: forked from the driver (an earlier revision) against forked from a clean
fork server with the images in a shared memfd (this checkout), side by side in one run.

Issue 24: a worker forked from the driver hung in GNU OpenMP as soon as it had two torch threads, because the
driver had used its thread pool before forking. This checkout starts workers from a fork server that never ran
an op and hands them the images through an anonymous in-memory file. The cost to measure is start-up (the
server imports torch once per driver) and memory (the driver's images plus the shared file, against
copy-on-write pages of a fork). The benchmark runs `imbalance-lab run` on the demo's first ARMS arms × SEEDS
seeds × EPOCHS epochs under `--executor process --workers 2 --threads 1` (the layout that worked before) with
each revision's code (a temporary git worktree of ``--base``), in ABBA order, and reports wall time and peak
proportional memory (PSS, which splits shared pages fairly between processes) summed over the driver and every
process below it, sampled every 50 ms, and the runs' own training seconds (each run's ``timing.train_s``, summed:
the workers' speed, without start-up, validation and the report). This checkout also runs `--threads 2` (1 × 2 and 2 × 2), which the base
cannot (it hangs: not run). Usage:

    .venv/bin/python benchmarks/process_start.py [--base 5fad8bf] [--arms 4] [--seeds 2] [--epochs 5] [--repeats 2]
        [--layouts base:2x1,this:2x1,this:1x2,this:2x2] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from _publish import head_revision, publish, revision_tree

ROOT = Path(__file__).resolve().parents[1]
FORKED_FROM_THE_DRIVER = "5fad8bf"  # the last commit whose process executor forked from the driver


def tree_pss_kb(root: int) -> int:
    """Proportional set size (kB) of ``root`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def run(tree: Path, spec: Path, out: Path, workers: int, threads: int) -> tuple[float, float, float]:
    """Wall seconds, peak PSS (MB) and the runs' own training seconds (their ``timing.train_s``, summed) of
    one `imbalance-lab run` with the code of ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    command = [
        sys.executable,
        "-m",
        "imbalance_lab.cli",
        "run",
        str(spec),
        "--out",
        str(out),
        "--no-mlflow",
        "--executor",
        "process",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_pss_kb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    stdout, stderr = proc.communicate(timeout=1800)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{stdout}\n{stderr}")
    train_s = sum(json.loads(p.read_text())["timing"]["train_s"] for p in out.glob("runs/*/seed-*/result.json"))
    shutil.rmtree(out)
    return seconds, peak / 1024, train_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--base", default=FORKED_FROM_THE_DRIVER, help="git revision whose workers fork from the driver"
    )
    parser.add_argument("--arms", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--layouts",
        default="base:2x1,this:2x1,this:1x2,this:2x2",
        help="which code and workers × threads to run, e.g. base:2x1,this:2x1",
    )
    parser.add_argument("--write", type=Path, default=None, help="append a results section to this Markdown file")
    args = parser.parse_args()

    head = head_revision(ROOT)
    demo = yaml.safe_load((ROOT / "examples" / "cats_vs_dogs.yaml").read_text())
    spec = {
        **demo,
        "arms": demo["arms"][: args.arms],
        "seeds": args.seeds,
        "training": {**demo["training"], "epochs": args.epochs},
    }
    layouts = [
        (tree, int(w), int(t))
        for tree, shape in (item.split(":") for item in args.layouts.split(","))
        for w, t in [shape.split("x")]
    ]
    results: dict[tuple[str, int, int], list[tuple[float, float, float]]] = {layout: [] for layout in layouts}
    with tempfile.TemporaryDirectory() as tmp, revision_tree(ROOT, args.base, Path(tmp)) as base_tree:
        spec_path = Path(tmp) / "grid.yaml"
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        trees = {"base": base_tree, "this": ROOT}
        for repeat in range(args.repeats):
            for layout in layouts if repeat % 2 == 0 else layouts[::-1]:  # ABBA: no order bias
                tree, workers, threads = layout
                results[layout].append(run(trees[tree], spec_path, Path(tmp) / "out", workers, threads))
    base_wall = statistics.median(s for s, _, _ in results[("base", 2, 1)])
    rows = []
    for (tree, workers, threads), measured in results.items():
        wall, peak, train = (statistics.median(m[k] for m in measured) for k in range(3))
        how = (
            f"{args.base}: forked from the driver"
            if tree == "base"
            else f"{head}: forked from a fork server, images in a memfd"
        )
        rows.append(
            f"| {how} | {workers} × {threads} | {wall:.1f} | {base_wall / wall:.2f}× | {train:.1f} | "
            f"{peak:,.0f} | {', '.join(f'{s:.1f} ({t:.1f})' for s, _, t in measured)} |"
        )
    runs = args.arms * args.seeds
    lines = [
        f"### Process workers: forked from the driver against from a fork server ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        f"Command: `.venv/bin/python benchmarks/process_start.py --base {args.base} --arms {args.arms} --seeds "
        f"{args.seeds} --epochs {args.epochs} --repeats {args.repeats} --layouts {args.layouts}` (`imbalance-lab run` of the demo's first "
        f"{args.arms} arms × {args.seeds} seeds × {args.epochs} epochs, {runs} runs, report included; each revision's "
        "code in a fresh process, ABBA order; medians).",
        "",
        "| workers | workers × threads | wall s | speed vs base | runs' training s | peak PSS MB (driver + workers) | "
        "repeats: wall s (training s) |",
        "|---|---|---:|---:|---:|---:|---|",
        *rows,
        "",
        "The base hangs with 2 threads a worker (issue 24), so it runs only 2 × 1.",
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
