"""Issue 24's fault battery: each defect as a user met it, now one line with the documented exit code, no
traceback and nothing left behind (the process executor's hang is in ``test_executors.py``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from helpers import cli, run_cli, write_spec
from imbalance_lab import api
from imbalance_lab.errors import UserError
from imbalance_lab.executors.raycluster import ray_answers
from imbalance_lab.models import MODELS
from test_reliability import (  # noqa: F401  (fixtures)
    RUN,
    assert_error,
    finished,
    one_seed_spec,
    results,
    warnings_of,
)

# --------------------------------------------------------------------------- Ray addresses


def serve(answer: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """A TCP server on a free local port whose every connection gets ``answer``; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    answer(conn, stop)
                except OSError:
                    pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def http1(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(4096)
    conn.sendall(b"HTTP/1.0 400 Bad request version\r\nContent-Type: text/html\r\n\r\n<html>nope</html>")


def http2_404(conn: socket.socket, stop: threading.Event) -> None:
    """An HTTP/2 server that answers every call 404 (as a proxy does): a SETTINGS frame, then `:status 404`."""
    conn.recv(4096)
    conn.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + b"\x00\x00\x01\x01\x05\x00\x00\x00\x01\x8d")


def silent(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(4096)
    stop.wait(60)  # holds the connection and says nothing, until the test ends


@pytest.mark.parametrize(
    "answer,fragment",
    [
        (http1, "it does not speak HTTP/2 as Ray does; it said 'HTTP/1.0 400 Bad request version"),
        (http2_404, "it answered the call with an HTTP status other than 200"),
        (silent, "no answer within 1 s"),
    ],
    ids=["http1", "http2-404", "silent"],
)
def test_the_address_probe_says_what_answers_instead_of_ray(
    answer: Callable[[socket.socket, threading.Event], None], fragment: str
) -> None:
    for port in serve(answer):
        assert fragment in ray_answers("127.0.0.1", port, timeout=1)


def test_the_address_probe_of_a_closed_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as free:
        port = free.getsockname()[1]
    assert ray_answers("127.0.0.1", port) == "Connection refused"


@pytest.mark.parametrize(
    "answer,fragment",
    [(http1, "does not speak HTTP/2"), (http2_404, "HTTP status other than 200"), (silent, "no answer within 5 s")],
    ids=["http1", "http2-404", "silent"],
)
def test_an_address_that_is_not_ray_is_one_line_and_leaves_no_lock(
    answer: Callable[[socket.socket, threading.Event], None], fragment: str, tmp_path: Path
) -> None:
    """Defect 1: an HTTP server at --address ran past 300 s, printed Ray's log lines and left out/.lock.
    Whatever answers, one line (the subprocess's timeout bounds a hang; the probe itself waits 5 s at most)."""
    spec_path, out = write_spec(tmp_path / "spec.yaml", one_seed_spec()), tmp_path / "out"
    for port in serve(answer):
        proc = run_cli(*RUN, spec_path, "--out", out, "--address", f"127.0.0.1:{port}", timeout=60)
        assert_error(
            proc, f"execution.address: no Ray cluster answers at '127.0.0.1:{port}'", fragment, "ray start --head"
        )
    assert proc.stdout == "" and not out.exists()


def test_an_address_where_nothing_listens_is_one_line_without_rays_logging(tmp_path: Path) -> None:
    """Defect 2: an unreachable address took 25 s and 20 lines of Ray's own logging before the error."""
    with socket.create_server(("127.0.0.1", 0)) as free:
        port = free.getsockname()[1]
    spec_path, out = write_spec(tmp_path / "spec.yaml", one_seed_spec()), tmp_path / "out"
    proc = run_cli(*RUN, spec_path, "--out", out, "--address", f"127.0.0.1:{port}", timeout=60)
    assert_error(proc, "no Ray cluster answers", "Connection refused")
    assert proc.stdout == "" and not out.exists()


# --------------------------------------------------------------------------- checks made before training
def three_classes(**decisions: Any) -> dict[str, Any]:
    """The tiny spec on three source classes taken as they are (``classes: all``): names known only once the
    source is loaded."""
    spec = one_seed_spec()
    spec["data"] = {
        "source": {"type": "synthetic", "n_per_class": 60, "size": 8, "n_classes": 3},
        "classes": "all",
        "splits": {
            "pool": {"a": 30, "b": 30, "c": 30},
            "val": {"a": 10, "b": 10, "c": 10},
            "test": {"a": 10, "b": 10, "c": 10},
        },
    }
    spec["arms"] = [
        {"name": "plain", "train": {"a": 30, "b": 10, "c": 5}},
        {"name": "weighted", "train": {"a": 30, "b": 10, "c": 5}, "strategy": {"class_weight": {"weights": "inverse"}}},
    ]
    spec["decisions"] = decisions
    return spec


@pytest.mark.parametrize(
    "decisions,fragments",
    [
        (
            {"costs": [[0, 1], [5, 0]], "rules": ["logit_adjust"]},
            ["decisions.costs: got a 2×2 cost matrix for 3 classes; expected 3×3", "in the order a, b, c"],
        ),
        (
            {"deployment_prior": {"zebra": 1, "a": 5}, "rules": ["logit_adjust"]},
            ["decisions.deployment_prior: 'zebra' is not a class", "give a frequency for each of a, b, c"],
        ),
    ],
    ids=["cost-matrix-size", "prior-unknown-class"],
)
def test_decisions_against_classes_the_source_names_are_checked_before_training(
    decisions: dict[str, Any], fragments: list[str], tmp_path: Path
) -> None:
    """Defects 3 and 4: with classes: all, a 2×2 matrix for 3 classes was refused only after every run
    trained, and a prior naming an unknown class was silently replaced by the test set's mix."""
    spec_path, out = write_spec(tmp_path / "spec.yaml", three_classes(**decisions)), tmp_path / "out"
    assert_error(cli("validate", spec_path), *fragments)
    assert_error(cli(*RUN, spec_path, "--out", out), *fragments)
    assert not out.exists()


def test_a_top_level_adaptive_key_is_refused_with_where_it_goes(tmp_path: Path) -> None:
    """Defect 5: the unknown-key message offered adaptive:, which then validated and was ignored."""
    spec = one_seed_spec()
    spec["adaptive"] = {"min": 2, "max": 4}
    line = assert_error(
        cli("validate", write_spec(tmp_path / "spec.yaml", spec)),
        "adaptive: unknown key; adaptive seeds are written in seeds",
        "seeds: {min: 3, max: 30",
    )
    spec = one_seed_spec()
    spec["epoch"] = 3
    other = assert_error(cli("validate", write_spec(tmp_path / "typo.yaml", spec)), "epoch: unknown key")
    assert "adaptive" not in other and line.endswith("selection, decisions, evaluation")


# --------------------------------------------------------------------------- weights files
@pytest.fixture
def pretrained_results(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A finished experiment whose model starts from a weights file: (spec, results directory, weights)."""
    torch.manual_seed(0)
    weights = tmp_path / "donor.pt"
    torch.save(MODELS.create("simple_cnn", 1, (8, 8), 2, width=4, hidden=8).state_dict(), weights)
    spec = one_seed_spec()
    spec["arms"] = spec["arms"][:2]
    spec["model"] = {**spec["model"], "pretrained": str(weights)}
    spec_path, out = write_spec(tmp_path / "spec.yaml", spec), tmp_path / "out"
    api.run(spec_path, out, executor="local")
    return spec_path, out, weights


def test_results_stay_readable_when_the_weights_file_moves(
    pretrained_results: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Defect 6: after `mv w.pt elsewhere`, summary and report called the directory damaged."""
    spec_path, out, weights = pretrained_results
    recorded = yaml.safe_load((out / "spec.yaml").read_text())["model"]["weights_sha256"]
    assert len(recorded) == 64
    weights.rename(tmp_path / "elsewhere.pt")
    for command in ("summary", "report"):
        proc = cli(command, out)
        assert proc.returncode == 0, proc.stderr
        (warning,) = warnings_of(proc)
        assert f"the weights file {weights} is missing (moved or deleted)" in warning and recorded[:12] in warning
        assert "Traceback" not in proc.stderr
    assert_error(cli(*RUN, spec_path, "--out", out), f"no weights file at '{weights}'")


def test_results_stay_readable_when_the_weights_file_changes_and_force_is_not_advised(
    pretrained_results: tuple[Path, Path, Path],
) -> None:
    """Defect 7: a weights file rewritten in place made report say "no finished runs ... --force"."""
    spec_path, out, weights = pretrained_results
    before = {p: p.read_bytes() for p in out.glob("runs/*/*/*")}
    assert sorted(p.name for p in before) == sorted(["predictions.npz", "result.json"] * 2)  # both runs: it can fail
    torch.manual_seed(1)
    torch.save(MODELS.create("simple_cnn", 1, (8, 8), 2, width=4, hidden=8).state_dict(), weights)
    for command in ("summary", "report"):
        proc = cli(command, out)
        assert proc.returncode == 0, proc.stderr
        (warning,) = warnings_of(proc)
        assert f"the weights file {weights} has changed" in warning and "--force" not in proc.stderr + proc.stdout
    line = assert_error(cli(*RUN, spec_path, "--out", out), "model.weights_sha256:", "in the runs", "in this spec")
    assert line.index("--out NEW_DIR") < line.index("--force")
    assert {p: p.read_bytes() for p in out.glob("runs/*/*/*")} == before


def test_a_pinned_weights_digest_must_match_the_file(
    pretrained_results: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    spec_path, out, weights = pretrained_results
    pinned = yaml.safe_load((out / "spec.yaml").read_text())
    assert cli("validate", write_spec(tmp_path / "pinned.yaml", pinned)).returncode == 0
    torch.save({"other": torch.zeros(1)}, weights)
    assert_error(cli("validate", tmp_path / "pinned.yaml"), "model.weights_sha256: the weights file", "not", "as given")


def test_a_relative_weights_path_names_the_directory_it_was_read_from(tmp_path: Path) -> None:
    spec = one_seed_spec()
    spec["model"] = {**spec["model"], "pretrained": "weights/w.pt"}
    assert_error(
        cli("validate", write_spec(tmp_path / "spec.yaml", spec), cwd=tmp_path),
        "no weights file at 'weights/w.pt'",
        f"relative paths are read from the current directory, {tmp_path}",
    )


# --------------------------------------------------------------------------- results directories
def test_a_hand_edited_spec_yaml_is_named_with_the_fields_that_differ(results: Path) -> None:
    """Defect 8: a spec.yaml changed by hand got "no finished runs yet ... --force to replace it"."""
    stored = yaml.safe_load((results / "spec.yaml").read_text())
    stored["training"]["epochs"] = 5
    (results / "spec.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))
    for args in (
        ("summary", results),
        ("report", results),
        ("compare", results, results, "--out", results.parent / "c"),
    ):
        line = assert_error(
            cli(*args),
            f"{results / 'spec.yaml'} does not match any of the 8 runs it holds",
            "changed by hand",
            "training.epochs: 1 in the runs, 5 in spec.yaml",
        )
        assert "--force" not in line


def test_another_experiments_spec_copied_in_is_named(results: Path) -> None:
    other = one_seed_spec()
    other["name"] = "other"
    other["arms"] = [{"name": "fresh", "train": {"a": 60, "b": 6}}]
    write_spec(results / "spec.yaml", other)
    line = assert_error(
        cli("report", results),
        "has no finished runs of the arms its spec.yaml names (fresh)",
        "runs of other arms (balanced, both, unbalanced, weighted)",
        "put back the spec those runs were made with",
    )
    assert "--force" not in line


def test_runs_that_is_a_file_is_refused_before_training(tmp_path: Path) -> None:
    """Defect 9: `runs` as a regular file trained every run, then failed with a 58-line traceback."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs").write_text("not a folder")
    spec_path = write_spec(tmp_path / "spec.yaml", one_seed_spec())
    assert_error(cli(*RUN, spec_path, "--out", out), f"{out / 'runs'} is a file", "move the file out")
    assert sorted(p.name for p in out.iterdir()) == [".lock", ".state.lock", "runs"] or sorted(
        p.name for p in out.iterdir()
    ) == [".lock", "runs"]


def test_a_write_that_fails_mid_run_is_one_line_and_leaves_no_half_run(tmp_path: Path) -> None:
    """A real write failure while storing a run (a file-size limit: writes past it fail with EFBIG, as a
    full disk fails with ENOSPC): one line, exit 2 (docs/guide/reliability.md: runs stored before are kept), nothing half-written."""
    import resource

    spec = one_seed_spec(epochs=3)
    spec_path, out = write_spec(tmp_path / "spec.yaml", spec), tmp_path / "out"

    def small_files() -> None:
        resource.setrlimit(
            resource.RLIMIT_FSIZE, (4_000, 4_000)
        )  # spec.yaml fits (~1 kB), a run's result.json (~7 kB) not

    exe = Path(sys.executable).with_name("imbalance-lab")
    proc = subprocess.run(
        [str(exe), *RUN, str(spec_path), "--out", str(out), "--executor", "local"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=small_files,
    )
    assert_error(proc, "cannot write", "File too large", "are kept", "run the same command again to resume")
    assert ".tmp-" not in proc.stderr
    assert not list(out.rglob(".tmp-*")) and not list(out.glob("runs/*/seed-*"))


def test_a_report_that_cannot_be_written_names_the_report_not_a_temporary_file(results: Path) -> None:
    (results / "report.html").unlink()
    (results / "report.html").mkdir()
    line = assert_error(cli("report", results), f"cannot write {results / 'report.html'}")
    assert ".tmp-" not in line


def test_an_unknown_reference_reads_as_english(results: Path) -> None:
    assert_error(
        cli("report", results, "--reference", "nope"),
        "--reference: got 'nope', which is not an arm of this experiment; valid: balanced, unbalanced, weighted, both",
    )


# --------------------------------------------------------------------------- compare
def test_compare_keeps_each_experiments_decisions_only_where_they_agree(tmp_path: Path) -> None:
    """compare applied the first directory's decisions to every arm, and those naming `arms:` vanished."""
    outs = []
    for name, arms in (("first", ["balanced"]), ("second", ["weighted"])):
        spec = one_seed_spec()
        spec["name"] = name
        spec["decisions"] = {"rules": [{"threshold": {"by": "max_f1"}}], "arms": arms}
        out = tmp_path / name
        api.run(spec, out, executor="local")
        outs.append(out)
    proc = cli("compare", *outs, "--out", tmp_path / "both")
    assert proc.returncode == 0, proc.stderr
    rows = (tmp_path / "both" / "report.csv").read_text()
    assert "first.balanced+threshold(max_f1)" in rows and "second.weighted+threshold(max_f1)" in rows
    assert "first.weighted+threshold" not in rows and "second.balanced+threshold" not in rows
    spec = one_seed_spec()
    spec["name"] = "third"
    spec["decisions"] = {"rules": ["temperature"]}
    spec["selection"] = {"rules": ["last", {"set": "val", "metric": "loss"}]}
    api.run(spec, tmp_path / "third", executor="local")
    proc = cli("compare", outs[0], tmp_path / "third", "--out", tmp_path / "mixed")
    assert proc.returncode == 0, proc.stderr
    said = warnings_of(proc)
    assert any("the decisions (what to deploy) are left out of this comparison" in w for w in said)
    assert any("the selection study is left out of this comparison" in w for w in said)
    assert "+temperature" not in (tmp_path / "mixed" / "report.csv").read_text()
    assert not (tmp_path / "mixed" / "selection.csv").exists()


# --------------------------------------------------------------------------- simulate
@pytest.mark.parametrize(
    "args,fragments",
    [
        (["--seed", "-1"], ["simulate --seed -1: a seed is a whole number 0 or more"]),
        (
            ["--negatives", "10000000000"],
            [
                "simulate: a validation set of 10,000,010,000 images needs about",
                "GB of memory",
                "give fewer --negatives or --positives",
            ],
        ),
    ],
    ids=["negative-seed", "too-large"],
)
def test_simulate_refuses_values_it_cannot_use(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    """Defects 10 and 11: a negative seed and a set too large for memory ended in tracebacks."""
    out = tmp_path / "sim"
    assert_error(cli("simulate", *args, "--no-mlflow", "--out", out), *fragments)
    assert not out.exists()


def test_simulate_into_a_folder_under_a_file_is_one_line(tmp_path: Path) -> None:
    """Defect 12: --out f/sim with f a file ended in NotADirectoryError."""
    (tmp_path / "f").write_text("a file")
    assert_error(
        cli("simulate", "--no-mlflow", "--out", tmp_path / "f" / "sim"),
        f"output folder {tmp_path / 'f' / 'sim'} cannot be made: {tmp_path / 'f'} is a file",
    )


# --------------------------------------------------------------------------- the questionable cases, made clear
def test_a_field_path_never_shows_a_class_name(tmp_path: Path) -> None:
    spec = one_seed_spec()
    spec["decisions"] = {"costs": {"false_negative": -1}}
    line = assert_error(
        cli("validate", write_spec(tmp_path / "spec.yaml", spec)), "decisions.costs.false_negative: got -1"
    )
    assert "CostSpec" not in line


@pytest.mark.parametrize(
    "grid_arm,fragments",
    [
        (
            {
                "name": "g",
                "grid": {"r": [1, 2]},
                "train": {"a": 60, "b": 6},
                "strategy": {"oversample": {"ratio": "$r"}},
            },
            ["arms[4] (grid arm g-r2: r=2).strategy[0].oversample.ratio: got 2"],
        ),
        (
            {"name": "g", "grid": {"n": [6, 200]}, "train": {"a": 60, "b": "$n"}},
            ["arms[4] (grid arm g-n200: n=200).train.b: got 200, more than the 60 images of the pool"],
        ),
        (
            {"name": "g", "grid": {"s": {"f": {"focal": {"gama": 2}}}}, "train": {"a": 60, "b": 6}, "strategy": "$s"},
            ["arms[4] (grid arm g-f: s=f).strategy[0].focal.gama: unknown parameter"],
        ),
    ],
    ids=["parameter", "count", "unknown-parameter"],
)
def test_grid_errors_name_the_grid_entry_and_its_factors(
    grid_arm: dict[str, Any], fragments: list[str], tmp_path: Path
) -> None:
    spec = one_seed_spec()
    spec["arms"].append(grid_arm)
    assert_error(cli("validate", write_spec(tmp_path / "spec.yaml", spec)), *fragments)


def test_a_key_given_twice_in_a_spec_is_refused(tmp_path: Path) -> None:
    text = yaml.safe_dump(one_seed_spec(), sort_keys=False).replace("training:\n", "training:\n  epochs: 7\n", 1)
    (tmp_path / "spec.yaml").write_text(text)
    assert_error(
        cli("validate", tmp_path / "spec.yaml"), "is not valid YAML at line", "the key 'epochs' is given twice"
    )


def test_the_python_api_refuses_what_is_not_a_spec_and_unknown_plot_names(finished: Path) -> None:
    import imbalance_lab

    with pytest.raises(UserError, match=r"spec: got 42 \(int\); give the path of a YAML spec"):
        imbalance_lab.run_experiment(42)
    experiment = imbalance_lab.load(finished)
    with pytest.raises(UserError, match="metric 'no_such_metric': not compared on the test set; valid: recall"):
        experiment.plot.forest("no_such_metric")
    with pytest.raises(UserError, match="metric 'no_such_metric': not recorded per epoch on train"):
        experiment.plot.curves("no_such_metric")
    with pytest.raises(UserError, match="set_name 'nope': not an evaluation set"):
        experiment.plot.confusion(set_name="nope")
    assert experiment.plot.forest("recall").axes  # a real metric still draws
