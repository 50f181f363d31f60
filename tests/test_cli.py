"""The CLI end to end: files written, resume, refusals, errors.

Each command runs at least once as a user runs it, in a new interpreter (``run_cli``); further cases of
the same command run in this process through the console script's own ``main`` (``cli``: the same
parsing, error handler and exit codes, without a new interpreter's few seconds each)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from helpers import cli, run_cli, write_spec
from imbalance_lab.spec import build_spec
from imbalance_lab.store import TMP_PREFIX

TINY_ARMS = ("balanced", "unbalanced", "weighted", "both")  # the arms of helpers.TINY_SPEC, seeds 0 and 1


def result_files(out):
    """The result.json of each of the tiny spec's 4 arms × 2 seeds, sorted."""
    return sorted(out / "runs" / arm / f"seed-{seed}" / "result.json" for arm in TINY_ARMS for seed in (0, 1))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One full run of the tiny spec, shared by the read-only checks below."""
    from helpers import TINY_SPEC

    root = tmp_path_factory.mktemp("cli")
    spec_path = write_spec(root / "tiny.yaml", TINY_SPEC)
    proc = run_cli("run", "--no-mlflow", spec_path, "--out", root / "out", check=True)
    return root, spec_path, root / "out", proc


def test_run_writes_every_run_and_the_summary(finished):
    _, _, out, proc = finished
    spec = build_spec(yaml.safe_load((out / "spec.yaml").read_text()))
    assert spec.name == "tiny"
    for arm in TINY_ARMS:
        for seed in (0, 1):
            run_dir = out / "runs" / arm / f"seed-{seed}"
            result = json.loads((run_dir / "result.json").read_text())
            assert result["arm"] == arm and result["seed"] == seed
            assert result["spec_hash"] == spec.spec_hash()
            assert result["run_hash"] == spec.run_hash(spec.arm(arm), seed)
            assert len(result["history"]) == 2
            assert {"loss", "accuracy", "recall"} <= set(result["history"][-1]["val"])
            assert {"loss", "accuracy"} <= set(result["history"][-1]["train"])
            assert set(result["metrics"]) == {"val", "test"}
            assert result["wall_time_s"] > 0
            with np.load(run_dir / "predictions.npz") as npz:
                assert set(npz.files) == {f"{s}_{k}" for s in ("val", "test") for k in ("labels", "probs", "logits")}
                for name, n in (("val", 30), ("test", 40)):
                    labels, probs = npz[f"{name}_labels"], npz[f"{name}_probs"]
                    assert labels.dtype == np.int64 and labels.shape == (n,)
                    assert probs.shape == (n, 2) and np.issubdtype(probs.dtype, np.floating)
                    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
                    # stored predictions reproduce the stored metrics
                    assert int(((probs.argmax(1) == 1) & (labels == 1)).sum()) == result["metrics"][name]["tp"]
    assert not list(out.rglob(f"{TMP_PREFIX}*"))  # no temporary run directory or file left anywhere
    csv_lines = (out / "summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("eval_set,arm,n_seeds,precision_mean,precision_std,recall_mean")
    assert len(csv_lines) == 1 + 2 * 4  # header + (val, test) × 4 arms
    assert "| balanced |" in (out / "summary.md").read_text()
    assert "[8/8]" in proc.stdout and "b recall" in proc.stdout and "weighted" in proc.stdout


def test_weighted_arm_trains_on_the_unbalanced_subset(finished):
    _, _, out, _ = finished
    result = json.loads((out / "runs/weighted/seed-0/result.json").read_text())
    assert result["train_counts"] == {"a": 60, "b": 6}


def test_rerun_skips_finished_runs(finished):
    _, spec_path, out, _ = finished
    paths = sorted(out.glob("runs/*/*/result.json"))
    assert paths == result_files(out)
    before = {p: p.stat().st_mtime_ns for p in paths}
    proc = cli("run", "--no-mlflow", spec_path, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "8 of 8 runs already finished" in proc.stdout
    assert {p: p.stat().st_mtime_ns for p in out.glob("runs/*/*/result.json")} == before


def test_summary_command_recomputes_from_the_directory(finished):
    _, _, out, _ = finished
    csv_before = (out / "summary.csv").read_text()
    (out / "summary.csv").unlink()
    proc = run_cli("summary", out, check=True)
    assert (out / "summary.csv").read_text() == csv_before
    assert "tiny: test set, mean ± std over 2 seeds" in proc.stdout


def test_changed_spec_is_refused_then_forced(tmp_path, tiny_spec):
    out = tmp_path / "out"
    tiny_spec["arms"] = tiny_spec["arms"][:1]
    tiny_spec["seeds"] = [0]
    assert cli("run", "--no-mlflow", write_spec(tmp_path / "a.yaml", tiny_spec), "--out", out).returncode == 0
    first = json.loads((out / "runs/balanced/seed-0/result.json").read_text())

    tiny_spec["training"]["epochs"] = 3
    changed = write_spec(tmp_path / "b.yaml", tiny_spec)
    proc = cli("run", "--no-mlflow", changed, "--out", out)
    assert proc.returncode == 2
    assert (
        "different spec" in proc.stderr
        and "--force" in proc.stderr
        and "training.epochs: 2 in the runs, 3 in this spec" in proc.stderr
    )
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert json.loads((out / "runs/balanced/seed-0/result.json").read_text()) == first

    assert cli("run", "--no-mlflow", changed, "--out", out, "--force").returncode == 0
    redone = json.loads((out / "runs/balanced/seed-0/result.json").read_text())
    assert len(redone["history"]) == 3


def test_adding_a_seed_runs_only_the_new_one(tmp_path, tiny_spec):
    out = tmp_path / "out"
    tiny_spec["arms"] = tiny_spec["arms"][:1]
    tiny_spec["seeds"] = [0]
    assert cli("run", "--no-mlflow", write_spec(tmp_path / "a.yaml", tiny_spec), "--out", out).returncode == 0
    mtime = (out / "runs/balanced/seed-0/result.json").stat().st_mtime_ns
    tiny_spec["seeds"] = [0, 7]
    proc = cli("run", "--no-mlflow", write_spec(tmp_path / "b.yaml", tiny_spec), "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "1 of 2 runs already finished" in proc.stdout
    assert (out / "runs/balanced/seed-0/result.json").stat().st_mtime_ns == mtime
    assert (out / "runs/balanced/seed-7/result.json").is_file()
    assert yaml.safe_load((out / "spec.yaml").read_text())["seeds"] == [0, 7]


@pytest.mark.parametrize(
    "change,expected",
    [
        (lambda s: s["training"].update(epochs="ten"), "training.epochs"),
        (lambda s: s.update(seeds=[]), "seeds"),
        (lambda s: s["arms"][1].update(strategy="smote"), "unknown strategy 'smote'"),
        (lambda s: s["data"]["splits"]["test"].update(b=500), "needs 570 images"),
        (lambda s: s.update(model={"name": "vit"}), "unknown model 'vit'"),
    ],
    ids=["wrong type", "empty seeds", "unknown strategy", "above source", "unknown model"],
)
def test_bad_spec_exits_2_with_one_line_and_writes_nothing(tmp_path, tiny_spec, change, expected):
    change(tiny_spec)
    spec_path = write_spec(tmp_path / "bad.yaml", tiny_spec)
    for command in (["run", spec_path, "--out", tmp_path / "out"], ["validate", spec_path]):
        proc = cli(*command)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
        assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


def test_validate_prints_counts(tmp_path, tiny_spec):
    proc = run_cli("validate", write_spec(tmp_path / "ok.yaml", tiny_spec), check=True)
    assert "valid" in proc.stdout and "4 arms × 2 seeds = 8 runs" in proc.stdout
    assert "set test: a 30, b 10  (total 40, imbalance 3.0:1)" in proc.stdout
    assert "arm both (class_weight + oversample): a 60, b 6  (total 66, imbalance 10.0:1)" in proc.stdout


def test_user_errors_outside_specs(tmp_path):
    proc = run_cli("run", "--no-mlflow", tmp_path / "nope.yaml")
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("summary", tmp_path)
    assert proc.returncode == 2 and "not a results directory" in proc.stderr
    proc = run_cli("list", "gadgets")
    assert proc.returncode == 2 and "strategies, models, sources" in proc.stderr
    proc = run_cli("frobnicate")
    assert proc.returncode == 2


def test_list_shows_registries():
    proc = run_cli("list", "strategies", check=True)
    from imbalance_lab.strategies import STRATEGIES

    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    assert listed == STRATEGIES.names()  # one line per strategy, every one of them
    assert "``" not in proc.stdout
    for name in ("none", "class_weight", "oversample", "undersample"):
        assert name in proc.stdout
    assert "animal_mnist" in cli("list", "sources").stdout


def test_data_command_prints_counts_and_writes_a_sample_grid(tmp_path, tiny_spec):
    from PIL import Image

    tiny_spec["data"]["splits"]["test_balanced"] = {"balanced": 10}
    tiny_spec["arms"][1]["train"] = {"majority": 60, "ratio": 10}
    spec_path = write_spec(tmp_path / "spec.yaml", tiny_spec)
    proc = run_cli("data", spec_path, "--png", tmp_path / "grid.png", "--per-class", "4", check=True)
    assert "set test_balanced: a 10, b 10  (total 20, imbalance 1.0:1)" in proc.stdout
    assert "arm unbalanced (none): a 60, b 6  (total 66, imbalance 10.0:1)" in proc.stdout
    grid = Image.open(tmp_path / "grid.png")
    assert grid.mode == "RGB" and grid.height >= 2 * 56 and grid.width > 4 * 56
    # the default location is the experiment's output directory
    tiny_spec["output"] = str(tmp_path / "results")
    assert cli("data", write_spec(tmp_path / "spec2.yaml", tiny_spec)).returncode == 0
    assert (tmp_path / "results" / "data_samples.png").is_file()


def test_one_vs_rest_run_lists_the_group_members(tmp_path, tiny_spec):
    tiny_spec["data"]["source"]["n_classes"] = 3
    tiny_spec["data"]["classes"] = {"b": 1, "other": "rest"}
    tiny_spec["data"]["splits"] = {
        "pool": {"other": 60, "b": 60},
        "val": {"other": 20, "b": 10},
        "test": {"other": 30, "b": 10},
    }
    tiny_spec["arms"] = [{"name": "unbalanced", "train": {"other": 60, "b": 6}}]
    tiny_spec["seeds"] = [0]
    proc = cli("run", "--no-mlflow", write_spec(tmp_path / "spec.yaml", tiny_spec), "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "class other = a, c" in proc.stdout
    assert "- class other = a, c" in (tmp_path / "out" / "summary.md").read_text()
    result = json.loads((tmp_path / "out/runs/unbalanced/seed-0/result.json").read_text())
    assert result["classes"] == {"b": ["b"], "other": ["a", "c"]}


def test_result_json_is_strict_json(finished):
    _, _, out, _ = finished

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant} in result.json")

    paths = sorted(out.glob("runs/*/seed-*/result.json"))
    assert paths == result_files(out)
    for path in paths:
        json.loads(path.read_text(), parse_constant=refuse)


def test_the_console_script_flushes_its_output_and_keeps_the_exit_status(tmp_path):
    """The console script ends the process without the interpreter's teardown (cli.entry): what it printed
    still arrives through a pipe, and a user mistake still exits 2."""
    listed = run_cli("list", "strategies")
    assert listed.returncode == 0
    assert "class_weight" in listed.stdout and listed.stdout.endswith("\n")
    missing = run_cli("validate", tmp_path / "nope.yaml")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: spec file") and "Traceback" not in missing.stderr
