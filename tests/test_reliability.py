"""Reliability through the CLI as a user types it: unusable paths, damaged results, impossible
settings, one writer per results directory, signals. Each case gets one line (an ``error:``
with exit 2, or a ``warning:`` where going on is right), no traceback, and leaves nothing behind.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from helpers import TINY_SPEC, HeldRun, cli, run_cli, waits_for_lock, write_spec
from imbalance_lab.store import LOCK_FILE, ResultStore

RUN = ("run", "--no-mlflow")


def one_seed_spec(**training: Any) -> dict[str, Any]:
    spec = copy.deepcopy(TINY_SPEC)
    spec["seeds"] = [0]
    spec["training"] = {**spec["training"], "epochs": 1, **training}
    return spec


def files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def assert_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 2, one ``error:`` line naming every fragment, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def warnings_of(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny spec (4 arms × 2 seeds × 1 epoch), run once; tests copy it before damaging it."""
    root = tmp_path_factory.mktemp("finished")
    spec = copy.deepcopy(TINY_SPEC)
    spec["training"]["epochs"] = 1
    proc = cli(*RUN, write_spec(root / "tiny.yaml", spec), "--out", root / "out")
    assert proc.returncode == 0, proc.stderr
    return root / "out"


@pytest.fixture
def results(finished: Path, tmp_path: Path) -> Path:
    copied = tmp_path / "results"
    shutil.copytree(finished, copied)
    return copied


