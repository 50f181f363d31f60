"""Bad inputs as a user types them: every one is a single ``error:`` line, exit 2, no traceback, nothing written.

The contract for user mistakes (STYLE.md; docs/guide/reliability.md, "How a mistake is answered"): the
CLI prints one line on stderr naming the field, the bad value and what is
valid, exits 2 and leaves no file behind. Each case runs the real ``main()``
in-process (:func:`helpers.cli`); ``test_cli.py`` runs the console script itself.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import TINY_SPEC, cli, write_spec
from imbalance_lab.spec import build_spec

Change = Callable[[dict[str, Any]], Any]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2 and exactly one ``error: `` line on stderr containing every fragment; no traceback anywhere."""
    shown = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr, shown
    assert proc.returncode == 2, shown
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, shown
    assert lines[0].startswith("error: "), shown
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def files_under(root: Path) -> set[Path]:
    """Every file and directory below ``root``: what a failed command must leave unchanged."""
    return set(root.rglob("*"))


def _walk(spec: dict[str, Any], path: str) -> tuple[Any, str | int]:
    *parents, last = [int(key) if key.isdigit() else key for key in path.split(".")]
    node = spec
    for key in parents:
        node = node[key]
    return node, last


def set_at(path: str, value: Any) -> Change:
    """Set a dotted path of the tiny spec (``arms.0.name``) to ``value``."""

    def change(spec: dict[str, Any]) -> None:
        node, key = _walk(spec, path)
        node[key] = value

    return change


def drop(path: str) -> Change:
    """Remove a dotted path of the tiny spec."""

    def change(spec: dict[str, Any]) -> None:
        node, key = _walk(spec, path)
        del node[key]

    return change


def changed(change: Change) -> dict[str, Any]:
    """A fresh copy of the tiny spec with one mistake made."""
    spec = copy.deepcopy(TINY_SPEC)
    change(spec)
    return spec


