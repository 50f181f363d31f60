"""The optimiser-step seam (a strategy owning the step, parameter groups, a projection after each step) and
the remedies behind it, each against its paper's update written out here by hand with plain torch."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import run_recording_states
from imbalance_lab import run_one
from imbalance_lab.errors import SpecError
from imbalance_lab.preflight import validate
from imbalance_lab.spec import build_spec
from imbalance_lab.strategies import STRATEGIES, EpochContext, RoleClash, StepBatch, build_pipeline

NAMES_3 = ("a", "b", "c")
F64 = torch.float64


def ctx(counts: list[int], epoch: int = 1, epochs: int = 10, stage: str = "main") -> EpochContext:
    return EpochContext(epoch, epochs, torch.tensor(counts, dtype=torch.int64), None, stage)


class TinyNet(nn.Module):
    """A linear layer after a batch norm, in float64: small enough to check an update by hand."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.norm = nn.BatchNorm1d(4).double()
        self.linear = nn.Linear(4, 3).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.norm(x))


def batch_of(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> StepBatch:
    def forward_losses():
        logits = model(x)
        return F.cross_entropy(logits, y, reduction="none"), logits

    return StepBatch(y, [p for g in optimizer.param_groups for p in g["params"]], optimizer, model, forward_losses)


def data(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 4, generator=g, dtype=F64), torch.tensor([0, 0, 0, 0, 0, 1, 1, 2][:n])


def grads_at(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    return [p.grad.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("adaptive", [False, True])
def test_sam_steps_with_the_gradient_at_the_perturbed_weights(adaptive):
    rho, lr = 0.3, 0.1
    x, y = data()
    model = TinyNet()
    expected = copy.deepcopy(model)
    # by hand: g at w; ε = ρ g / ‖g‖ (ASAM: ρ w² g / ‖w g‖); g' at w + ε; w ← w − lr · g'
    w0 = [p.detach().clone() for p in expected.parameters()]
    g = grads_at(expected, x, y)
    if adaptive:
        norm = torch.sqrt(sum(((w.abs() * gi) ** 2).sum() for w, gi in zip(w0, g)))
        eps = [rho * w * w * gi / norm for w, gi in zip(w0, g)]
    else:
        norm = torch.sqrt(sum((gi**2).sum() for gi in g))
        eps = [rho * gi / norm for gi in g]
    stats = (expected.norm.running_mean.clone(), expected.norm.running_var.clone())
    with torch.no_grad():
        for p, e in zip(expected.parameters(), eps):
            p.add_(e)
    g2 = grads_at(expected, x, y)
    with torch.no_grad():
        for p, w, gi in zip(expected.parameters(), w0, g2):
            p.copy_(w - lr * gi)

    sam = STRATEGIES.create("sam", NAMES_3, rho=rho, adaptive=adaptive)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss = sam.optimizer_step(batch_of(model, optimizer, x, y), ctx([5, 2, 1]))

    torch.testing.assert_close(loss, F.cross_entropy(TinyNet()(x), y))  # the loss at w, as a plain step's
    for p, q in zip(model.parameters(), expected.parameters()):
        torch.testing.assert_close(p, q)
    # the batch-norm statistics counted the batch once (the first pass), not twice
    torch.testing.assert_close(model.norm.running_mean, stats[0])
    torch.testing.assert_close(model.norm.running_var, stats[1])
    assert int(model.norm.num_batches_tracked) == 1


def test_sam_before_start_is_the_plain_step_and_says_so_for_sharing():
    x, y = data()
    plain, sammed = TinyNet(), TinyNet()
    opt = torch.optim.SGD(plain.parameters(), lr=0.1, momentum=0.9)
    loss = F.cross_entropy(plain(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sam = STRATEGIES.create("sam", NAMES_3, start=0.5)
    sam.optimizer_step(
        batch_of(sammed, torch.optim.SGD(sammed.parameters(), lr=0.1, momentum=0.9), x, y), ctx([5, 2, 1], epoch=5)
    )
    for p, q in zip(plain.parameters(), sammed.parameters()):
        assert torch.equal(p, q)  # epoch 5 of 10 is before ⌊0.5 · 10⌋ + 1: the trainer's own step, bit for bit
    assert sam.plain_epochs(10) == 5 and STRATEGIES.create("sam", NAMES_3).plain_epochs(10) == 0


def test_one_arm_cannot_have_two_step_owners_and_fp16_is_refused(tiny_spec):
    tiny_spec["arms"] = [{"name": "two", "train": {"a": 60, "b": 6}, "strategy": ["sam", "imbsam"]}]
    with pytest.raises(SpecError, match=r"sam and imbsam both own the optimiser step") as info:
        validate(tiny_spec)
    assert info.value.field == "arms[0].strategy[1]" and "\n" not in str(info.value)
    with pytest.raises(RoleClash, match="weight_decay and weight_balancing both set the weight decay"):
        build_pipeline([("weight_decay", {}), ("weight_balancing", {})], NAMES_3)
    tiny_spec["arms"] = [{"name": "sam", "train": {"a": 60, "b": 6}, "strategy": {"sam": {"rho": 0.1}}}]
    tiny_spec["training"] = {**tiny_spec["training"], "precision": "fp16"}
    with pytest.raises(SpecError, match=r"sam owns the optimiser step.*precision: bf16 or fp32"):
        build_spec(tiny_spec)


def test_a_sam_arm_trains_through_the_trainer_and_differs_from_plain(tiny_spec):
    tiny_spec["arms"] = [
        {"name": "plain", "train": {"a": 60, "b": 6}},
        {"name": "sam", "train": {"a": 60, "b": 6}, "strategy": [{"ldam": {}}, {"drw": {}}, {"sam": {"rho": 0.1}}]},
    ]
    tiny_spec["seeds"] = [0]
    spec = build_spec(tiny_spec)
    plain, sam = run_one(spec, "plain", 0), run_one(spec, "sam", 0)
    again = run_one(spec, "sam", 0)
    assert len(sam.history) == len(plain.history) and all(e["train"]["loss"] > 0 for e in sam.history)
    assert sam.history[-1]["train"]["loss"] != plain.history[-1]["train"]["loss"]
    assert sam.history == again.history  # the same seed, the same numbers


def test_the_pipeline_names_its_step_owner():
    assert build_pipeline([("sam", {}), ("drw", {})], NAMES_3).step_owner.name == "sam"
    assert build_pipeline([("drw", {})], NAMES_3).step_owner is None


def test_imbsam_perturbs_for_the_tail_share_of_the_loss_only():
    rho, lr, size = 0.2, 0.1, 8
    x, y = data()
    counts = [30, 5, 3]  # tail_below 20: b and c are tail
    tail = torch.tensor([False, True, True])[y]
    model, expected = TinyNet(), TinyNet()
    # by hand: g_h = ∇(Σ_head ℓ / B) at w; ε = ρ ∇L_t / ‖∇L_t‖ at w; g = g_h + ∇L_t(w + ε); w ← w − lr g
    w0 = [p.detach().clone() for p in expected.parameters()]

    def part_grads(mask: torch.Tensor) -> list[torch.Tensor]:
        expected.zero_grad(set_to_none=True)
        (F.cross_entropy(expected(x), y, reduction="none") * mask).sum().div(size).backward()
        return [p.grad.detach().clone() for p in expected.parameters()]

    g_head = part_grads(~tail)
    g_tail = part_grads(tail)
    norm = torch.sqrt(sum((g**2).sum() for g in g_tail))
    with torch.no_grad():
        for p, g in zip(expected.parameters(), g_tail):
            p.add_(rho * g / norm)
    g_tail_far = part_grads(tail)
    with torch.no_grad():
        for p, w, gh, gt in zip(expected.parameters(), w0, g_head, g_tail_far):
            p.copy_(w - lr * (gh + gt))

    imbsam = STRATEGIES.create("imbsam", NAMES_3, rho=rho)
    loss = imbsam.optimizer_step(batch_of(model, torch.optim.SGD(model.parameters(), lr=lr), x, y), ctx(counts))
    torch.testing.assert_close(loss, F.cross_entropy(TinyNet()(x), y))  # head + tail parts: the batch mean
    for p, q in zip(model.parameters(), expected.parameters()):
        torch.testing.assert_close(p, q)


def test_imbsam_without_tail_classes_is_the_plain_step():
    x, y = data()
    plain, imb = TinyNet(), TinyNet()
    opt = torch.optim.SGD(plain.parameters(), lr=0.1)
    loss = F.cross_entropy(plain(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    step = STRATEGIES.create("imbsam", NAMES_3, tail_below=2)
    step.optimizer_step(batch_of(imb, torch.optim.SGD(imb.parameters(), lr=0.1), x, y), ctx([30, 5, 3]))
    for p, q in zip(plain.parameters(), imb.parameters()):
        assert torch.equal(p, q)


def classifier_model():
    from imbalance_lab.models import MODELS

    torch.manual_seed(3)
    return MODELS.create("simple_cnn", 1, (8, 8), 3, width=4, hidden=8)


def test_max_norm_caps_each_class_row_at_the_relative_radius_and_leaves_the_bias():
    model = classifier_model()
    with torch.no_grad():
        model.classifier.weight.copy_(torch.tensor([[3.0, 4.0] + [0.0] * 6, [0.0, 1.0] + [0.0] * 6, [2.0] + [0.0] * 7]))
        model.classifier.bias.fill_(7.0)
    cap = STRATEGIES.create("max_norm", NAMES_3, threshold=0.25)
    cap.begin_stage(model, ctx([5, 3, 2]))
    assert cap.radius == pytest.approx(1.0 + 0.25 * (5.0 - 1.0))  # norms 5, 1, 2: min + 0.25 · spread = 2
    with torch.no_grad():
        model.classifier.weight[1, 1] = 1.5  # a step moved the small row, still inside the ball
    cap.after_step(model, ctx([5, 3, 2]))
    weight = model.classifier.weight.detach()
    torch.testing.assert_close(weight[0, :2], torch.tensor([3.0, 4.0]) * 2.0 / 5.0)  # capped to norm 2
    torch.testing.assert_close(weight[1, :2], torch.tensor([0.0, 1.5]))  # inside: unchanged
    torch.testing.assert_close(weight[2, 0], torch.tensor(2.0))  # on the sphere: unchanged
    assert torch.equal(model.classifier.bias.detach(), torch.full((3,), 7.0))
    absolute = STRATEGIES.create("max_norm", NAMES_3, threshold=0.5, absolute=True)
    absolute.begin_stage(model, ctx([5, 3, 2]))
    absolute.after_step(model, ctx([5, 3, 2]))
    assert torch.all(model.classifier.weight.detach().norm(dim=1) <= 0.5 + 1e-6)


def test_weight_decay_groups():
    model = classifier_model()
    params = list(model.parameters())
    everything = STRATEGIES.create("weight_decay", NAMES_3, value=0.01).param_groups(params, 5e-4, ctx([5, 3, 2]))
    assert everything == [{"params": params, "weight_decay": 0.01}]
    split = STRATEGIES.create("weight_decay", NAMES_3, value=0.01, norms_and_biases=False)
    groups = split.param_groups(params, 5e-4, ctx([5, 3, 2]))
    assert [g["weight_decay"] for g in groups] == [0.01, 0.0]
    assert all(p.ndim > 1 for p in groups[0]["params"]) and all(p.ndim == 1 for p in groups[1]["params"])
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(params)


def test_an_arms_weight_decay_trains_as_the_spec_wide_one_bit_for_bit(tiny_spec):
    tiny_spec["seeds"] = [0]
    tiny_spec["arms"] = [{"name": "wd", "train": {"a": 60, "b": 6}, "strategy": {"weight_decay": {"value": 0.01}}}]
    by_arm = run_one(build_spec(tiny_spec), "wd", 0)
    tiny_spec["arms"] = [{"name": "wd", "train": {"a": 60, "b": 6}}]
    tiny_spec["training"] = {**tiny_spec["training"], "weight_decay": 0.01}
    by_spec = run_one(build_spec(tiny_spec), "wd", 0)
    assert by_arm.history == by_spec.history
    tiny_spec["training"]["weight_decay"] = 0.0
    assert run_one(build_spec(tiny_spec), "wd", 0).history != by_arm.history  # the decay is felt


def test_weight_balancing_declares_its_second_stage():
    wb = STRATEGIES.create("weight_balancing", NAMES_3)
    (stage,) = wb.stages()
    assert (stage.name, stage.epochs, stage.train, stage.reset_classifier) == (
        "weight_balancing",
        10,
        "classifier",
        "keep",
    )
    assert stage.weight_decay == 0.1 and stage.lr is None
    assert stage.strategy == (("class_balanced", {"beta": 0.9999}), ("max_norm", {"threshold": 0.1}))
    params = [nn.Parameter(torch.zeros(2))]
    assert wb.param_groups(params, 5e-4, ctx([5, 3, 2])) == [{"params": params, "weight_decay": 5e-3}]


def test_a_weight_balancing_run_keeps_the_backbone_and_caps_the_classifier(tiny_spec, monkeypatch):
    tiny_spec["seeds"] = [0]
    tiny_spec["arms"] = [
        {
            "name": "wb",
            "train": {"a": 60, "b": 6},
            "strategy": {"weight_balancing": {"stage_epochs": 2, "threshold": 0.0}},
        }
    ]
    result, states = run_recording_states(monkeypatch, build_spec(tiny_spec), "wb")
    epochs = tiny_spec["training"]["epochs"]
    assert [e.get("stage", "main") for e in result.history] == ["main"] * epochs + ["weight_balancing"] * 2
    backbone = [k for k in states[0] if k.startswith("backbone.")]
    assert all(torch.equal(states[epochs - 1][k], states[-1][k]) for k in backbone)
    # threshold 0: the radius is the smallest class norm when stage 2 began, so every row ends at most there
    start_norms = states[epochs - 1]["classifier.weight"].norm(dim=1)
    assert torch.all(states[-1]["classifier.weight"].norm(dim=1) <= start_norms.min() + 1e-6)
