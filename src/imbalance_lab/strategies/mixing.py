"""Mixing a batch with a shuffled copy of itself: mixup, CutMix and Remix.

Each batch draws one ``λ ~ Beta(α, α)`` and one permutation from the run's
augmentation generator (on the batch's device), so a run is reproducible under
its seed. Images are mixed in [0, 1] after any augmentation; targets become soft
(B×C), and the trainer's loss is ``Σ_c t_c · w_c · L_c``, i.e. ``λ·L(y_a) + (1 −
λ)·L(y_b)`` for whatever loss and class weights the arm uses. Per-epoch training
metrics use the unmixed labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field
from scipy.special import betaincinv

from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy

Alpha = Annotated[float, Field(gt=0, le=100)]


def draw_beta(alpha: float, generator: torch.Generator) -> float:
    """One draw of ``Beta(α, α)`` from ``generator`` (by inverting the CDF of a uniform draw)."""
    u = float(torch.rand((), generator=generator, device=generator.device))
    return float(betaincinv(alpha, alpha, u))


def partner(batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """The permutation that pairs each example with another of the batch."""
    return torch.randperm(batch_size, generator=generator, device=generator.device)


class _Mixing(Strategy):
    roles = frozenset({"mixing"})

    def __init__(self, class_names: Sequence[str], alpha: Alpha = 1.0) -> None:
        super().__init__(class_names)
        self.alpha = alpha

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@STRATEGIES.register
class Mixup(_Mixing):
    """mixup: train on convex combinations ``λ x_a + (1 − λ) x_b`` with targets ``λ y_a + (1 − λ) y_b``.

    Parameters
    ----------
    alpha : float > 0
        ``λ ~ Beta(α, α)``, one per batch (1.0: uniform).

    References
    ----------
    Zhang, H., Cisse, M., Dauphin, Y. N. and Lopez-Paz, D. (2018). mixup: Beyond
    empirical risk minimization. ICLR. arXiv:1710.09412.
    """

    name = "mixup"

    def mix_batch(
        self, x: torch.Tensor, targets: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lam = draw_beta(self.alpha, generator)
        perm = partner(x.shape[0], generator)
        return lam * x + (1 - lam) * x[perm], lam * targets + (1 - lam) * targets[perm]


def cut_box(height: int, width: int, lam: float, generator: torch.Generator) -> tuple[int, int, int, int]:
    """A box of about ``(1 − λ)`` of the image, centred uniformly and clipped to it: (top, bottom, left, right)."""
    ratio = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy = int(torch.randint(height, (), generator=generator, device=generator.device))
    cx = int(torch.randint(width, (), generator=generator, device=generator.device))
    top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
    left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
    return top, bottom, left, right


@STRATEGIES.register
class CutMix(_Mixing):
    """CutMix: paste a box of a partner image; targets mixed by the pasted area.

    With probability ``p`` a batch is mixed: ``λ ~ Beta(α, α)``, a box of sides
    ``√(1 − λ)`` of the image's at a uniform centre (clipped to the image) is
    replaced by the partner's, and ``λ`` becomes the kept fraction of the area.

    Parameters
    ----------
    alpha : float > 0
        ``λ ~ Beta(α, α)`` (1.0).
    p : float in [0, 1]
        Probability that a batch is mixed (0.5, the authors' CIFAR setting).

    References
    ----------
    Yun, S., Han, D., Oh, S. J., Chun, S., Choe, J. and Yoo, Y. (2019). CutMix:
    Regularization strategy to train strong classifiers with localizable features.
    ICCV. arXiv:1905.04899.
    """

    name = "cutmix"

    def __init__(
        self, class_names: Sequence[str], alpha: Alpha = 1.0, p: Annotated[float, Field(ge=0, le=1)] = 0.5
    ) -> None:
        super().__init__(class_names, alpha)
        self.p = p

    def mix_batch(
        self, x: torch.Tensor, targets: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> tuple[torch.Tensor, torch.Tensor]:
        coin = float(torch.rand((), generator=generator, device=generator.device))
        lam = draw_beta(self.alpha, generator)
        perm = partner(x.shape[0], generator)
        if coin >= self.p:
            return x, targets
        height, width = x.shape[-2:]
        top, bottom, left, right = cut_box(height, width, lam, generator)
        mixed = x.clone()
        mixed[..., top:bottom, left:right] = x[perm][..., top:bottom, left:right]
        kept = 1.0 - (bottom - top) * (right - left) / (height * width)
        return mixed, kept * targets + (1 - kept) * targets[perm]

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "p": self.p}


@STRATEGIES.register
class Remix(_Mixing):
    """Remix: mixup's images, with the label pushed to the minority class of a lopsided pair.

    Images mix as mixup (``λ ~ Beta(α, α)``). For a pair ``(a, b)`` with training
    counts ``n_a, n_b`` the target weight of ``a`` is ``0`` when ``n_a / n_b ≥ κ``
    and ``λ < τ`` (the rarer ``b`` keeps enough of the image: the label is all
    ``b``), ``1`` when ``n_a / n_b ≤ 1/κ`` and ``1 − λ < τ``, and ``λ`` otherwise.

    Parameters
    ----------
    alpha : float > 0
        ``λ ~ Beta(α, α)`` (1.0).
    kappa : float >= 1
        How lopsided a pair must be (3).
    tau : float in [0, 1]
        How much of the image the rarer class must keep (0.5).

    References
    ----------
    Chou, H.-P., Chang, S.-C., Pan, J.-Y., Wei, W. and Juan, D.-C. (2020). Remix:
    Rebalanced mixup. ECCV Workshops. arXiv:2007.03943.
    """

    name = "remix"

    def __init__(
        self,
        class_names: Sequence[str],
        alpha: Alpha = 1.0,
        kappa: Annotated[float, Field(ge=1, le=1e6)] = 3.0,
        tau: Annotated[float, Field(ge=0, le=1)] = 0.5,
    ) -> None:
        super().__init__(class_names, alpha)
        self.kappa, self.tau = kappa, tau

    def mix_batch(
        self, x: torch.Tensor, targets: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lam = draw_beta(self.alpha, generator)
        perm = partner(x.shape[0], generator)
        counts = ctx.class_counts.to(device=x.device, dtype=torch.float64).clamp(min=1)
        n_a = targets.to(torch.float64) @ counts  # the training count of each example's class (targets are one-hot)
        ratio = n_a / n_a[perm]
        label_lam = torch.full_like(ratio, lam)
        label_lam = torch.where((ratio >= self.kappa) & (lam < self.tau), 0.0, label_lam)
        label_lam = torch.where((ratio <= 1 / self.kappa) & (1 - lam < self.tau), 1.0, label_lam)
        weight = label_lam.to(targets.dtype)[:, None]
        return lam * x + (1 - lam) * x[perm], weight * targets + (1 - weight) * targets[perm]

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "kappa": self.kappa, "tau": self.tau}