# ------------------------------------------------------------------ output paths, checked before training
@pytest.mark.parametrize("where", ["a-file", "a-file/sub", "/proc/imbalance-lab/out", "spec-output"])
def test_an_unusable_output_path_is_one_line_and_nothing_is_written(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    spec = one_seed_spec()
    if where == "spec-output":
        spec["output"] = "/proc/imbalance-lab"
    spec_path = write_spec(tmp_path / "spec.yaml", spec)
    before = files_under(tmp_path)
    args = (*RUN, spec_path) if where == "spec-output" else (*RUN, spec_path, "--out", where)
    proc = cli(*args, cwd=tmp_path)
    expected = {"a-file": "is an existing file, not a directory", "a-file/sub": "a-file is a file, not a directory"}
    assert_error(proc, expected.get(where, "cannot write the results directory /proc/imbalance-lab"))
    assert files_under(tmp_path) == before
    assert (tmp_path / "a-file").read_text() == "not a directory"


def test_other_unusable_output_paths_are_one_line(finished: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    spec_path = write_spec(tmp_path / "spec.yaml", one_seed_spec())
    before = files_under(tmp_path)
    assert_error(
        cli("data", spec_path, "--png", tmp_path / "a-file" / "x.png"), "is an existing file", "give --png a path"
    )
    assert_error(cli("data", spec_path, "--png", "/proc/imbalance-lab.png"), "cannot write /proc/", "give --png a path")
    assert_error(
        cli("compare", finished, finished, "--out", tmp_path / "a-file"), "comparison directory", "existing file"
    )
    assert_error(cli("compare", finished, finished, "--out", "/proc/imbalance-lab"), "cannot write /proc/imbalance-lab")
    assert files_under(tmp_path) == before


def test_too_little_disk_space_is_refused_before_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("imbalance_lab.store.free_bytes", lambda path: 1000)
    spec_path = write_spec(tmp_path / "spec.yaml", one_seed_spec())
    assert_error(cli(*RUN, spec_path, "--out", tmp_path / "out"), "4 runs need about", "MB are free")
    assert not (tmp_path / "out").exists()


def test_a_device_this_machine_lacks_is_refused_by_validate_and_run(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    spec_path = write_spec(tmp_path / "spec.yaml", one_seed_spec(device="cuda"))
    assert_error(cli("validate", spec_path), "training.device", "no CUDA GPU is available")
    assert_error(cli(*RUN, spec_path, "--out", tmp_path / "out"), "training.device")
    assert not (tmp_path / "out").exists()


def test_an_unknown_reference_is_refused_before_anything_trains(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.yaml", one_seed_spec())
    proc = cli(*RUN, spec_path, "--out", tmp_path / "out", "--reference", "nope")
    assert_error(proc, "--reference", "'nope'", "valid: balanced, unbalanced, weighted, both")
    assert "finished in" not in proc.stdout
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ what the data make impossible to learn
def test_an_arm_without_images_of_a_class_is_warned_at_validate_and_in_the_report(tmp_path: Path) -> None:
    spec = one_seed_spec()
    spec["arms"] = [{"name": "unbalanced", "train": {"a": 60, "b": 6}}, {"name": "no_b", "train": {"a": 60, "b": 0}}]
    spec_path = write_spec(tmp_path / "spec.yaml", spec)
    proc = cli("validate", spec_path)
    assert proc.returncode == 0
    assert warnings_of(proc) == [
        "warning: arms[1].train: arm 'no_b' has no training images of class 'b'; it will "
        "never predict it from learning (give it at least one image if that is not intended)"
    ]
    proc = cli(*RUN, spec_path, "--out", tmp_path / "out")
    assert proc.returncode == 0
    unseen = "warning: arm `no_b` has no training images of class `b`: it never saw that class, so its scores there are not learned"
    assert unseen in warnings_of(proc)
    assert "## Read first" in (tmp_path / "out" / "report.md").read_text()
    assert "it never saw that class" in (tmp_path / "out" / "report.html").read_text()


def test_an_empty_class_folder_leaves_no_cache_behind(tmp_path: Path) -> None:
    root = tmp_path / "images"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    for i in range(3):
        Image.new("L", (8, 8), 40 * i).save(root / "cat" / f"{i}.png")
    spec = one_seed_spec()
    spec["data"]["source"] = {
        "type": "image_folder",
        "root": str(root),
        "size": 8,
        "channels": 1,
        "cache_dir": str(tmp_path / "cache" / "images"),
    }
    spec["data"]["classes"] = "all"
    spec_path = write_spec(tmp_path / "spec.yaml", spec)
    assert_error(cli("validate", spec_path), f"class folder {root / 'dog'} has no readable images")
    assert not (tmp_path / "cache").exists()


# ------------------------------------------------------------------ damaged results directories
def damage_rows(run: Path) -> None:
    arrays = dict(np.load(run / "predictions.npz"))
    arrays["test_probs"] = arrays["test_probs"][:-3]
    np.savez(run / "predictions.npz", **arrays)


DAMAGE = {
    "fewer-rows": (damage_rows, "predictions.npz damaged (test_probs has shape (37, 2), expected (40, 2)"),
    "truncated-result": (lambda run: (run / "result.json").write_text('{"arm": "unbal'), "result.json damaged"),
    "empty-result": (lambda run: (run / "result.json").write_text("{}"), "result.json damaged"),
    "corrupt-npz": (
        lambda run: (run / "predictions.npz").write_bytes(b"PK\x03\x04 not a zip"),
        "predictions.npz damaged",
    ),
    "missing-result": (lambda run: (run / "result.json").unlink(), "result.json missing"),
    "labels-out-of-range": (
        lambda run: np.savez(
            run / "predictions.npz",
            **{**dict(np.load(run / "predictions.npz")), "val_labels": np.full(30, 7, dtype=np.int64)},
        ),
        "predictions.npz damaged (val_labels holds a class index outside 0..1)",
    ),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_report_and_summary_name_a_damaged_run_in_the_same_line(results: Path, damage: str) -> None:
    break_run, expected = DAMAGE[damage]
    break_run(results / "runs" / "weighted" / "seed-1")
    report, summary = cli("report", results), cli("summary", results)
    assert report.returncode == summary.returncode == 0
    line = f"warning: skipped run weighted/seed-1: {expected}"
    assert [w for w in warnings_of(report) if "skipped run" in w] == [w for w in warnings_of(summary)]
    assert len(warnings_of(summary)) == 1 and warnings_of(summary)[0].startswith(line), summary.stderr
    assert "Traceback" not in report.stderr + summary.stderr
    assert "weighted/seed-1" in (results / "report.md").read_text()


def test_a_damaged_reference_is_replaced_only_with_a_warning(results: Path) -> None:
    for seed in (0, 1):
        (results / "runs" / "unbalanced" / f"seed-{seed}" / "result.json").write_text("{}")
    proc = cli("report", results)
    assert proc.returncode == 0
    moved = (
        "warning: the reference arm `unbalanced` has no finished, undamaged run, so every arm is compared with "
        "`balanced` instead; finish or repair `unbalanced`'s runs, or choose with --reference"
    )
    assert moved in warnings_of(proc)
    assert "against `balanced`" in proc.stdout
    assert "compared with `balanced` instead" in (results / "report.md").read_text()
    assert_error(cli("report", results, "--reference", "unbalanced"), "'unbalanced'", "no finished, undamaged run")


def test_a_damaged_run_blocks_run_with_one_line_until_deleted(results: Path, tmp_path: Path) -> None:
    (results / "runs" / "both" / "seed-0" / "result.json").write_text("{}")
    spec_path = tmp_path / "spec.yaml"
    shutil.copy(results / "spec.yaml", spec_path)
    assert_error(
        cli(*RUN, spec_path, "--out", results),
        "result.json is damaged (it lacks arm, seed, run_hash",
        f"delete {results / 'runs' / 'both' / 'seed-0'}",
    )


def test_a_spec_yaml_that_is_not_utf8_is_named(results: Path) -> None:
    (results / "spec.yaml").write_bytes(b"\xff\xfe\x80")
    for command in ("report", "summary"):
        assert_error(cli(command, results), f"{results / 'spec.yaml'} is damaged", "utf-8")


# ------------------------------------------------------------------ one writer per directory
def test_a_second_writer_is_refused_naming_the_first_and_changes_nothing(results: Path, tmp_path: Path) -> None:
    other = yaml.safe_load((results / "spec.yaml").read_text())
    other["training"]["epochs"] = 2
    spec_path = write_spec(tmp_path / "other.yaml", other)
    spec_before = (results / "spec.yaml").read_bytes()
    before = files_under(results)
    with ResultStore(results).writer(command="imbalance-lab run first.yaml"):
        proc = cli(*RUN, spec_path, "--out", results, "--force")
        line = assert_error(
            proc,
            f"{results} is in use by another run (process {os.getpid()} on ",
            "imbalance-lab run first.yaml",
            "give this one another --out",
        )
        report = cli("report", results)  # readers go on while a writer works, and say so
        assert report.returncode == 0 and "note: a run is writing into" in report.stdout
    assert "Traceback" not in line
    assert (results / "spec.yaml").read_bytes() == spec_before
    assert files_under(results) == before
    assert cli(*RUN, spec_path, "--out", results).returncode == 2  # free again: now refused as another spec
    assert ResultStore(results).writer_active() is None


def test_readers_wait_for_a_change_of_the_directory_to_finish(results: Path) -> None:
    from imbalance_lab import api

    store, done = ResultStore(results), []
    with store.state_lock(shared=False):
        reader = threading.Thread(target=lambda: done.append(api.load_summary(results)), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60  # a bound for a hang: the event is the reader blocked on the lock
        while not waits_for_lock(results / ".state.lock", os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (
            waits_for_lock(results / ".state.lock", os.getpid()) and not done
        )  # blocked while the writer changes things
    reader.join(timeout=60)
    assert len(done) == 1 and len(done[0].rows) == 8


def test_sigterm_keeps_finished_runs_removes_the_one_in_flight_and_frees_the_directory(tmp_path: Path) -> None:
    """The signal lands where the test holds the run (no timing window): one run stored, the next one trained
    and waiting in its temporary directory to be stored."""
    spec_path, out = write_spec(tmp_path / "spec.yaml", one_seed_spec()), tmp_path / "out"
    with HeldRun(*RUN, spec_path, "--out", out, out=out) as first:
        in_flight = first.hold_a_run_in_flight()
        (stored,) = first.stored()
        kept = stored.read_bytes()
        assert ResultStore(out).writer_active() is not None
        second = run_cli(*RUN, spec_path, "--out", out, timeout=120)  # a process of its own, as a second user's
        assert_error(second, f"in use by another run (process {first.driver.pid} on ")
        proc = first.stop(signal.SIGTERM)
    assert proc.returncode == 143, proc.stderr
    assert "interrupted: the finished runs in" in proc.stderr and "Traceback" not in proc.stderr
    assert first.stored() == [stored] and stored.read_bytes() == kept  # the finished run kept as it was
    assert not in_flight.exists() and not list(out.rglob(".tmp-*"))  # the run in flight left nothing
    assert ResultStore(out).writer_active() is None
    with ResultStore(out).writer():
        pass
    assert (out / LOCK_FILE).is_file()


# ------------------------------------------------------------------ compare, messages, one seed
def test_compare_never_writes_into_a_compared_or_other_results_directory(
    results: Path, finished: Path, tmp_path: Path
) -> None:
    report_before = (results / "report.html").read_bytes()
    assert_error(cli("compare", results, finished, "--out", results), "is one of the compared results directories")
    other = tmp_path / "other"
    shutil.copytree(finished, other)
    assert_error(cli("compare", results, finished, "--out", other), "is an experiment's results directory")
    assert (results / "report.html").read_bytes() == report_before
    assert cli("compare", results, finished, "--out", tmp_path / "comparison").returncode == 0


@pytest.mark.parametrize(
    "change,fragments",
    [
        (
            lambda s: s["data"].update(classes={"café": 0, "b": 1}, positive="b"),
            ["data.classes.café", "ASCII letters (a-z, A-Z)", "'é' is not ASCII"],
        ),
        (
            lambda s: s["training"].update(epochs=1.0e30),
            ["training.epochs", "1e+30", "expected a whole number (this one is too large)"],
        ),
        (lambda s: s["training"].update(epochs="1.0e+30"), ["training.epochs", "expected a whole number"]),
    ],
    ids=["accented-class-name", "epochs-1e30", "epochs-1e30-string"],
)
def test_messages_say_what_is_wrong(tmp_path: Path, change: Any, fragments: list[str]) -> None:
    spec = one_seed_spec()
    change(spec)
    spec_path = write_spec(tmp_path / "spec.yaml", spec)
    assert_error(cli("validate", spec_path), *fragments)


def test_with_one_seed_no_verdict_claims_significance(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.yaml", one_seed_spec())
    proc = cli(*RUN, spec_path, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    verdicts = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  on ")]
    assert len(verdicts) == 5
    for line in verdicts:
        assert "with one seed no difference can be called significant; the largest change from `unbalanced` is" in line
    assert "★" not in (tmp_path / "out" / "report.md").read_text()
