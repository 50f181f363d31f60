"""CDT, label-aware smoothing and LWS against their papers' formulas, worked out by hand here."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import run_recording_states
from imbalance_lab.models import MODELS
from imbalance_lab.models.base import ScaledClassifier
from imbalance_lab.spec import build_spec
from imbalance_lab.strategies import STRATEGIES, EpochContext

NAMES_3 = ("a", "b", "c")
LOGITS = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0], [0.2, 0.2, 0.2]]


def ctx(counts: list[int]) -> EpochContext:
    return EpochContext(0, 10, torch.tensor(counts, dtype=torch.int64), None)


def prepared(name: str, counts: list[int], **params):
    strategy = STRATEGIES.create(name, NAMES_3, **params)
    strategy.prepare(ctx(counts))
    return strategy


def log_softmax(row: list[float]) -> list[float]:
    log_z = math.log(sum(math.exp(v) for v in row))
    return [v - log_z for v in row]


@pytest.mark.parametrize("gamma", [0.0, 0.2, 0.5])
def test_cdt_divides_each_logit_by_its_class_temperature(gamma):
    counts = [100, 10, 1]
    temps = [(100 / n) ** gamma for n in counts]  # a_c = (n_max / n_c)^γ (Ye et al. 2020)
    losses = prepared("cdt", counts, gamma=gamma).class_losses(
        torch.tensor(LOGITS, dtype=torch.float64), torch.zeros(3, 1), torch.eye(3), ctx(counts)
    )
    for i, row in enumerate(LOGITS):
        expected = [-v for v in log_softmax([z / a for z, a in zip(row, temps)])]
        torch.testing.assert_close(losses[i], torch.tensor(expected, dtype=torch.float64))


def test_cdt_is_vs_loss_without_its_additive_term():
    counts = [50, 20, 5]
    z = torch.tensor(LOGITS, dtype=torch.float64)
    cdt = prepared("cdt", counts, gamma=0.3).class_losses(z, torch.zeros(3, 1), torch.eye(3), ctx(counts))
    vs = prepared("vs_loss", counts, gamma=0.3, tau=0.0).class_losses(z, torch.zeros(3, 1), torch.eye(3), ctx(counts))
    torch.testing.assert_close(cdt, vs)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        # counts 100, 55, 10: t = 1, 0.5, 0; head 0.4, tail 0.1 (Zhong et al. 2021, eq. 5)
        ("concave", [0.4, 0.1 + 0.3 * math.sin(math.pi / 4), 0.1]),
        ("linear", [0.4, 0.25, 0.1]),
        ("convex", [0.4 + 0.3 * math.sin(2 * math.pi), 0.4 + 0.3 * math.sin(1.75 * math.pi), 0.1]),
        ("exp", [0.4, 0.1 + 0.3 * 0.25, 0.1]),
    ],
)
def test_label_aware_smoothing_factors_and_loss_by_hand(shape, expected):
    counts = [100, 55, 10]
    las = prepared("label_aware_smoothing", counts, head=0.4, tail=0.1, shape=shape)
    losses = las.class_losses(torch.tensor(LOGITS, dtype=torch.float64), torch.zeros(3, 1), torch.eye(3), ctx(counts))
    for i, row in enumerate(LOGITS):
        nll = [-v for v in log_softmax(row)]
        mean = sum(nll) / 3
        by_hand = [(1 - e) * nll[c] + e * mean for c, e in enumerate(expected)]  # were its label class c
        torch.testing.assert_close(losses[i], torch.tensor(by_hand, dtype=torch.float64))


def test_label_aware_smoothing_with_equal_counts_smooths_every_class_as_the_head():
    las = prepared("label_aware_smoothing", [7, 7, 7], head=0.2, tail=0.0)
    z = torch.tensor(LOGITS, dtype=torch.float64)
    losses = las.class_losses(z, torch.zeros(3, 1), torch.eye(3), ctx([7, 7, 7]))
    smoothed = torch.nn.functional.cross_entropy(z, torch.tensor([0, 1, 2]), label_smoothing=0.2, reduction="none")
    torch.testing.assert_close(losses.diagonal(), smoothed)  # PyTorch's own label smoothing at ε = 0.2


def test_scaled_classifier_starts_as_its_classifier_and_scales_each_class():
    torch.manual_seed(0)
    linear = torch.nn.Linear(4, 3)
    x = torch.randn(5, 4)
    before = linear(x).detach()
    scaled = ScaledClassifier(linear)
    torch.testing.assert_close(scaled(x), before)
    with torch.no_grad():
        scaled.scales.copy_(torch.tensor([2.0, 0.5, 1.0]))
    by_hand = (x @ linear.weight.T) * torch.tensor([2.0, 0.5, 1.0]) + linear.bias  # f_c (w_c · x) + b_c
    torch.testing.assert_close(scaled(x), by_hand.detach())
    assert [p for p in scaled.parameters() if p.requires_grad] == [scaled.scales]


def test_lws_declares_a_scaling_stage():
    (stage,) = STRATEGIES.create("lws", NAMES_3, epochs=3).stages()
    assert (stage.name, stage.epochs, stage.train, stage.reset_classifier) == ("lws", 3, "scales", "keep")
    assert [name for name, _ in stage.strategy] == ["class_balanced_sampling"]


def test_an_lws_run_learns_only_the_class_scales(tiny_spec, monkeypatch):
    tiny_spec["arms"] = [{"name": "lws", "train": {"a": 60, "b": 6}, "strategy": {"lws": {"epochs": 2}}}]
    tiny_spec["seeds"] = [0]
    result, states = run_recording_states(monkeypatch, build_spec(tiny_spec), "lws")
    epochs = tiny_spec["training"]["epochs"]
    assert [e.get("stage", "main") for e in result.history] == ["main"] * epochs + ["lws"] * 2
    last_main, last = states[epochs - 1], states[-1]
    assert all(torch.equal(last_main[k], last[k]) for k in last_main if k.startswith("backbone."))
    assert torch.equal(last_main["classifier.weight"], last["classifier.base.weight"])  # w_c fixed
    assert torch.equal(last_main["classifier.bias"], last["classifier.base.bias"])
    assert not torch.equal(last["classifier.scales"], torch.ones(2))  # f_c learned


def test_the_scaled_model_predicts_through_its_scales():
    model = MODELS.create("simple_cnn", 1, (8, 8), 3, width=4, hidden=8)
    x = torch.rand(4, 1, 8, 8)
    model.eval()
    before = model(x).detach()
    model.learn_class_scales()
    torch.testing.assert_close(model(x), before)
    assert model.head_parameters() == [model.classifier.scales] and model.n_outputs == 3
