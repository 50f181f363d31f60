"""The remedies of the long-tail literature side by side, with intervals: Animal-MNIST, 10 classes, ρ = 100.

Training counts fall exponentially from 600 (bear) to 6 (zebra) (Cao et al. 2019's
profile); validation (50 per class) and test (300 per class) are balanced, so
balanced accuracy is the honest number and few-shot accuracy (classes with fewer
than 20 training images) shows what happens to the tail. Every arm trains the
seed CNN (the long-tail default: no dropout) for 30 epochs, batch 64, Adam 1e-3,
on the same seeds; each arm is compared with plain cross-entropy, paired on seeds
and test images, with Holm's correction (the report's statistics).

The experiment is an ordinary imbalance-lab results directory: an interrupted
benchmark resumes, and ``imbalance-lab report DIR`` shows every plot. With ``--draws D --train T`` it runs the per-seed-draw variant instead: the arms of ``--draw-arms`` on
``seeds: {draws: D, train: T}`` with ``data.resample: per_seed`` (each draw its own training images from the
pool, the test set fixed), into their own directory, and reports each arm's variance of balanced accuracy
split into the draw's and training's parts (:mod:`imbalance_lab.stats.variance`). Usage:

    .venv/bin/python benchmarks/long_tail.py [--seeds 5] [--epochs 30] [--out results/long_tail_benchmark]
        [--write docs/benchmarks.md]
    .venv/bin/python benchmarks/long_tail.py --draws 3 --train 2 [--draw-arms ce,logit_adjusted,balpoe]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from _publish import publish
from imbalance_lab.api import report, run
from imbalance_lab.progress import NullProgress

ROOT = Path(__file__).resolve().parents[1]
TRAIN = {"profile": "exponential", "n_max": 600, "ratio": 100}
ARMS = {
    "ce": "none",
    "inverse_weights": {"class_weight": {"weights": "inverse"}},
    "class_balanced": {"class_balanced": {"beta": 0.9999}},
    "focal": {"focal": {"gamma": 2.0}},
    "ldam_drw": ["ldam", "drw"],
    "logit_adjusted": {"logit_adjusted": {"tau": 1.0}},
    "balanced_softmax": "balanced_softmax",
    "crt": {"crt": {"epochs": 10}},
    "mixup": {"mixup": {"alpha": 1.0}},
    # issue 26: the methods papers of 2022-2025 compare against, at their defaults
    "weight_decay": {"weight_decay": {"value": 5e-3}},
    "weight_balancing": "weight_balancing",
    "ldam_drw_sam": ["ldam", "drw", {"sam": {"rho": 0.8}}],  # Rangwani et al.'s CIFAR radius (ResNet-32, SGD)
    "ldam_drw_sam_0.05": ["ldam", "drw", {"sam": {"rho": 0.05}}],  # SAM's own default (Foret et al.)
    "imbsam": "imbsam",
    "lws": {"lws": {"epochs": 10}},
    "cdt": {"cdt": {"gamma": 0.2}},
    "label_aware_smoothing": "label_aware_smoothing",
    "balpoe": "balpoe",
    "ride": "ride",
    "supcon": "supcon",
    "bcl": "bcl",
}
METRICS = ("balanced_accuracy", "few_shot_accuracy", "medium_shot_accuracy", "many_shot_accuracy")
# post-hoc remedies on the plain cross-entropy runs, fitted on validation and applied without training
# (Menon et al. 2021's post-hoc logit adjustment; Saerens et al. 2002's prior correction to the test
# world's prior, estimated by EM from the unlabelled test predictions)
DECISIONS = {"rules": [{"logit_adjust": {"tau": 1.0}}, {"prior_correction": {"prior": "em"}}], "arms": ["ce"]}


def spec(seeds: int, epochs: int, arms: list[str] | None = None) -> dict:
    return {
        "name": "long_tail_benchmark",
        "data": {
            "source": "animal_mnist",
            "classes": "all",
            "seed": 0,
            "splits": {"pool": {"balanced": 600}, "val": {"balanced": 50}, "test": {"balanced": 300}},
        },
        "arms": [
            {"name": name, "train": TRAIN, "strategy": strategy}
            for name, strategy in ARMS.items()
            if arms is None or name in arms
        ],
        "decisions": DECISIONS,
        "model": {"name": "simple_cnn"},
        "training": {"epochs": epochs, "batch_size": 64, "optimizer": "adam", "lr": 0.001},
        "seeds": seeds,
        "tracking": {"mlflow": False},
    }


class Lines(NullProgress):
    def run_finished(self, arm: str, seed: int, wall_time_s: float) -> None:
        print(f"  {arm} seed {seed}: {wall_time_s:.0f} s", flush=True)


def _cell(stat) -> str:
    if stat.t_ci is None:
        return f"{stat.mean:.3f}"
    return f"{stat.mean:.3f} [{stat.t_ci.low:.3f}, {stat.t_ci.high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "long_tail_benchmark")
    parser.add_argument("--write", type=Path, default=None, help="append a results section to this Markdown file")
    parser.add_argument("--arms", default=None, help="comma-separated arms to run (default all; ce is always run)")
    parser.add_argument("--draws", type=int, default=None, help="the per-seed-draw variant: this many data draws")
    parser.add_argument("--train", type=int, default=2, help="training seeds per draw (with --draws)")
    parser.add_argument("--draw-arms", default="ce,logit_adjusted,balpoe", help="the arms of the draw variant")
    args = parser.parse_args()
    if args.draws is not None:
        draw_variant(args)
        return
    arms = None if args.arms is None else sorted({"ce", *args.arms.split(",")})

    started = time.perf_counter()
    run(spec(args.seeds, args.epochs, arms), args.out, progress=Lines())
    analysis, _ = report(args.out, reference="ce")
    test = analysis.sets["test"]
    comparisons = {m: {c.arm: c for c in test.comparisons.get(m, [])} for m in METRICS}
    rows = []
    for arm in analysis.arms:
        cells = []
        for m in METRICS[:2]:
            c = comparisons[m].get(arm)
            delta = (
                ""
                if c is None
                else f"{c.mean_diff:+.3f}{' ★' if c.significant else ''} (p<sub>Holm</sub> {c.p_holm:.2g})"
            )
            cells += [_cell(test.table[arm][m]), delta]
        rows.append(f"| `{arm}` | " + " | ".join(cells) + f" | {test.table[arm]['many_shot_accuracy'].mean:.3f} |")
    counts = ", ".join(str(n) for n in analysis.train_counts["ce"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lines = [
        f"### Long-tail remedies, Animal-MNIST, 10 classes, ρ = 100 ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, device {device}, torch {torch.__version__}; "
        f"{time.perf_counter() - started:.0f} s wall for the runs not already in `{args.out.name}`.",
        f"Command: `.venv/bin/python benchmarks/long_tail.py --seeds {args.seeds} --epochs {args.epochs}"
        + (f" --arms {args.arms}" if args.arms else "")
        + "`.",
        f"Training counts {counts} (exponential from 600, ρ = 100); val 50 and test 300 per class; seed CNN without "
        f"dropout, {args.epochs} epochs, batch 64, Adam 1e-3; {args.seeds} seeds. Mean over seeds with its 95 % t-interval; "
        "Δ is the paired difference to `ce` (★: significant after Holm's correction, paired bootstrap over seeds and "
        "test images where it applies, else a paired t-test over seeds). Few-shot: classes with < 20 training images. "
        "`ce+…` arms are post-hoc decisions on the `ce` runs (fitted on validation, no training): logit adjustment "
        "τ = 1 by the training prior, and prior correction to the test prior estimated by EM from the unlabelled "
        "test predictions.",
        "",
        "| arm | balanced accuracy | Δ vs ce | few-shot accuracy | Δ vs ce | many-shot accuracy |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    publish("\n".join(lines), args.write)


def draw_variant(args: argparse.Namespace) -> None:
    """The per-seed-draw variant: each arm's balanced-accuracy variance split into draws and training."""
    from imbalance_lab.analysis.frames import draw_variance_frame

    arms = args.draw_arms.split(",")
    out = args.out if args.out != ROOT / "results" / "long_tail_benchmark" else ROOT / "results" / "long_tail_draws"
    body = spec(args.seeds, args.epochs, arms)
    body["seeds"] = {"draws": args.draws, "train": args.train}
    body["decisions"] = None
    started = time.perf_counter()
    run(body, out, progress=Lines())
    analysis, _ = report(out, reference=arms[0])
    frame = draw_variance_frame(analysis)
    frame = frame[frame["metric"] == "balanced_accuracy"]
    rows = [
        f"| `{r.arm}` | {r.draws} × {r.train} | {r.mean:.3f} | {r.draw_var**0.5:.3f} "
        f"[{r.draw_var_low**0.5:.3f}, {r.draw_var_high**0.5:.3f}] | {r.train_var**0.5:.3f} "
        f"[{r.train_var_low**0.5:.3f}, {r.train_var_high**0.5:.3f}] | {r.draw_share:.2f} "
        f"[{r.draw_share_low:.2f}, {r.draw_share_high:.2f}] | {r.p_value:.3g} |"
        for r in frame.itertuples()
    ]
    lines = [
        f"### Long-tail remedies: which images, or which training run? ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"{time.perf_counter() - started:.0f} s wall for the runs not already in `{out.name}`.",
        f"Command: `.venv/bin/python benchmarks/long_tail.py --draws {args.draws} --train {args.train} "
        f"--draw-arms {args.draw_arms} --epochs {args.epochs}`.",
        "The long-tail benchmark's spec, with `data.resample: per_seed`: each of "
        f"{args.draws} draws takes its own training images of every arm from the pool (the same counts, ρ = 100; "
        f"the test set fixed), and {args.train} training seeds run on each. Balanced accuracy on the test set; σ "
        "as standard deviations with 95 % intervals (nested ANOVA: σ²_train from within draws, exact χ²; "
        "σ²_draw from between draws, Ting et al.'s interval); the draw's share of the variance of one run, exact "
        "F interval; p tests no draw variance.",
        "",
        "| arm | draws × seeds | mean | σ draw [95 %] | σ train [95 %] | draw's share [95 %] | p |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