# --------------------------------------------------------------------------- spec mistakes
# (id, change to the tiny spec, fragments of the one line: the field, the bad value, what is valid)
SPEC_MISTAKES = [
    # unknown keys and typos
    ("unknown-top-level-key", set_at("epochs", 3), ["epochs: unknown key", "training"]),
    ("typo-data-key", set_at("data.clases", {"a": 0}), ["data.clases", "unknown key", "classes"]),
    ("typo-training-key", set_at("training.epoch", 3), ["training.epoch", "unknown key", "epochs"]),
    ("typo-model-key", set_at("model.widht", 3), ["model.widht", "unknown parameter", "width"]),
    ("typo-arm-key", set_at("arms.0.strategies", "none"), ["arms[0].strategies", "unknown key", "strategy"]),
    (
        "typo-tracking-key",
        set_at("tracking", {"mlflow_url": "x"}),
        ["tracking.mlflow_url", "unknown key", "mlflow_uri"],
    ),
    ("numeric-key", set_at("training.5", 5), ["training.5", "unknown key"]),
    # required parts missing, sections of the wrong shape
    ("missing-name", drop("name"), ["name: required"]),
    ("missing-data", drop("data"), ["data: required"]),
    ("missing-arms", drop("arms"), ["arms: required"]),
    ("missing-arm-train", drop("arms.0.train"), ["arms[0].train: required"]),
    ("data-is-a-word", set_at("data", "animal_mnist"), ["data", "got 'animal_mnist'"]),
    ("training-is-a-number", set_at("training", 5), ["training", "got 5"]),
    ("arms-is-a-word", set_at("arms", "balanced"), ["arms", "got 'balanced'"]),
    ("arm-is-a-word", set_at("arms", ["balanced"]), ["arms[0]", "got 'balanced'"]),
    ("output-is-a-list", set_at("output", [1, 2]), ["output", "got [1, 2]"]),
    # training
    ("epochs-zero", set_at("training.epochs", 0), ["training.epochs", "got 0"]),
    ("epochs-negative", set_at("training.epochs", -3), ["training.epochs", "got -3"]),
    ("epochs-a-word", set_at("training.epochs", "ten"), ["training.epochs", "got 'ten'"]),
    ("epochs-fractional", set_at("training.epochs", 2.5), ["training.epochs", "got 2.5"]),
    ("epochs-above-limit", set_at("training.epochs", 100_001), ["training.epochs", "got 100001", "100000"]),
    ("batch-size-zero", set_at("training.batch_size", 0), ["training.batch_size", "got 0"]),
    ("lr-zero", set_at("training.lr", 0), ["training.lr", "got 0"]),
    ("lr-negative", set_at("training.lr", -0.1), ["training.lr", "got -0.1"]),
    ("lr-a-word", set_at("training.lr", "fast"), ["training.lr", "got 'fast'"]),
    ("lr-above-limit", set_at("training.lr", 11), ["training.lr", "got 11", "10"]),
    ("weight-decay-negative", set_at("training.weight_decay", -1), ["training.weight_decay", "got -1"]),
    ("momentum-one", set_at("training.momentum", 1.0), ["training.momentum", "got 1.0"]),
    ("eval-batch-size-zero", set_at("training.eval_batch_size", 0), ["training.eval_batch_size", "got 0"]),
    ("unknown-optimizer", set_at("training.optimizer", "adagrad"), ["training.optimizer", "got 'adagrad'", "'sgd'"]),
    ("unknown-precision", set_at("training.precision", "fp8"), ["training.precision", "got 'fp8'", "'fp16'"]),
    ("unknown-device", set_at("training.device", "tpu"), ["training.device", "got 'tpu'", "'cpu'"]),
    ("unknown-schedule", set_at("training.schedule", "linear"), ["training.schedule.type", "got 'linear'", "'cosine'"]),
    (
        "step-schedule-without-milestones",
        set_at("training.schedule", {"type": "step"}),
        ["training.schedule", "milestones"],
    ),
    (
        "milestone-after-last-epoch",
        set_at("training.schedule", {"type": "step", "milestones": [5]}),
        ["training", "milestone 5", "training.epochs"],
    ),
    (
        "warmup-as-long-as-training",
        set_at("training.schedule", {"type": "cosine", "warmup_epochs": 2}),
        ["training", "warmup_epochs 2"],
    ),
    ("tracking-mlflow-not-bool", set_at("tracking", {"mlflow": "maybe"}), ["tracking.mlflow", "got 'maybe'"]),
    # strategies
    (
        "unknown-strategy",
        set_at("arms.0.strategy", "smote"),
        ["arms[0].strategy[0]", "'smote'", "class_weight", "oversample"],
    ),
    (
        "unknown-strategy-parameter",
        set_at("arms.2.strategy", {"class_weight": {"weigths": "inverse"}}),
        ["arms[2].strategy[0].class_weight.weigths", "unknown parameter", "weights"],
    ),
    (
        "strategy-parameter-above-range",
        set_at("arms.3.strategy", [{"oversample": {"ratio": 1.5}}]),
        ["arms[3].strategy[0].oversample.ratio", "got 1.5"],
    ),
    (
        "strategy-parameter-a-word",
        set_at("arms.2.strategy", {"focal": {"gamma": "big"}}),
        ["arms[2].strategy[0].focal.gamma", "got 'big'"],
    ),
    (
        "strategy-parameter-unknown-word",
        set_at("arms.2.strategy", {"class_weight": {"weights": "inverted"}}),
        ["arms[2].strategy[0].class_weight.weights", "got 'inverted'", "'inverse'", "'sqrt_inverse'"],
    ),
    (
        "class-weight-for-unknown-class",
        set_at("arms.2.strategy", {"class_weight": {"weights": {"a": 1, "z": 2}}}),
        ["arms[2].strategy[0].class_weight", "unknown class 'z'", "a, b"],
    ),
    (
        "drw-start-past-the-end",
        set_at("arms.2.strategy", {"drw": {"start": 1.5}}),
        ["arms[2].strategy[0].drw.start", "got 1.5"],
    ),
    ("crt-zero-epochs", set_at("arms.2.strategy", {"crt": {"epochs": 0}}), ["arms[2].strategy[0].crt.epochs", "got 0"]),
    (
        "undersample-unknown-draw",
        set_at("arms.2.strategy", {"undersample": {"draw": "sometimes"}}),
        ["arms[2].strategy[0].undersample.draw", "got 'sometimes'", "'each_epoch'", "'once'"],
    ),
    (
        "augment-unknown-class",
        set_at("arms.2.strategy", {"augment": {"classes": ["zzz"]}}),
        ["arms[2].strategy[0].augment", "['zzz']", "a, b"],
    ),
    (
        "strategy-parameters-not-a-mapping",
        set_at("arms.2.strategy", {"class_weight": 5}),
        ["arms[2].strategy[0].params", "got 5"],
    ),
    ("empty-strategy-list", set_at("arms.0.strategy", []), ["arms[0].strategy", "got []", "at least one strategy"]),
    ("strategy-a-number", set_at("arms.0.strategy", 5), ["arms[0].strategy", "got 5", "strategy name"]),
    # model
    ("unknown-model", set_at("model", {"name": "resnet9000"}), ["model", "'resnet9000'", "simple_cnn"]),
    ("unknown-model-parameter", set_at("model.depth", 3), ["model.depth", "unknown parameter", "width"]),
    ("model-width-zero", set_at("model.width", 0), ["model.width", "got 0"]),
    ("model-dropout-above-one", set_at("model.dropout", 1.5), ["model.dropout", "got 1.5"]),
    # data source and classes
    (
        "unknown-source",
        set_at("data.source", "imagenet_tiny"),
        ["data.source", "'imagenet_tiny'", "animal_mnist", "synthetic"],
    ),
    ("unknown-source-parameter", set_at("data.source.sise", 8), ["data.source.sise", "unknown parameter", "size"]),
    ("source-parameter-negative", set_at("data.source.n_per_class", -5), ["data.source.n_per_class", "got -5"]),
    ("source-mapping-without-type", set_at("data.source", {"n_per_class": 5}), ["data.source", "'type: <name>'"]),
    ("image-folder-without-root", set_at("data.source", {"type": "image_folder"}), ["data.source.root: required"]),
    (
        "image-folder-root-missing",
        set_at("data.source", {"type": "image_folder", "root": "/nonexistent/imgs"}),
        ["/nonexistent/imgs", "does not exist", "root"],
    ),
    ("one-class", set_at("data.classes", {"a": 0}), ["data.classes", "two classes"]),
    (
        "class-named-like-a-plan",
        set_at("data.classes", {"a": 0, "fraction": 1}),
        ["data.classes", "'fraction'", "reserved"],
    ),
    ("class-label-not-in-source", set_at("data.classes.b", 7), ["data.classes.b", "got 7", "0 a, 1 b"]),
    ("class-name-not-in-source", set_at("data.classes.a", "zebra"), ["data.classes.a", "got 'zebra'", "a, b"]),
    ("positive-not-a-class", set_at("data.positive", "c"), ["data.positive", "got 'c'", "(a, b)"]),
    ("positive-missing-with-two-classes", drop("data.positive"), ["data.positive", "a, b"]),
    ("data-seed-negative", set_at("data.seed", -1), ["data.seed", "got -1"]),
    ("world-weight-negative", set_at("data.world", {"a": -1, "b": 1}), ["data.world.a", "got -1"]),
    ("world-unknown-class", set_at("data.world", {"a": 1, "zz": 1}), ["data.world.zz", "unknown class 'zz'", "a, b"]),
    (
        "partitions-on-a-source-without",
        set_at("data.partitions", {"pool": "train"}),
        ["data.partitions", "'synthetic'"],
    ),
    # splits and counts
    ("counts-above-the-source", set_at("data.splits.pool.a", 500), ["class 'a'", "needs 550 images", "has 120"]),
    ("split-count-negative", set_at("data.splits.val.a", -1), ["data.splits.val.a", "got -1"]),
    (
        "split-unknown-class",
        set_at("data.splits.val", {"a": 20, "c": 10}),
        ["data.splits.val.c", "unknown class 'c'", "a, b"],
    ),
    ("missing-test-split", drop("data.splits.test"), ["data.splits", "missing split 'test'", "pool, val, test"]),
    ("arm-count-above-the-pool", set_at("arms.0.train.a", 61), ["arms[0].train.a", "got 61", "60 images of the pool"]),
    (
        "arm-class-not-in-classes",
        set_at("arms.0.train", {"a": 60, "c": 60}),
        ["arms[0].train.c", "unknown class 'c'", "a, b"],
    ),
    ("arm-plan-a-number", set_at("arms.0.train", 60), ["arms[0].train", "got 60", "{cat: 400, dog: 40}"]),
    ("arm-fraction-above-one", set_at("arms.0.train", {"fraction": 1.5}), ["arms[0].train.fraction", "got 1.5"]),
    (
        "arm-unknown-profile",
        set_at("arms.0.train", {"profile": "linear", "n_max": 60, "ratio": 10}),
        ["arms[0].train.profile", "got 'linear'", "'exponential'", "'step'"],
    ),
    ("arm-ratio-below-one", set_at("arms.0.train", {"majority": 60, "ratio": 0.5}), ["arms[0].train.ratio", "got 0.5"]),
    # arms and their names
    ("duplicate-arm-names", set_at("arms.1.name", "balanced"), ["arms[1].name", "'balanced'", "used twice"]),
    ("arm-name-dot-dot-slash", set_at("arms.0.name", "../x"), ["arms[0].name", "got '../x'", "names a directory"]),
    ("arm-name-with-slash", set_at("arms.0.name", "a/b"), ["arms[0].name", "got 'a/b'", "names a directory"]),
    ("arm-name-hidden", set_at("arms.0.name", ".hidden"), ["arms[0].name", "got '.hidden'"]),
    ("arm-name-empty", set_at("arms.0.name", ""), ["arms[0].name", "got ''"]),
    ("arm-name-too-long", set_at("arms.0.name", "x" * 81), ["arms[0].name", "80 characters"]),
    ("experiment-name-with-slash", set_at("name", "a/b"), ["name", "got 'a/b'", "names a directory"]),
    ("experiment-name-dot-dot", set_at("name", ".."), ["name", "got '..'"]),
    ("empty-arms-list", set_at("arms", []), ["arms", "got []"]),
    (
        "grid-factor-unused",
        set_at("arms", [{"name": "g", "grid": {"r": [1, 2]}, "train": {"a": 60, "b": 6}}]),
        ["arms[0].grid.r", "not used", "$r"],
    ),
    (
        "grid-unknown-placeholder",
        set_at("arms", [{"name": "g", "grid": {"r": [1, 2]}, "train": {"majority": 60, "ratio": "$q"}}]),
        ["arms[0]", "$q", "not a factor", "r"],
    ),
    (
        "grid-arm-name-collides",
        set_at(
            "arms",
            [
                {"name": "g", "grid": {"r": [1, 2]}, "train": {"majority": 60, "ratio": "$r"}},
                {"name": "g-r1", "train": {"a": 6, "b": 6}},
            ],
        ),
        ["arms[2].name", "'g-r1'", "used twice"],
    ),
    # seeds
    ("seeds-zero", set_at("seeds", 0), ["seeds", "got 0", "at least 1"]),
    ("seeds-negative", set_at("seeds", -2), ["seeds", "got -2", "at least 1"]),
    ("seed-list-negative", set_at("seeds", [0, -1]), ["seeds[1]", "got -1"]),
    ("seed-list-empty", set_at("seeds", []), ["seeds", "got []", "at least one seed"]),
    ("seed-list-repeats", set_at("seeds", [1, 1]), ["seeds", "got [1, 1]", "repeats"]),
    ("seeds-true", set_at("seeds", True), ["seeds", "got True"]),
    ("seeds-a-word", set_at("seeds", "three"), ["seeds", "got 'three'"]),
    ("seeds-fractional", set_at("seeds", 2.5), ["seeds", "got 2.5"]),
]

