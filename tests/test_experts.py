"""Multi-head models and the multi-expert remedies (BalPoE, RIDE) against their formulas, by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from imbalance_lab import run_one
from imbalance_lab.models import MODELS
from imbalance_lab.models.base import CosineClassifier, MultiHead
from imbalance_lab.spec import build_spec
from imbalance_lab.strategies import STRATEGIES, EpochContext, build_pipeline

NAMES_3 = ("a", "b", "c")
F64 = torch.float64
# two examples × two experts × three classes
HEADS = [[[1.0, 2.0, 0.5], [0.0, 1.0, -1.0]], [[-1.0, 0.0, 3.0], [0.5, 0.5, 2.0]]]


def ctx(counts: list[int], epoch: int = 1, epochs: int = 10) -> EpochContext:
    return EpochContext(epoch, epochs, torch.tensor(counts, dtype=torch.int64), None)


def log_softmax(row: list[float]) -> list[float]:
    log_z = math.log(sum(math.exp(v) for v in row))
    return [v - log_z for v in row]


def softmax(row: list[float]) -> list[float]:
    return [math.exp(v) for v in log_softmax(row)]


def test_multi_head_combines_by_mean_logits_or_mean_probabilities():
    torch.manual_seed(0)
    heads = [nn.Linear(4, 3).double() for _ in range(2)]
    x = torch.randn(5, 4, dtype=F64)
    z = [h(x).detach() for h in heads]
    torch.testing.assert_close(MultiHead(heads, "mean_logits")(x), (z[0] + z[1]) / 2)
    probs = (torch.softmax(z[0], 1) + torch.softmax(z[1], 1)) / 2
    combined = MultiHead(heads, "mean_probs")(x)
    torch.testing.assert_close(torch.softmax(combined, 1), probs.float())  # its softmax is the mean probability


def test_balpoe_keeps_the_classifier_as_its_first_expert_and_adds_fresh_ones():
    model = MODELS.create("simple_cnn", 1, (8, 8), 3, width=4, hidden=8)
    first = model.classifier
    STRATEGIES.create("balpoe", NAMES_3).adapt_model(model)
    assert isinstance(model.classifier, MultiHead) and model.n_heads == 3 and model.classifier.heads[0] is first
    assert model.n_outputs == 3 and len(model.head_parameters()) == 6


def test_balpoe_loss_is_the_mean_over_experts_of_logit_adjusted_cross_entropy():
    counts, lambdas = [60, 30, 10], [0.0, 2.0]
    log_pi = [math.log(n / 100) for n in counts]
    balpoe = STRATEGIES.create("balpoe", NAMES_3, lambdas=lambdas)
    balpoe.prepare(ctx(counts))
    losses = balpoe.head_losses(torch.tensor(HEADS, dtype=F64), torch.zeros(2, 1), torch.eye(3)[:2], ctx(counts))
    for i, experts in enumerate(HEADS):
        per_expert = [
            [-v for v in log_softmax([z + lam * lp for z, lp in zip(row, log_pi)])]
            for row, lam in zip(experts, lambdas)
        ]
        expected = [sum(e[c] for e in per_expert) / len(lambdas) for c in range(3)]
        torch.testing.assert_close(losses[i], torch.tensor(expected, dtype=F64))


def test_balpoe_with_one_expert_at_one_is_the_logit_adjusted_loss_bit_for_bit(tiny_spec):
    tiny_spec["seeds"] = [0]
    tiny_spec["arms"] = [
        {"name": "poe", "train": {"a": 60, "b": 6}, "strategy": {"balpoe": {"lambdas": [1.0]}}},
        {"name": "la", "train": {"a": 60, "b": 6}, "strategy": {"logit_adjusted": {"tau": 1.0}}},
    ]
    spec = build_spec(tiny_spec)
    poe, la = run_one(spec, "poe", 0), run_one(spec, "la", 0)
    assert poe.history == la.history
    for name, predictions in la.predictions.items():
        assert (poe.predictions[name].logits == predictions.logits).all()


def test_ride_loss_by_hand_before_and_after_its_switch():
    counts = [60, 30, 10]
    ride = STRATEGIES.create("ride", NAMES_3, experts=2, diversity=-0.2, temperature=2.0, alpha=0.5, start=0.5)
    ride.prepare(ctx(counts))
    raw = [n**-0.25 for n in counts]
    margins = [0.5 * r / max(raw) for r in raw]  # LDAM: Δ_c ∝ n_c^(−1/4), the largest 0.5
    beta = 0.9999
    eff = [(1 - beta) / (1 - beta**n) for n in counts]
    weights = [w * 3 / sum(eff) for w in eff]  # effective number, Σ w_c = C
    prior = [n / 100 for n in counts]
    aware = [0.5 * 3 * p + 1 - 0.5 for p in prior]
    for epoch, on in ((5, False), (6, True)):
        temps = [2.0 * a / max(aware) for a in aware] if on else [2.0, 2.0, 2.0]
        t_bar = sum(temps) / 3
        losses = ride.head_losses(
            torch.tensor(HEADS, dtype=F64), torch.zeros(2, 1), torch.eye(3)[:2], ctx(counts, epoch)
        )
        for i, experts in enumerate(HEADS):
            mean = [sum(e[c] for e in experts) / 2 for c in range(3)]
            consensus = softmax([m / t for m, t in zip(mean, temps)])
            expected = [0.0, 0.0, 0.0]
            for row in experts:
                each = log_softmax([z / t for z, t in zip(row, temps)])
                kl = sum(q * (math.log(q) - lp) for q, lp in zip(consensus, each))  # KL(p̄ ‖ p_i)
                for c in range(3):
                    shifted = [z - (30.0 * margins[c] if k == c else 0.0) for k, z in enumerate(row)]
                    ldam = -log_softmax(shifted)[c] * (weights[c] if on else 1.0)
                    expected[c] += ldam + -0.2 * t_bar**2 * kl  # summed over experts
            torch.testing.assert_close(losses[i], torch.tensor(expected, dtype=F64))


def test_ride_gives_each_expert_a_cosine_classifier():
    model = MODELS.create("simple_cnn", 1, (8, 8), 3, width=4, hidden=8)
    STRATEGIES.create("ride", NAMES_3, experts=4).adapt_model(model)
    assert model.n_heads == 4 and all(isinstance(h, CosineClassifier) for h in model.classifier.heads)


@pytest.mark.parametrize("strategy", [{"balpoe": {}}, {"ride": {"start": 0.5}}, ["balpoe", "mixup"]])
def test_multi_expert_arms_train_and_store_the_combined_logits(tiny_spec, strategy):
    tiny_spec["seeds"] = [0]
    tiny_spec["arms"] = [{"name": "experts", "train": {"a": 60, "b": 6}, "strategy": strategy}]
    result = run_one(build_spec(tiny_spec), "experts", 0)
    for predictions in result.predictions.values():  # one column per class, as any model's
        assert predictions.logits.shape[1] == 2 and predictions.probs.shape == predictions.logits.shape
    assert all(math.isfinite(e["train"]["loss"]) for e in result.history)


def test_two_multi_expert_remedies_on_one_arm_are_refused():
    from imbalance_lab.strategies import RoleClash

    with pytest.raises(RoleClash, match="balpoe and ride both define the loss"):
        build_pipeline([("balpoe", {}), ("ride", {})], NAMES_3)


def test_balanced_contrastive_loss_by_hand():
    from imbalance_lab.strategies.contrastive import balanced_contrastive_loss

    g = torch.Generator().manual_seed(0)
    anchors = torch.nn.functional.normalize(torch.randn(6, 3, generator=g, dtype=F64), dim=1)
    prototypes = torch.nn.functional.normalize(torch.randn(2, 3, generator=g, dtype=F64), dim=1)
    labels = torch.tensor([0, 0, 1, 0, 0, 1])  # a batch of three (two of class 0) in two views
    tau = 0.5
    columns = anchors.tolist() + prototypes.tolist()
    column_labels = labels.tolist() + [0, 1]
    expected = []
    for i, z in enumerate(anchors.tolist()):
        sims = [sum(a * b for a, b in zip(z, col)) / tau for col in columns]
        denominator = 0.0
        for j in (0, 1):  # class-averaged: each class's columns (less the anchor) summed, then divided by their number
            members = [k for k, lab in enumerate(column_labels) if lab == j and k != i]
            denominator += sum(math.exp(sims[k]) for k in members) / len(members)
        positives = [k for k, lab in enumerate(column_labels) if lab == labels[i] and k != i]
        expected.append(-sum(sims[p] - math.log(denominator) for p in positives) / len(positives))
    got = balanced_contrastive_loss(anchors, labels, prototypes, tau)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=F64))


def test_bcl_trains_on_two_views_and_predicts_without_its_heads(tiny_spec):
    tiny_spec["seeds"] = [0]
    tiny_spec["arms"] = [{"name": "bcl", "train": {"a": 60, "b": 6}, "strategy": {"bcl": {"dim": 8}}}]
    spec = build_spec(tiny_spec)
    result = run_one(spec, "bcl", 0)
    assert all(math.isfinite(e["train"]["loss"]) for e in result.history)
    assert run_one(spec, "bcl", 0).history == result.history  # the same seed, the same numbers
    model = MODELS.create("simple_cnn", 1, (8, 8), 2, width=4, hidden=8)
    STRATEGIES.create("bcl", ("a", "b"), dim=8).adapt_model(model)
    model.eval()
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(model(x), model.classifier(model.forward_features(x)))  # the heads are not used


def test_views_and_mixing_on_one_arm_are_refused():
    from imbalance_lab.strategies import RoleClash

    with pytest.raises(RoleClash, match="bcl and mixup: an arm either mixes batches or trains on two views"):
        build_pipeline([("bcl", {}), ("mixup", {})], NAMES_3)


def test_supervised_contrastive_loss_by_hand():
    from imbalance_lab.strategies.contrastive import supervised_contrastive_loss

    g = torch.Generator().manual_seed(1)
    anchors = torch.nn.functional.normalize(torch.randn(6, 3, generator=g, dtype=F64), dim=1)
    labels = torch.tensor([0, 0, 1, 0, 0, 1])
    tau = 0.2
    rows = anchors.tolist()
    expected = []
    for i, z in enumerate(rows):
        sims = [sum(a * b for a, b in zip(z, other)) / tau for other in rows]
        log_denominator = math.log(sum(math.exp(sims[k]) for k in range(6) if k != i))
        positives = [k for k in range(6) if labels[k] == labels[i] and k != i]
        expected.append(-sum(sims[p] - log_denominator for p in positives) / len(positives))
    got = supervised_contrastive_loss(anchors, labels, tau)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=F64))


def test_a_supcon_arm_trains_on_two_views(tiny_spec):
    tiny_spec["seeds"] = [0]
    tiny_spec["arms"] = [{"name": "sc", "train": {"a": 60, "b": 6}, "strategy": {"supcon": {"dim": 8}}}]
    result = run_one(build_spec(tiny_spec), "sc", 0)
    assert all(math.isfinite(e["train"]["loss"]) for e in result.history)
