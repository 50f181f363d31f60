"""Mixing a batch with a shuffled copy of itself: mixup, CutMix and Remix.

Each batch draws one ``λ ~ Beta(α, α)`` and one permutation from the run's
augmentation generator (on the batch's device), so a run is reproducible under
its seed. Images are mixed in [0, 1] after any augmentation; targets become soft
(B×C), and the trainer's loss is ``Σ_c t_c · w_c · L_c``, i.e. ``λ·L(y_a) + (1 −
λ)·L(y_b)`` for whatever loss and class weights the arm uses. Per-epoch training
metrics use the unmixed labels. The parameters are declared in
:mod:`imbalance_lab.declarations.strategies.mixing`.
"""

from __future__ import annotations

import math

import torch
from scipy.special import betaincinv

from imbalance_lab.declarations.strategies.mixing import (
    CutMixDeclaration,
    MixingDeclaration,
    MixupDeclaration,
    RemixDeclaration,
)
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


def draw_beta(alpha: float, generator: torch.Generator) -> float:
    """One draw of ``Beta(α, α)`` from ``generator`` (by inverting the CDF of a uniform draw)."""
    u = float(torch.rand((), generator=generator, device=generator.device))
    return float(betaincinv(alpha, alpha, u))


def partner(batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """The permutation that pairs each example with another of the batch."""
    return torch.randperm(batch_size, generator=generator, device=generator.device)


class _Mixing(MixingDeclaration, Strategy):
    """A strategy that mixes batches (its ``alpha`` and role declared by ``MixingDeclaration``)."""


@STRATEGIES.implement
class Mixup(MixupDeclaration, _Mixing):
    """``mixup`` (:class:`~imbalance_lab.declarations.strategies.mixing.MixupDeclaration`): each batch mixed
    with its partner by one ``λ``."""

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


@STRATEGIES.implement
class CutMix(CutMixDeclaration, _Mixing):
    """``cutmix`` (:class:`~imbalance_lab.declarations.strategies.mixing.CutMixDeclaration`): a partner's box
    pasted into each image of a mixed batch."""

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


@STRATEGIES.implement
class Remix(RemixDeclaration, _Mixing):
    """``remix`` (:class:`~imbalance_lab.declarations.strategies.mixing.RemixDeclaration`): mixup's images,
    the label weights from the pair's training counts."""

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