# The same mistakes must stop `run` (and `data`) before anything is written: one of each kind.
RUN_SUBSET = {
    "unknown-top-level-key",
    "typo-training-key",
    "missing-arms",
    "epochs-zero",
    "batch-size-zero",
    "lr-negative",
    "unknown-strategy",
    "unknown-strategy-parameter",
    "strategy-parameter-above-range",
    "unknown-model",
    "unknown-source",
    "image-folder-root-missing",
    "counts-above-the-source",
    "arm-count-above-the-pool",
    "arm-class-not-in-classes",
    "positive-not-a-class",
    "duplicate-arm-names",
    "arm-name-dot-dot-slash",
    "arm-name-with-slash",
    "empty-arms-list",
    "seeds-zero",
    "seeds-negative",
    "grid-arm-name-collides",
}
assert RUN_SUBSET <= {case[0] for case in SPEC_MISTAKES}


@pytest.mark.parametrize("change,fragments", [pytest.param(c, f, id=i) for i, c, f in SPEC_MISTAKES])
def test_spec_mistake_on_validate(tmp_path, change, fragments):
    spec_path = write_spec(tmp_path / "spec.yaml", changed(change))
    proc = cli("validate", spec_path, cwd=tmp_path)
    assert_one_line_error(proc, *fragments)
    assert files_under(tmp_path) == {spec_path}


