"""The results directory: atomic runs, resume after a kill, refusal of foreign runs."""

from __future__ import annotations

import json
import signal

import pytest

from helpers import HeldRun, cli, run_cli, write_spec
from imbalance_lab import api, run_one
from imbalance_lab.errors import StoreError
from imbalance_lab.spec import build_spec
from imbalance_lab.store import ResultStore, write_atomic


def test_write_atomic_replaces_whole_file(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    write_atomic(path, "one")
    write_atomic(path, "two")
    assert path.read_text() == "two"
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.txt"]


def test_finished_run_is_never_rewritten(tmp_path, tiny_spec):
    spec = build_spec(tiny_spec)
    store = ResultStore(tmp_path)
    store.open(spec)
    result = run_one(spec, "unbalanced", 0)
    path = store.write_run(result)
    before = (path / "result.json").read_bytes()
    with pytest.raises(StoreError, match="never rewritten"):
        store.write_run(result)
    assert (path / "result.json").read_bytes() == before
    assert store.open(spec) == [("unbalanced", 0)]


def test_leftovers_of_a_killed_run_are_removed(tmp_path, tiny_spec):
    spec = build_spec(tiny_spec)
    leftover = tmp_path / "runs" / "balanced" / ".tmp-seed-0-abc"
    leftover.mkdir(parents=True)
    (leftover / "predictions.npz").write_bytes(b"half")
    store = ResultStore(tmp_path)
    assert store.open(spec) == []
    assert not leftover.exists()
    assert not store.is_finished("balanced", 0)


def test_corrupt_result_is_a_clear_error(tmp_path, tiny_spec):
    spec = build_spec(tiny_spec)
    store = ResultStore(tmp_path)
    store.open(spec)
    run_dir = store.run_dir("balanced", 0)
    run_dir.mkdir(parents=True)
    (run_dir / "result.json").write_text("{not json")
    with pytest.raises(StoreError, match=r"cannot read .*result.json.*delete"):
        store.open(spec)
    proc = run_cli("summary", tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (
        "no finished runs yet (1 broken: balanced/seed-0: result.json damaged (not the JSON of a finished run)"
        in proc.stderr
    )


def test_summary_skips_broken_runs_and_names_them(tmp_path, tiny_spec):
    tiny_spec["arms"] = tiny_spec["arms"][:2]
    tiny_spec["seeds"] = [0, 1]
    out = tmp_path / "out"
    api.run(build_spec(tiny_spec), out, executor="local", threads=1)  # the runs to damage (the CLI's run: test_cli.py)
    (out / "runs/balanced/seed-0/predictions.npz").write_bytes(b"PK\x03\x04 truncated")
    foreign = out / "runs/unbalanced/seed-1/result.json"
    body = json.loads(foreign.read_text())
    body["run_hash"] = "0123456789abcdef"
    foreign.write_text(json.dumps(body))
    half = out / "runs/balanced/seed-1"
    (half / "result.json").unlink()  # a run directory without its result: partly written by hand
    proc = run_cli("summary", out, check=True)
    assert "skipped run balanced/seed-0: predictions.npz damaged (BadZipFile)" in proc.stderr
    assert "skipped run unbalanced/seed-1: made with other settings than spec.yaml" in proc.stderr
    assert "skipped run balanced/seed-1: result.json missing (a damaged run)" in proc.stderr
    assert "Traceback" not in proc.stderr
    csv_rows = (out / "summary.csv").read_text().splitlines()[1:]
    assert {row.split(",")[1] for row in csv_rows} == {"unbalanced"}  # only the one good run remains
    assert "3 run(s) skipped as broken" in (out / "summary.md").read_text()


def test_kill_mid_experiment_loses_only_the_run_in_flight(tmp_path, tiny_spec):
    """SIGKILL lands while the driver stores a trained run (held there by the test, an event rather than a timing
    window): the run stored before stays whole, the one in flight stays hidden until the resume removes it."""
    tiny_spec["seeds"] = [0, 1, 2]
    spec_path = write_spec(tmp_path / "spec.yaml", tiny_spec)
    out = tmp_path / "out"
    with HeldRun("run", "--no-mlflow", spec_path, "--out", out, "--executor", "local", out=out) as held:
        in_flight = held.hold_a_run_in_flight()
        killed = held.stop(signal.SIGKILL)
    assert "[1/12] " in killed.stdout and "[2/12] " not in killed.stdout
    finished = sorted(out.glob("runs/*/seed-*"))
    assert finished == [p.parent for p in held.stored()] and len(finished) == 1
    assert (in_flight / "result.json").is_file()  # killed mid-store: whole, but hidden, never a visible run
    kept = {}
    for run_dir in finished:  # every visible run is complete
        result = json.loads((run_dir / "result.json").read_text())
        assert len(result["history"]) == tiny_spec["training"]["epochs"]
        assert (run_dir / "predictions.npz").stat().st_size > 0
        kept[run_dir] = (run_dir / "result.json").read_bytes()

    resumed = cli("run", "--no-mlflow", spec_path, "--out", out)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 12 runs already finished" in resumed.stdout
    assert len(list(out.glob("runs/*/seed-*/result.json"))) == 12
    assert not in_flight.exists() and not list(out.glob("runs/*/.tmp-*"))  # the resume removed the leftover
    for run_dir, body in kept.items():
        assert (run_dir / "result.json").read_bytes() == body


def test_runs_store_logits_and_runs_without_them_still_read(tmp_path, tiny_spec):
    import numpy as np

    from imbalance_lab.api import report
    from imbalance_lab.results import PREDICTIONS_FILE, set_predictions

    tiny_spec["tracking"] = {"mlflow": False}
    spec = build_spec(tiny_spec)
    store = ResultStore(tmp_path)
    store.open(spec)
    for arm in ("balanced", "unbalanced"):
        store.write_run(run_one(spec, arm, 0))
    stored = store.read_run("balanced", 0).predictions()
    for name in ("val", "test"):
        pred = set_predictions(stored, name)
        assert pred.logits.dtype == np.float32 and pred.logits.shape == pred.probs.shape
        # the stored probabilities are the softmax of the stored logits
        shifted = np.exp(pred.logits - pred.logits.max(axis=1, keepdims=True))
        np.testing.assert_allclose(shifted / shifted.sum(axis=1, keepdims=True), pred.probs, rtol=1e-5, atol=1e-6)
    # a run written before logits were kept (labels and probabilities only) is still analysed
    old = store.run_dir("unbalanced", 0) / PREDICTIONS_FILE
    with np.load(old) as npz:
        arrays = {k: npz[k] for k in npz.files if not k.endswith("_logits")}
    np.savez_compressed(old, **arrays)
    assert set_predictions(store.read_run("unbalanced", 0).predictions(), "test").logits is None
    analysis, _ = report(tmp_path, n_boot=50)
    assert set(analysis.arms) == {"balanced", "unbalanced"} and not analysis.problems
