"""The CPU optimisers (imbalance_lab.optimisers) against torch.optim, bit for bit, and their state dicts."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

from imbalance_lab.optimisers import SGD, Adam, make_optimiser


def small_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    return model.to(memory_format=torch.channels_last)  # the trainer's CPU layout


def groups_of(model: nn.Module, split: bool) -> list:
    params = list(model.parameters())
    if not split:
        return params
    return [{"params": params[:2], "weight_decay": 0.0}, {"params": params[2:]}]  # e.g. no decay on the first conv


def train(model: nn.Module, optimiser, steps: int, skip_last: bool = False) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(7)
    last = list(model.parameters())[-1]
    for step in range(steps):
        x = torch.randn(5, 3, 8, 8, generator=gen).to(memory_format=torch.channels_last)
        y = torch.randint(0, 3, (5,), generator=gen)
        optimiser.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        if skip_last and step % 2:
            last.grad = None  # a parameter without a gradient this step is left alone, its state too
        optimiser.step()
    return [p.detach().clone() for p in model.parameters()]


CASES = [
    ("adam", dict(lr=1e-2, weight_decay=0.0), lambda p, **k: torch.optim.Adam(p, **k)),
    ("adam", dict(lr=1e-2, weight_decay=5e-3), lambda p, **k: torch.optim.Adam(p, **k)),
    ("adamw", dict(lr=3e-3, weight_decay=0.05), lambda p, **k: torch.optim.AdamW(p, **k)),
    ("sgd", dict(lr=0.1, weight_decay=5e-4, momentum=0.9), lambda p, **k: torch.optim.SGD(p, **k)),
    ("sgd", dict(lr=0.1, weight_decay=0.0, momentum=0.0), lambda p, **k: torch.optim.SGD(p, **k)),
]


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("kind,settings,torch_optim", CASES)
def test_the_same_bits_as_torch_optim(kind, settings, torch_optim, split):
    ours_model, torch_model = small_model(0), small_model(0)
    ours = make_optimiser(
        groups_of(ours_model, split),
        kind,
        settings["lr"],
        settings["weight_decay"],
        settings.get("momentum", 0.0),
        "cpu",
    )
    assert isinstance(ours, Adam if kind.startswith("adam") else SGD)
    theirs = torch_optim(groups_of(torch_model, split), **settings)
    ours_after = train(ours_model, ours, 12, skip_last=True)
    theirs_after = train(torch_model, theirs, 12, skip_last=True)
    assert any(not torch.equal(a, b) for a, b in zip(ours_after, list(small_model(0).parameters())))  # it trained
    for a, b in zip(ours_after, theirs_after, strict=True):
        assert torch.equal(a, b)
    assert all(torch.equal(a, b) for a, b in zip(ours_model.buffers(), torch_model.buffers(), strict=True))


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_a_state_dict_round_trips_between_ours_and_torchs(kind):
    """Resuming from a checkpoint continues the same trajectory, whichever optimiser wrote it."""
    make_torch = {
        "adam": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-3),
        "sgd": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    }[kind]
    make_ours = {
        "adam": lambda p: Adam(p, lr=1e-2, weight_decay=1e-3),
        "sgd": lambda p: SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3),
    }[kind]
    straight_model = small_model(1)
    straight = train(straight_model, make_ours(groups_of(straight_model, True)), 6)
    # the first three steps, a checkpoint, then the rest (the batches of steps 4-6 differ from a straight run's,
    # so compare the two resumed runs with each other, and ours-from-ours with torch-from-torch)
    finals = []
    for first, second in [
        (make_ours, make_ours),
        (make_torch, make_ours),
        (make_ours, make_torch),
        (make_torch, make_torch),
    ]:
        model = small_model(1)
        opt = first(groups_of(model, True))
        train(model, opt, 3)
        saved = copy.deepcopy(opt.state_dict())
        weights = copy.deepcopy(model.state_dict())
        model = small_model(1)
        model.load_state_dict(weights)
        opt = second(groups_of(model, True))
        opt.load_state_dict(saved)
        finals.append(train(model, opt, 3))
    for other in finals[1:]:
        assert all(torch.equal(a, b) for a, b in zip(finals[0], other, strict=True))
    assert len(straight) == len(finals[0])


def test_ours_keeps_torchs_state_dict_layout():
    model = small_model(2)
    ours, theirs = Adam(groups_of(model, True), lr=1e-3), torch.optim.Adam(groups_of(small_model(2), True), lr=1e-3)
    train(model, ours, 2)
    ours_dict = ours.state_dict()
    assert [g["params"] for g in ours_dict["param_groups"]] == [
        g["params"] for g in theirs.state_dict()["param_groups"]
    ]
    assert set(ours_dict["state"]) == set(range(len(list(model.parameters()))))
    assert set(ours_dict["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert ours_dict["state"][0]["step"].dtype == torch.float32 and float(ours_dict["state"][0]["step"]) == 2.0


def test_other_devices_get_torchs_optimiser():
    params = list(small_model(0).parameters())
    assert isinstance(make_optimiser(params, "adam", 1e-3, 0.0, 0.0, "cuda"), torch.optim.Adam)
    assert isinstance(make_optimiser(params, "adamw", 1e-3, 0.0, 0.0, "mps"), torch.optim.AdamW)
    assert isinstance(make_optimiser(params, "sgd", 1e-3, 0.0, 0.9, "cuda"), torch.optim.SGD)


def test_a_mismatched_state_dict_is_refused():
    ours = Adam(groups_of(small_model(0), True), lr=1e-3)
    other = Adam(groups_of(small_model(0), False), lr=1e-3)
    with pytest.raises(ValueError, match="number of parameter groups"):
        ours.load_state_dict(other.state_dict())


def test_training_on_a_cpu_does_not_import_torch_dynamo():
    """The reason these exist: torch.optim imports torch._dynamo (over a second) on its first use."""
    code = (
        "import sys, torch\n"
        "from imbalance_lab.optimisers import make_optimiser\n"
        "m = torch.nn.Linear(3, 2)\n"
        "o = make_optimiser(m.parameters(), 'adam', 1e-3, 0.0, 0.0, 'cpu')\n"
        "m(torch.ones(1, 3)).sum().backward(); o.step(); o.zero_grad(); o.load_state_dict(o.state_dict())\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
