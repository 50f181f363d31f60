"""``imbalance-lab validate`` from the declarations alone (issue 25): the same answer as loading the data and
building the model, without importing torch where the spec allows it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from imbalance_lab import api
from imbalance_lab.errors import SpecError, UserError
from imbalance_lab.prepared import source_labels
from test_spec import BAD_SPECS, mutate

ROOT = Path(__file__).resolve().parents[1]


def same_plan(declared: Any, loaded: Any) -> None:
    """Two data plans are equal: classes, counts of every set and arm, the source indices of every set, the
    labels they were planned from."""
    assert declared.resolved == loaded.resolved
    assert declared.plan.sets.keys() == loaded.plan.sets.keys()
    for name in declared.plan.sets:
        np.testing.assert_array_equal(declared.plan.sets[name], loaded.plan.sets[name])
    for mine, theirs in zip(declared.plan.pool_by_class, loaded.plan.pool_by_class, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert declared.source.class_names == loaded.source.class_names
    np.testing.assert_array_equal(declared.source.labels, loaded.source.labels)
    assert declared.source.labels.dtype == loaded.source.labels.dtype == np.int64
    assert (declared.source.channels, declared.source.image_size) == (
        loaded.source.channels,
        loaded.source.image_size,
    )


def long_tail(spec: dict[str, Any]) -> None:
    spec["data"] = {
        "source": {"type": "synthetic", "n_per_class": 60, "n_classes": 3, "size": 12, "channels": 3},
        "classes": "all",
        "splits": {"pool": {"balanced": 40}, "val": {"balanced": 5}, "test": {"balanced": 10}},
        "seed": 7,
    }
    spec["arms"] = [
        {"name": "lt", "train": {"profile": "exponential", "n_max": 40, "ratio": 10}},
        {"name": "ldam", "train": {"profile": "exponential", "n_max": 40, "ratio": 10}, "strategy": ["ldam", "drw"]},
        {"name": "crt", "train": {"profile": "step", "n_max": 40, "ratio": 5}, "strategy": "crt"},
    ]


def grouped(spec: dict[str, Any]) -> None:
    spec["data"].update(
        source={"type": "synthetic", "n_per_class": 50, "n_classes": 4, "size": 8},
        classes={"x": [0, 1], "y": [2, 3]},
        positive="y",
        splits={"pool": {"x": 60, "y": 60}, "val": {"x": 10, "y": 10}, "test": {"x": 20, "y": 10}},
    )
    spec["arms"] = [{"name": "a", "train": {"x": 60, "y": 6}, "strategy": "augment"}]


VARIANTS = {"tiny": lambda s: None, "three classes, a long tail": long_tail, "grouped classes": grouped}


@pytest.mark.parametrize("change", list(VARIANTS.values()), ids=list(VARIANTS))
def test_check_plans_as_loading_the_data_does(tiny_spec, change):
    spec = mutate(tiny_spec, change)
    checked_spec, declared = api.check(spec)
    loaded_spec, data = api.validate(spec)
    assert checked_spec == loaded_spec
    same_plan(declared, _as_plan(data))


def _as_plan(data: Any) -> Any:
    from imbalance_lab.splits import DataPlan

    return DataPlan(data.resolved, data.plan, source_labels(data.source))


MODEL_MISTAKES = {
    "images too small for simple_cnn": lambda s: s["data"]["source"].update(size=6),
    "a model parameter out of range": lambda s: s["model"].update(width=0),
}


@pytest.mark.parametrize(
    "change",
    [c[1] for c in BAD_SPECS] + list(MODEL_MISTAKES.values()),
    ids=[c[0] for c in BAD_SPECS] + list(MODEL_MISTAKES),
)
def test_check_refuses_what_loading_refuses_in_the_same_words(tiny_spec, change):
    spec = mutate(tiny_spec, change)
    with pytest.raises(UserError) as declared:
        api.check(spec)
    with pytest.raises(UserError) as loaded:
        api.validate(spec)
    assert type(declared.value) is type(loaded.value)
    assert str(declared.value) == str(loaded.value)


def test_images_the_model_cannot_take(tiny_spec):
    """The declaration refuses them in the words building the model would."""
    spec = mutate(tiny_spec, MODEL_MISTAKES["images too small for simple_cnn"])
    with pytest.raises(
        SpecError, match=r"^model: simple_cnn: simple_cnn needs images of at least 8×8 pixels, got 6×6$"
    ):
        api.check(spec)


def test_check_loads_what_cannot_be_declared(tiny_spec):
    """A weights file, a frozen backbone or a source that reads files: the data are loaded and the model
    built, and the answer is the same plan."""
    spec = mutate(tiny_spec, lambda s: s["model"].update(freeze=1))
    _, declared = api.check(spec)
    same_plan(declared, _as_plan(api.validate(spec)[1]))


VALIDATE_WITHOUT_TORCH = """
import sys
from typer.testing import CliRunner
from imbalance_lab.cli import app
result = CliRunner().invoke(app, ["validate", sys.argv[1]])
print(result.output, end="")
print("TORCH" if "torch" in sys.modules else "NO TORCH")
sys.exit(result.exit_code)
"""


def test_validate_on_the_tiny_example_does_not_import_torch():
    """The first command a new user tries answers from the declarations: no image decoded, no model built,
    torch never imported (the cost of importing it alone is more than half of validate's time before)."""
    done = subprocess.run(
        [sys.executable, "-c", VALIDATE_WITHOUT_TORCH, str(ROOT / "examples" / "tiny_synthetic.yaml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "NO TORCH", done.stdout
    assert "valid. 4 arms × 2 seeds = 8 runs of 3 epochs" in lines[0]
    assert "  arm unbalanced (none): a 80, b 8  (total 88, imbalance 10.0:1)" in lines


def test_validate_prints_the_same_with_or_without_torch(tmp_path):
    """The command's output from the declarations equals its output when the data are loaded and the model
    built (here because the spec freezes the model's first stage)."""
    spec = ROOT / "examples" / "tiny_synthetic.yaml"
    frozen = tmp_path / "tiny_synthetic.yaml"
    text = spec.read_text(encoding="utf-8").replace(
        "model: {name: simple_cnn, width: 4, hidden: 16}", "model: {name: simple_cnn, width: 4, hidden: 16, freeze: 1}"
    )
    assert text != spec.read_text(encoding="utf-8")
    frozen.write_text(text, encoding="utf-8")
    outputs = []
    for path in (spec, frozen):
        done = subprocess.run(
            [sys.executable, "-c", VALIDATE_WITHOUT_TORCH, str(path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.splitlines())
    assert outputs[0][-1] == "NO TORCH" and outputs[1][-1] == "TORCH"
    assert [line.replace(str(frozen), str(spec)) for line in outputs[1][:-1]] == outputs[0][:-1]
