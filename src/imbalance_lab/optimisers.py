"""The spec's optimisers on a CPU, without ``torch.optim``: the same arithmetic, bit for bit, as torch's
single-tensor path (the one torch takes for CPU parameters), so every run hash and stored metric stays as it was.

Why our own: a ``torch.optim`` optimiser imports ``torch._dynamo`` the first time it is built or stepped (its
methods are wrapped in a lazy ``_disable_dynamo``, and ``step`` asks dynamo for a graph break), whatever the
settings. That import takes 1.1–1.7 s on the 2-core machine we develop on, more than the torch import itself,
and is paid once per process: by every ``imbalance-lab run``, and by every worker process of the process
executor. The update rules are the papers' (Kingma & Ba 2015, Algorithm 1, with the bias corrections folded
into the step size; Loshchilov & Hutter 2019 for the decoupled weight decay; SGD with heavy-ball momentum, the
first step's buffer the gradient itself), written in the order of torch's operations, because floating-point
results depend on it.

On other devices :func:`make_optimiser` returns torch's own optimiser, whose multi-tensor kernels are faster
there; ``tests/test_optimisers.py`` checks these against ``torch.optim`` on a CPU, parameter by parameter.
The state dict has torch's layout (``state`` by parameter index, ``param_groups`` with parameter indices), so
a checkpoint written by either loads into the other.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

Groups = list[dict[str, Any]]


class CpuOptimiser:
    """Parameter groups, per-parameter state, ``step``, ``zero_grad`` and a torch-compatible state dict."""

    defaults: dict[str, Any]
    # the settings torch's optimiser of this kind keeps in each group, at the values ours implements: written
    # into the state dict so that torch's optimiser can load it (on resuming a run on another device)
    torch_settings: dict[str, Any] = {}

    def __init__(self, params: Iterable[nn.Parameter] | Groups, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        given = list(params)
        if not given:
            raise ValueError("an optimiser needs at least one parameter")
        groups: Groups = given if isinstance(given[0], dict) else [{"params": given}]
        self.param_groups: Groups = []
        self.state: dict[torch.Tensor, dict[str, Any]] = {}
        for group in groups:
            self.param_groups.append({**defaults, **group, "params": list(group["params"])})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Every parameter's gradient cleared (set to ``None``, as the trainer asks, or zeroed in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().requires_grad_(False).zero_()

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, self.state.setdefault(p, {}), group)

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """torch's layout: parameters numbered in group order; ``state`` keyed by those numbers."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            numbers = [index.setdefault(id(p), len(index)) for p in group["params"]]
            settings = {k: v for k, v in group.items() if k != "params"}
            groups.append({**self.torch_settings, **settings, "params": numbers})
        state = {index[id(p)]: s for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """The hyperparameters and state of a state dict of the same parameter groups (ours or torch's)."""
        saved = copy.deepcopy(saved)
        if len(saved["param_groups"]) != len(self.param_groups):
            raise ValueError("the saved optimiser state has a different number of parameter groups")
        by_number: dict[int, torch.Tensor] = {}
        for group, old in zip(self.param_groups, saved["param_groups"], strict=True):
            if len(group["params"]) != len(old["params"]):
                raise ValueError("the saved optimiser state's parameter groups have other sizes")
            by_number.update(zip(old["params"], group["params"], strict=True))
            group.update({k: v for k, v in old.items() if k in self.defaults})
        self.state = {}
        for number, values in saved["state"].items():
            p = by_number[int(number)]
            self.state[p] = {
                k: v.to(device=p.device, dtype=p.dtype) if torch.is_tensor(v) and k != "step" else v
                for k, v in values.items()
            }


class Adam(CpuOptimiser):
    """Adam, with L2 weight decay added to the gradient, or decoupled (AdamW) when ``decoupled``."""

    def __init__(
        self,
        params: Iterable[nn.Parameter] | Groups,
        lr: float,
        weight_decay: float = 0.0,
        decoupled: bool = False,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})
        self.decoupled = decoupled
        self.torch_settings = {
            "amsgrad": False, "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
            "fused": None, "decoupled_weight_decay": decoupled,
        }  # fmt: skip

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = torch.tensor(0.0, dtype=torch.float32)  # torch keeps the count as a float32 tensor
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        step_t += 1
        if decay != 0:
            if self.decoupled:
                p.mul_(1 - lr * decay)
            else:
                grad = grad.add(p, alpha=decay)
        exp_avg.lerp_(grad, 1 - beta1)  # m ← β₁ m + (1 − β₁) g
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v ← β₂ v + (1 − β₂) g²
        step = step_t.item()
        step_size = lr / (1 - beta1**step)
        denom = (exp_avg_sq.sqrt() / (1 - beta2**step) ** 0.5).add_(eps)  # √v̂ + ε
        p.addcdiv_(exp_avg, denom, value=-step_size)  # θ ← θ − α m̂ / (√v̂ + ε)


class SGD(CpuOptimiser):
    """Stochastic gradient descent with L2 weight decay and heavy-ball momentum (no dampening)."""

    torch_settings = {
        "dampening": 0, "nesterov": False, "maximize": False, "foreach": None, "differentiable": False, "fused": None,
    }  # fmt: skip

    def __init__(
        self, params: Iterable[nn.Parameter] | Groups, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    def _update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        if group["momentum"] != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.detach().clone()
            else:
                buf.mul_(group["momentum"]).add_(grad, alpha=1)
            grad = buf
        p.add_(grad, alpha=-group["lr"])


Optimiser = CpuOptimiser | torch.optim.Optimizer


def make_optimiser(
    params: Iterable[nn.Parameter] | Groups,
    kind: str,
    lr: float,
    weight_decay: float,
    momentum: float,
    device_type: str,
) -> Optimiser:
    """The optimiser ``kind`` (``adam``, ``adamw`` or ``sgd``): ours on a CPU, torch's elsewhere."""
    if device_type != "cpu":
        if kind == "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        if kind == "adamw":
            return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if kind in ("adam", "adamw"):
        return Adam(params, lr=lr, weight_decay=weight_decay, decoupled=kind == "adamw")
    return SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
