"""run_one is a pure function of (spec, arm, seed): same seed, same numbers on CPU."""

from __future__ import annotations

import numpy as np
import torch

from imbalance_lab import run_one
from imbalance_lab.prepared import prepare_data
from imbalance_lab.spec import build_spec


def test_same_seed_gives_identical_results(tiny_spec):
    spec = build_spec(tiny_spec)
    first = run_one(spec, "both", 3)
    second = run_one(spec, "both", 3, data=prepare_data(spec))  # prepared once or per run: same result
    assert first.metrics == second.metrics
    assert first.history == second.history
    for name in ("val", "test"):
        np.testing.assert_array_equal(first.predictions[name][1], second.predictions[name][1])


def test_other_seed_gives_other_results(tiny_spec):
    spec = build_spec(tiny_spec)
    a, b = run_one(spec, "balanced", 0), run_one(spec, "balanced", 1)
    assert not np.array_equal(a.predictions["test"][1], b.predictions["test"][1])
    # ... but both are scored on the same images
    np.testing.assert_array_equal(a.predictions["test"][0], b.predictions["test"][0])


def test_global_rng_state_does_not_leak_into_a_run(tiny_spec):
    spec = build_spec(tiny_spec)
    torch.manual_seed(12345)
    np.random.seed(1)
    a = run_one(spec, "unbalanced", 0)
    torch.rand(100)
    b = run_one(spec, "unbalanced", 0)
    assert a.metrics == b.metrics


def test_every_arm_and_seed_scores_the_same_val_and_test_images(tiny_spec, monkeypatch):
    import imbalance_lab.runner as experiment
    import imbalance_lab.train as train

    spec = build_spec(tiny_spec)
    scored: list[torch.Tensor] = []  # the images of every prediction (each epoch's val, then test), in call order
    real_predict = experiment.predict_logits

    def spy(model, images, *args, **kwargs):
        scored.append(images.cpu().clone())
        return real_predict(model, images, *args, **kwargs)

    monkeypatch.setattr(experiment, "predict_logits", spy)
    monkeypatch.setattr(train, "predict_logits", spy)  # the last epoch's val predictions are the final ones
    data = prepare_data(spec)  # prepared apart from the runs, which each prepare their own
    val, test = data.plan.sets["val"], data.plan.sets["test"]
    assert len(val) == 30 and len(test) == 40 and np.intersect1d(val, test).size == 0
    indices = {"val": torch.from_numpy(val), "test": torch.from_numpy(test)}
    for arm in spec.arms[:2]:
        for seed in (0, 1):
            scored.clear()
            preds = run_one(spec, arm.name, seed).predictions
            epochs = spec.training.epochs
            assert len(scored) == epochs + 1, f"{arm.name} seed {seed}: {len(scored)} predictions"
            for name, images in zip(["val"] * epochs + ["test"], scored, strict=True):
                expected = data.source.images[indices[name]]
                assert torch.equal(images, expected), f"{arm.name} seed {seed} scored other {name} images"
                labels = data.to_experiment_label[data.source.labels[indices[name]]]
                np.testing.assert_array_equal(preds[name].labels, labels.numpy())


def test_training_learns_the_synthetic_task(tiny_spec):
    tiny_spec["training"]["epochs"] = 6
    spec = build_spec(tiny_spec)
    result = run_one(spec, "balanced", 0)
    assert result.history[-1]["train"]["loss"] < result.history[0]["train"]["loss"]
    assert result.metrics["test"]["balanced_accuracy"] > 0.8


def test_history_and_final_metrics_agree(tiny_spec):
    spec = build_spec(tiny_spec)
    result = run_one(spec, "weighted", 0)
    # the final val metrics are those of the last epoch's model
    last = result.history[-1]["val"]
    for key in ("accuracy", "tp", "fp", "recall"):
        assert last[key] == result.metrics["val"][key]
    assert result.train_counts == {"a": 60, "b": 6}