@pytest.mark.parametrize("command", ["run", "data"])
@pytest.mark.parametrize("change,fragments", [pytest.param(c, f, id=i) for i, c, f in SPEC_MISTAKES if i in RUN_SUBSET])
def test_spec_mistake_on_run_and_data_writes_nothing(tmp_path, command, change, fragments):
    spec_path = write_spec(tmp_path / "spec.yaml", changed(change))
    out = tmp_path / "out"
    args = (
        ("run", spec_path, "--out", out, "--no-mlflow")
        if command == "run"
        else ("data", spec_path, "--png", out / "samples.png")
    )
    proc = cli(*args, cwd=tmp_path)  # cwd: a default results/<name> would land in tmp_path and be seen
    assert_one_line_error(proc, *fragments)
    assert not out.exists()
    assert files_under(tmp_path) == {spec_path}


# --------------------------------------------------------------------------- spec files that are not specs
TINY_TEXT = build_spec(copy.deepcopy(TINY_SPEC)).to_yaml()

A_DIRECTORY, NOTHING = "<a directory>", "<nothing>"

# (id, what to put at tmp_path/"spec.yaml": text, bytes, A_DIRECTORY or NOTHING, fragments; {spec} is its path)
SPEC_FILES = [
    (
        "yaml-bad-indentation",
        "name: tiny\ndata:\n  source: synthetic\n   classes: {a: 0, b: 1}\n",
        ["{spec}", "not valid YAML", "line 4", "mapping values are not allowed"],
    ),
    (
        "yaml-tab-indentation",
        "name: tiny\ndata:\n\tsource: synthetic\n",
        ["{spec}", "not valid YAML", "line 3", "'\\t'"],
    ),
    ("yaml-unclosed-bracket", "name: tiny\nseeds: [0, 1\narms: []\n", ["{spec}", "not valid YAML", "line 3", "']'"]),
    ("yaml-unclosed-quote", "name: 'tiny\n", ["{spec}", "not valid YAML", "line 2"]),
    ("yaml-undefined-alias", "name: *nope\n", ["{spec}", "not valid YAML", "line 1", "'nope'"]),
    ("yaml-python-tag", "name: !!python/object:os.system x\n", ["{spec}", "not valid YAML", "line 1", "python/object"]),
    ("empty-file", "", ["'{spec}'", "is empty"]),
    ("only-a-comment", "# name: tiny\n", ["'{spec}'", "is empty"]),
    ("yaml-list", "- name: tiny\n- arms: []\n", ["a spec is a mapping of keys", "got list"]),
    ("yaml-string", "examples/cats_vs_dogs.yaml\n", ["a spec is a mapping of keys", "got str"]),
    ("yaml-number", "42\n", ["a spec is a mapping of keys", "got int"]),
    ("not-utf8", b"\xff\xfe\x00name: \x80\x81", ["cannot read spec file", "'{spec}'", "utf-8"]),
    ("does-not-exist", NOTHING, ["spec file '{spec}' does not exist"]),
    ("a-directory", A_DIRECTORY, ["cannot read spec file", "'{spec}'", "Is a directory"]),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("content,fragments", [pytest.param(c, f, id=i) for i, c, f in SPEC_FILES])
def test_spec_file_that_is_not_a_spec(tmp_path, command, content, fragments):
    spec_path = tmp_path / "spec.yaml"
    if content == A_DIRECTORY:
        spec_path.mkdir()
    elif isinstance(content, bytes):
        spec_path.write_bytes(content)
    elif content != NOTHING:
        spec_path.write_text(content)
    before = files_under(tmp_path)
    out = tmp_path / "out"
    args = ("validate", spec_path) if command == "validate" else ("run", spec_path, "--out", out, "--no-mlflow")
    proc = cli(*args, cwd=tmp_path)
    assert_one_line_error(proc, *(f.format(spec=spec_path) for f in fragments))
    assert not out.exists()
    assert files_under(tmp_path) == before


# --------------------------------------------------------------------------- results directories
def _results_dir_with(spec_text: str | None = None, spec_dir: bool = False) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        directory = root / "results"
        directory.mkdir()
        if spec_dir:
            (directory / "spec.yaml").mkdir()
        elif spec_text is not None:
            (directory / "spec.yaml").write_text(spec_text)
        return directory

    return make


def _missing(root: Path) -> Path:
    return root / "no-such-results"


def _regular_file(root: Path) -> Path:
    path = root / "results.txt"
    path.write_text("not a directory\n")
    return path


# (id, makes the DIR given to summary/report under tmp_path, fragments; {dir} is DIR)
RESULTS_DIRS = [
    ("does-not-exist", _missing, ["{dir}", "is not a results directory (no spec.yaml file)"]),
    ("empty-directory", _results_dir_with(), ["{dir}", "is not a results directory (no spec.yaml file)"]),
    ("a-regular-file", _regular_file, ["{dir}", "is not a results directory"]),
    ("spec-yaml-is-a-directory", _results_dir_with(spec_dir=True), ["{dir}", "is not a results directory"]),
    (
        "garbage-spec-yaml",
        _results_dir_with("name: [unclosed\n"),
        ["{dir}/spec.yaml is damaged", "not valid YAML at line 2"],
    ),
    ("spec-yaml-is-a-list", _results_dir_with("- a\n- b\n"), ["a spec is a mapping of keys", "got list"]),
    ("spec-yaml-with-unknown-key", _results_dir_with(TINY_TEXT + "colour: blue\n"), ["colour: unknown key"]),
    (
        "spec-yaml-with-bad-value",
        _results_dir_with(TINY_TEXT.replace("epochs: 2", "epochs: 0")),
        ["training.epochs", "got 0"],
    ),
]


@pytest.mark.parametrize("command", ["summary", "report"])
@pytest.mark.parametrize("make,fragments", [pytest.param(m, f, id=i) for i, m, f in RESULTS_DIRS])
def test_directory_that_is_not_a_usable_results_directory(tmp_path, command, make, fragments):
    directory = make(tmp_path)
    before = files_under(tmp_path)
    proc = cli(command, directory, cwd=tmp_path)
    assert_one_line_error(proc, *(f.format(dir=directory) for f in fragments))
    assert files_under(tmp_path) == before


# --------------------------------------------------------------------------- the command line itself
# (id, arguments; {tmp} is tmp_path, fragments)
COMMAND_LINES = [
    ("list-unknown-kind", ["list", "nope"], ["list", "got 'nope'", "strategies, models, sources"]),
    ("list-singular-kind", ["list", "strategy"], ["list", "got 'strategy'", "strategies"]),
    ("compare-one-directory", ["compare", "{tmp}/a", "--out", "{tmp}/cmp"], ["compare", "at least two"]),
    (
        "compare-missing-directories",
        ["compare", "{tmp}/a", "{tmp}/b", "--out", "{tmp}/cmp"],
        ["{tmp}/a", "is not a results directory"],
    ),
]


@pytest.mark.parametrize("args,fragments", [pytest.param(a, f, id=i) for i, a, f in COMMAND_LINES])
def test_command_line_mistake(tmp_path, args, fragments):
    proc = cli(*(a.format(tmp=tmp_path) for a in args), cwd=tmp_path)
    assert_one_line_error(proc, *(f.format(tmp=tmp_path) for f in fragments))
    assert files_under(tmp_path) == set()
