"""Spec validation: every mistake is one line naming the field, the bad value and what is valid."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from imbalance_lab.api import validate
from imbalance_lab.errors import SpecError
from imbalance_lab.prepared import prepare_data
from imbalance_lab.spec import build_spec, load_spec
from imbalance_lab.train import learning_rate


def mutate(spec: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    change(spec)
    return spec


def arm(i: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda s: s["arms"][i].update(fields)


# (case id, change to the tiny spec, substrings the one-line message must contain)
BAD_SPECS = [
    ("unknown top key", lambda s: s.update(epochs=3), ["epochs", "unknown key", "valid keys here", "training"]),
    ("unknown nested key", lambda s: s["training"].update(lr_rate=0.1), ["training.lr_rate", "unknown key", "lr"]),
    ("unknown arm key", arm(0, strategies="none"), ["arms[0].strategies", "unknown key", "strategy"]),
    ("wrong type", lambda s: s["training"].update(epochs="ten"), ["training.epochs", "'ten'", "a whole number"]),
    ("epochs zero", lambda s: s["training"].update(epochs=0), ["training.epochs", "0", "greater than or equal to 1"]),
    ("bad optimizer", lambda s: s["training"].update(optimizer="rmsprop"), ["training.optimizer", "'rmsprop'", "adam"]),
    ("unknown strategy", arm(1, strategy="smote"), ["arms[1].strategy[0]", "'smote'", "class_weight", "oversample"]),
    (
        "unknown strategy param",
        arm(1, strategy={"oversample": {"ratoi": 1}}),
        ["arms[1].strategy[0].oversample.ratoi", "unknown parameter", "ratio"],
    ),
    (
        "bad strategy param",
        arm(1, strategy={"oversample": {"ratio": 1.5}}),
        ["arms[1].strategy[0].oversample.ratio", "1.5", "less than or equal to 1"],
    ),
    (
        "weight for unknown class",
        arm(2, strategy={"class_weight": {"weights": {"a": 1, "dog": 10}}}),
        ["arms[2].strategy[0].class_weight", "'dog'", "a, b"],
    ),
    (
        "weight missing a class",
        arm(2, strategy={"class_weight": {"weights": {"a": 1}}}),
        ["arms[2].strategy[0].class_weight", "'b'"],
    ),
    (
        "negative weight",
        arm(2, strategy={"class_weight": {"weights": {"a": 1, "b": -2}}}),
        ["arms[2].strategy[0].class_weight.weights.b", "-2", "greater than 0"],
    ),
    (
        "undersample draw",
        arm(1, strategy={"undersample": {"draw": "sometimes"}}),
        ["undersample.draw", "'sometimes'", "each_epoch", "once"],
    ),
    ("unknown model", lambda s: s.update(model={"name": "resnet9000"}), ["model", "'resnet9000'", "simple_cnn"]),
    ("unknown model param", lambda s: s["model"].update(depth=3), ["model.depth", "unknown parameter", "width"]),
    (
        "unknown source",
        lambda s: s["data"].update(source="imagenet"),
        ["data.source", "'imagenet'", "animal_mnist", "synthetic"],
    ),
    (
        "bad source param",
        lambda s: s["data"]["source"].update(size=2),
        ["data.source.size", "2", "greater than or equal to 4"],
    ),
    ("arm count above pool", arm(0, train={"a": 61, "b": 60}), ["arms[0].train.a", "61", "60", "pool"]),
    ("arm unknown class", arm(0, train={"a": 6, "b": 6, "c": 1}), ["arms[0].train.c", "unknown class", "a, b"]),
    ("arm missing class", arm(0, train={"a": 6}), ["arms[0].train", "'b'"]),
    (
        "negative count",
        lambda s: s["data"]["splits"]["val"].update(a=-1),
        ["data.splits.val.a", "-1", "greater than or equal to 0"],
    ),
    ("float count", lambda s: s["data"]["splits"]["val"].update(a=2.5), ["data.splits.val.a", "2.5", "a whole number"]),
    ("missing split", lambda s: s["data"]["splits"].pop("test"), ["data.splits", "'test'", "pool, val, test"]),
    ("split unknown class", lambda s: s["data"]["splits"]["test"].update(z=3), ["data.splits.test.z", "unknown class"]),
    ("positive not a class", lambda s: s["data"].update(positive="dog"), ["data.positive", "'dog'", "a, b"]),
    ("positive missing", lambda s: s["data"].pop("positive"), ["data.positive", "positive", "a, b"]),
    ("one class", lambda s: s["data"].update(classes={"a": 0}), ["data.classes", "two classes"]),
    ("empty seed list", lambda s: s.update(seeds=[]), ["seeds", "[]", "empty"]),
    ("zero seeds", lambda s: s.update(seeds=0), ["seeds", "0", "at least 1"]),
    ("repeated seed", lambda s: s.update(seeds=[1, 1]), ["seeds", "repeats"]),
    ("no arms", lambda s: s.update(arms=[]), ["arms", "at least 1"]),
    ("duplicate arm", lambda s: s["arms"].append(copy.deepcopy(s["arms"][0])), ["arms[4].name", "'balanced'", "twice"]),
    ("bad arm name", arm(0, name="a b/c"), ["arms[0].name", "'a b/c'", "ASCII letters (a-z, A-Z), digits"]),
    ("missing name", lambda s: s.pop("name"), ["name", "required"]),
    ("empty train set", arm(0, train={"a": 0, "b": 0}), ["arms[0].train", "empty"]),
    (
        "step schedule without milestones",
        lambda s: s["training"].update(schedule="step"),
        ["training.schedule", "milestones", "gamma"],
    ),
    (
        "milestone past the end",
        lambda s: s["training"].update(schedule={"type": "step", "milestones": [1, 5]}),
        ["training", "milestone 5", "training.epochs"],
    ),
    (
        "milestones on cosine",
        lambda s: s["training"].update(schedule={"type": "cosine", "milestones": [1]}),
        ["training.schedule", "step"],
    ),
    (
        "unknown schedule",
        lambda s: s["training"].update(schedule="exponential"),
        ["training.schedule.type", "'exponential'", "cosine"],
    ),
    (
        "two losses",
        arm(1, strategy=["focal", "logit_adjusted"]),
        ["arms[1].strategy[1]", "focal and logit_adjusted both define the loss"],
    ),
    (
        "grid factor unused",
        lambda s: s["arms"].append({"name": "g", "grid": {"r": [1, 2]}, "train": {"a": 6, "b": 6}}),
        ["arms[4].grid.r", "not used", "$r"],
    ),
    (
        "grid unknown placeholder",
        lambda s: s["arms"].append({"name": "g", "grid": {"r": [1, 2]}, "train": {"a": "$r", "b": "$q"}}),
        ["arms[4]", "$q", "not a factor", "r"],
    ),
    (
        "grid mapping in a list",
        lambda s: s["arms"].append(
            {"name": "g", "grid": {"s": [{"focal": {}}]}, "train": {"a": 6, "b": 6}, "strategy": "$s"}
        ),
        ["arms[4].grid.s", "mapping of label to value"],
    ),
    (
        "grid unknown key",
        lambda s: s["arms"].append({"name": "g", "grid": {"r": [1]}, "train": {"a": "$r", "b": 1}, "seed": 1}),
        ["arms[4].seed", "name, grid, train, strategy"],
    ),
    (
        "grid value twice",
        lambda s: s["arms"].append({"name": "g", "grid": {"r": [1, 1]}, "train": {"a": "$r", "b": 1}}),
        ["arms[4].grid.r", "twice"],
    ),
]


@pytest.mark.parametrize("change,expected", [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_is_one_line_naming_field_and_value(tiny_spec, change, expected):
    with pytest.raises(SpecError) as info:
        validate(mutate(tiny_spec, change))  # the spec, then its classes and counts against the source
    message = str(info.value)
    assert "\n" not in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_valid_tiny_spec_normalises(tiny_spec):
    spec = build_spec(tiny_spec)
    assert spec.seeds == (0, 1)
    assert [s.name for s in spec.arm("both").strategy] == ["class_weight", "oversample"]
    assert spec.arm("balanced").strategy[0].name == "none"
    assert spec.data.eval_sets == ("val", "test")
    assert build_spec({**tiny_spec, "seeds": 3}).seeds == (0, 1, 2)


def test_canonical_form_round_trips_and_hash_ignores_output(tiny_spec):
    spec = build_spec(tiny_spec)
    again = build_spec(spec.canonical())
    assert again == spec
    assert build_spec({**tiny_spec, "output": "elsewhere"}).spec_hash() == spec.spec_hash()
    assert build_spec({**tiny_spec, "training": {"epochs": 3}}).spec_hash() != spec.spec_hash()


def test_run_hash_ignores_other_arms_and_seeds(tiny_spec):
    spec = build_spec(tiny_spec)
    more = build_spec(
        {**tiny_spec, "seeds": [0, 1, 2], "arms": tiny_spec["arms"] + [{"name": "new", "train": {"a": 1, "b": 1}}]}
    )
    assert spec.run_hash(spec.arm("weighted"), 1) == more.run_hash(more.arm("weighted"), 1)
    assert spec.run_hash(spec.arm("weighted"), 1) != spec.run_hash(spec.arm("weighted"), 0)
    changed = build_spec(mutate(tiny_spec, arm(2, train={"a": 60, "b": 7})))
    assert changed.run_hash(changed.arm("weighted"), 1) != spec.run_hash(spec.arm("weighted"), 1)


def test_counts_above_what_the_source_has(tiny_spec):
    spec = build_spec(mutate(tiny_spec, lambda s: s["data"]["splits"]["test"].update(b=51)))
    with pytest.raises(SpecError) as info:
        prepare_data(spec)
    message = str(info.value)
    assert "'b'" in message and "121" in message and "120" in message and "1 missing" in message


def test_yaml_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\narms: [\n")
    with pytest.raises(SpecError, match=r"not valid YAML at line \d+"):
        load_spec(bad)
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="mapping"):
        load_spec(listed)


def test_example_specs_are_valid():
    paths = sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))
    assert [p.name for p in paths] == [
        "animal_mnist_long_tail.yaml",
        "animal_mnist_pretrain.yaml",
        "cats_vs_dogs.yaml",
        "cats_vs_dogs_transfer.yaml",
        "cats_vs_dogs_validation.yaml",
        "cifar10_cats_vs_dogs.yaml",
        "cifar10_lt.yaml",
        "image_folder_cats_dogs.yaml",
        "image_folder_transfer.yaml",
        "long_tail_grid.yaml",
        "tiny_synthetic.yaml",
    ]
    for path in paths:
        if path.name != "cats_vs_dogs_transfer.yaml":
            load_spec(path)


def test_the_transfer_example_reads_the_pretraining_example_s_weights(tmp_path, monkeypatch):
    import torch

    from imbalance_lab.models import MODELS

    examples = Path(__file__).parents[1] / "examples"
    pretrain = load_spec(examples / "animal_mnist_pretrain.yaml")
    assert pretrain.execution.save_weights and len(pretrain.data.classes) == 8
    transfer = yaml.safe_load((examples / "cats_vs_dogs_transfer.yaml").read_text())
    expected = Path(pretrain.output) / "runs" / pretrain.arms[0].name / "seed-0" / "model.pt"
    assert Path(transfer["model"]["pretrained"]) == expected and transfer["model"]["freeze"] == "backbone"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="no weights file at"):  # before step 1 has run
        load_spec(examples / "cats_vs_dogs_transfer.yaml")
    expected.parent.mkdir(parents=True)
    torch.save(MODELS.create("simple_cnn", 1, (28, 28), 8).state_dict(), expected)
    spec = load_spec(examples / "cats_vs_dogs_transfer.yaml")
    assert spec.model.freeze == "backbone" and spec.data.positive == "dog"


def test_tracking_settings_change_no_hash(tiny_spec):
    spec = build_spec(tiny_spec)
    tracked = build_spec({**tiny_spec, "tracking": {"mlflow_uri": "http://127.0.0.1:5000"}})
    assert tracked.tracking.mlflow_uri == "http://127.0.0.1:5000" and spec.tracking.mlflow is True
    assert tracked.spec_hash() == spec.spec_hash()
    assert tracked.run_hash(tracked.arm("both"), 0) == spec.run_hash(spec.arm("both"), 0)
    with pytest.raises(SpecError, match="tracking.uri"):
        build_spec({**tiny_spec, "tracking": {"uri": "x"}})


def test_settings_added_later_keep_old_hashes(tiny_spec):
    # hashes of version 0.1 (before schedules and grids): results directories written then still resume
    spec = build_spec(tiny_spec)
    assert spec.spec_hash() == "8f799c553ba990cb"
    assert spec.run_hash(spec.arm("both"), 1) == "a369bd9024bffda2"
    demo = load_spec(Path(__file__).parents[1] / "examples" / "cats_vs_dogs.yaml")
    assert demo.run_hash(demo.arm("oversample"), 0) == "bf5124f499328f1b"
    scheduled = build_spec({**tiny_spec, "training": {**tiny_spec["training"], "schedule": "cosine"}})
    assert scheduled.spec_hash() != spec.spec_hash()
    assert scheduled.run_hash(scheduled.arm("both"), 1) != spec.run_hash(spec.arm("both"), 1)
    assert build_spec(scheduled.canonical()) == scheduled


@pytest.mark.parametrize(
    ("schedule", "epochs", "expected"),
    [
        ("constant", 4, [0.1, 0.1, 0.1, 0.1]),
        ({"type": "step", "milestones": [2, 3], "gamma": 0.01}, 4, [0.1, 0.1, 1e-3, 1e-5]),
        ({"type": "step", "milestones": [3], "warmup_epochs": 2}, 4, [0.05, 0.1, 0.1, 0.01]),
        ({"type": "cosine"}, 3, [0.1, 0.075, 0.025]),  # (1 + cos(π k / 3)) / 2 for k = 0, 1, 2
        ({"type": "cosine", "min_lr": 0.02}, 3, [0.1, 0.08, 0.04]),
    ],
)
def test_schedule_learning_rate_per_epoch(tiny_spec, schedule, epochs, expected):
    training = build_spec({**tiny_spec, "training": {"epochs": epochs, "lr": 0.1, "schedule": schedule}}).training
    got = [learning_rate(training.schedule, e, epochs, training.lr) for e in range(1, epochs + 1)]
    assert got == pytest.approx(expected, rel=1e-9)


def test_the_trainer_follows_the_schedule(tiny_spec):
    from imbalance_lab import run_one

    tiny_spec["training"].update(epochs=3, lr=0.1, schedule={"type": "step", "milestones": [1], "gamma": 0.5})
    result = run_one(build_spec(tiny_spec), "balanced", 0)
    assert [h["lr"] for h in result.history] == [0.1, 0.05, 0.05]


def test_grid_expands_into_named_arms_with_factors(tiny_spec):
    tiny_spec["arms"] = [
        {
            "name": "g",
            "grid": {
                "b": [6, 30],
                "strategy": {"ce": "none", "la": {"logit_adjusted": {"tau": "$tau"}}},
                "tau": [0.5, 1],
            },
            "train": {"a": 60, "b": "$b"},
            "strategy": "$strategy",
        }
    ]
    spec = build_spec(tiny_spec)
    names = [a.name for a in spec.arms]
    assert names == [
        "g-b6-ce-tau0.5",
        "g-b6-ce-tau1",
        "g-b6-la-tau0.5",
        "g-b6-la-tau1",
        "g-b30-ce-tau0.5",
        "g-b30-ce-tau1",
        "g-b30-la-tau0.5",
        "g-b30-la-tau1",
    ]
    arm = spec.arm("g-b30-la-tau0.5")
    assert arm.factors == {"b": 30, "strategy": "la", "tau": 0.5}
    assert arm.train.root == {"a": 60, "b": 30}
    assert [(s.name, s.params) for s in arm.strategy] == [("logit_adjusted", {"tau": 0.5})]
    assert spec.arm("g-b6-ce-tau1").strategy[0].name == "none"
    # the stored (expanded) spec reads back as the same spec
    assert build_spec(spec.canonical()) == spec


def test_model_defaults_depend_on_the_task(tiny_spec, monkeypatch):
    # a question about a positive class keeps seed 000's dropout (and its hashes); a multi-class
    # experiment without one trains without dropout, written into the spec so it is hashed and shown
    binary = build_spec(tiny_spec)
    assert "dropout" not in binary.model.params
    multi = copy.deepcopy(tiny_spec)
    multi["data"].pop("positive")
    multi["data"]["source"]["n_classes"] = 3
    multi["data"]["classes"] = "all"
    multi["data"]["splits"] = {"pool": {"balanced": 60}, "val": {"balanced": 10}, "test": {"balanced": 10}}
    multi["arms"] = [{"name": "lt", "train": {"profile": "exponential", "n_max": 60, "ratio": 10}}]
    spec = build_spec(multi)
    assert spec.model.params == {"width": 4, "hidden": 8, "dropout": 0.0, "head_dropout": 0.0, "init": "torch"}
    assert "dropout: 0.0" in spec.to_yaml()
    assert build_spec(spec.canonical()) == spec
    chosen = build_spec(mutate(multi, lambda s: s["model"].update(dropout=0.3)))
    assert chosen.model.params["dropout"] == 0.3 and chosen.model.params["head_dropout"] == 0.0
    import imbalance_lab.runner as experiment
    from imbalance_lab import run_one

    built, real_build = [], experiment.build_model

    def spy(model_spec, *args, **kwargs):
        built.append({k: model_spec.params.get(k) for k in ("dropout", "head_dropout", "init")})
        return real_build(model_spec, *args, **kwargs)

    monkeypatch.setattr(experiment, "build_model", spy)
    run_one(spec, "lt", 0)
    assert built == [{"dropout": 0.0, "head_dropout": 0.0, "init": "torch"}]  # the model the run trains
