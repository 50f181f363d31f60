"""Time to a first answer: the commands a new user types first, with this checkout's code against an earlier
revision's (default f8dc276, the commit before issue 25), side by side in one run.

Each command runs as its own process (`python -m imbalance_lab.cli ...`, the code of a temporary git worktree
of ``--base`` or of this checkout on PYTHONPATH), as a user starts it: `--help`; `list` (the strategies);
`validate` and `run` of examples/tiny_synthetic.yaml (a seconds-long experiment on synthetic 8×8 images;
`run` into a fresh directory, without MLflow, so it trains every run and writes the report); `report` on the
directory that revision's `run` wrote. The two revisions alternate (ABBA) over ``--repeats`` rounds and the
median wall time of each is reported with their ratio; both revisions' reports are compared on the way (every
section of the base's `report.md` unchanged in this checkout's, which may add sections, and `report.csv` equal:
the same runs, the same answer). Usage:

    .venv/bin/python benchmarks/first_answer.py [--base f8dc276] [--repeats 5] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _publish import head_revision, publish, revision_tree

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ISSUE_25 = "f8dc276"
EXAMPLE = ROOT / "examples" / "tiny_synthetic.yaml"


def timed(tree: Path, args: list[str], cwd: Path) -> float:
    """Wall seconds of one `imbalance-lab ARGS` with the code of ``tree`` (a failure stops the benchmark)."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "imbalance_lab.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"`imbalance-lab {' '.join(args)}` with {tree} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds


def sections(report_md: Path) -> dict[str, str]:
    """A report.md's sections by heading (``## ...``), without its date line: the tables, the verdict and
    everything computed."""
    text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "DATE", report_md.read_text())
    parts = re.split(r"^(## .*)$", text, flags=re.MULTILINE)
    return {"": parts[0].strip(), **{parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}}


def same_answer(base: Path, this: Path) -> str | None:
    """Where the two revisions' reports of the same runs disagree: every section of the base revision's
    report.md must be in this one's, unchanged (later revisions add sections), and report.csv must be equal."""
    base_md, this_md = sections(base / "report.md"), sections(this / "report.md")
    for heading, text in base_md.items():
        if this_md.get(heading) != text:
            return f"report.md's section {heading or '(top)'!r}"
    if (base / "report.csv").read_text() != (this / "report.csv").read_text():
        return "report.csv"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default=BEFORE_ISSUE_25, help="the git revision to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", type=Path, default=None, help="append a results section to this Markdown file")
    args = parser.parse_args()

    head = head_revision(ROOT)
    commands = ["--help", "list", "validate", "run", "report"]
    seconds: dict[tuple[str, str], list[float]] = {(c, t): [] for c in commands for t in ("base", "this")}
    with tempfile.TemporaryDirectory() as tmp, revision_tree(ROOT, args.base, Path(tmp)) as base_tree:
        trees = {"base": base_tree, "this": ROOT}
        work = Path(tmp) / "work"
        work.mkdir()
        for repeat in range(args.repeats):
            for name in ("base", "this") if repeat % 2 == 0 else ("this", "base"):  # ABBA: no order bias
                tree, out = trees[name], work / f"{name}-{repeat}"
                seconds["--help", name].append(timed(tree, ["--help"], work))
                seconds["list", name].append(timed(tree, ["list"], work))
                seconds["validate", name].append(timed(tree, ["validate", str(EXAMPLE)], work))
                seconds["run", name].append(timed(tree, ["run", str(EXAMPLE), "--out", str(out), "--no-mlflow"], work))
                seconds["report", name].append(timed(tree, ["report", str(out)], work))
            differs = same_answer(work / f"base-{repeat}", work / f"this-{repeat}")
            if differs is not None:
                raise SystemExit(
                    f"round {repeat}: the two revisions' {differs} differ (the same runs must give the "
                    f"same answer); see {work}"
                )
            for name in ("base", "this"):
                shutil.rmtree(work / f"{name}-{repeat}")

    rows = ["| command | " + f"{args.base} (s) | {head} (s) | ratio |", "|---|---:|---:|---:|"]
    for command in commands:
        base, this = (statistics.median(seconds[command, name]) for name in ("base", "this"))
        shown = "`imbalance-lab " + (command if command in ("--help", "list") else f"{command} tiny_synthetic") + "`"
        if command == "report":
            shown = "`imbalance-lab report DIR` (the tiny run's)"
        rows.append(f"| {shown} | {base:.2f} | {this:.2f} | {this / base:.2f}× |")
    text = "\n".join(
        [
            f"### Time to a first answer ({time.strftime('%Y-%m-%d')}, `benchmarks/first_answer.py`)",
            "",
            f"Median wall time of {args.repeats} rounds (ABBA order), each command its own process, "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"`{args.base}` is the commit before issue 25, `{head}` this checkout. Every section of the base's "
            "`report.md` was unchanged in this checkout's, and `report.csv` equal, in every round.",
            "",
            *rows,
            "",
        ]
    )
    publish(text, args.write)


if __name__ == "__main__":
    main()
