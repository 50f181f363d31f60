"""Losses that shift or scale the logits by the training prior before cross-entropy.

``logit_adjusted`` (Menon et al. 2021), ``balanced_softmax`` (Ren et al. 2020)
and ``vs_loss`` (Kini et al. 2021) all train on modified logits and predict with
the plain ones, so the model learns scores fit for a balanced test set. With
``π_c = n_c / n``: logit-adjusted ``z_c + τ log π_c``; balanced softmax
``z_c + log n_c`` (the same as ``τ = 1``, since softmax ignores a shift common
to every class); VS ``Δ_c z_c + τ log π_c`` with ``Δ_c = (n_c / n_max)^γ``.
The parameters are declared in :mod:`imbalance_lab.declarations.strategies.logit_adjustment`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from imbalance_lab.declarations.strategies.logit_adjustment import (
    AdjustedSoftmaxDeclaration,
    BalancedSoftmaxDeclaration,
    ClassDependentTemperatureDeclaration,
    LogitAdjustedDeclaration,
    VectorScalingDeclaration,
)
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


def log_prior(counts: torch.Tensor) -> torch.Tensor:
    """``log π_c = log(n_c / n)`` (float32); a class without images gets ``log(1/n)``'s floor of one image."""
    n = counts.to(torch.float64)
    return torch.log(n.clamp(min=1) / n.sum()).to(torch.float32)


class _AdjustedSoftmax(AdjustedSoftmaxDeclaration, Strategy):
    """Cross-entropy on ``scale_c · z_c + offset_c``; subclasses set the two vectors in ``prepare``."""

    _scale: torch.Tensor | None = None
    _offset: torch.Tensor

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        adjusted = logits if self._scale is None else logits * self._scale.to(logits.device)
        return -F.log_softmax(adjusted + self._offset.to(logits.device), dim=1)


@STRATEGIES.implement
class LogitAdjusted(LogitAdjustedDeclaration, _AdjustedSoftmax):
    """``logit_adjusted`` (:class:`~imbalance_lab.declarations.strategies.logit_adjustment.LogitAdjustedDeclaration`):
    the offset ``τ · log π`` from the arm's counts."""

    def prepare(self, ctx: EpochContext) -> None:
        self._offset = self.tau * log_prior(ctx.class_counts)


@STRATEGIES.implement
class BalancedSoftmax(BalancedSoftmaxDeclaration, _AdjustedSoftmax):
    """``balanced_softmax``
    (:class:`~imbalance_lab.declarations.strategies.logit_adjustment.BalancedSoftmaxDeclaration`): the offset
    ``log n`` from the arm's counts."""

    def prepare(self, ctx: EpochContext) -> None:
        self._offset = torch.log(ctx.class_counts.to(torch.float64).clamp(min=1)).to(torch.float32)


@STRATEGIES.implement
class VectorScaling(VectorScalingDeclaration, _AdjustedSoftmax):
    """``vs_loss`` (:class:`~imbalance_lab.declarations.strategies.logit_adjustment.VectorScalingDeclaration`):
    the scale ``Δ`` and the offset ``τ · log π`` from the arm's counts."""

    def prepare(self, ctx: EpochContext) -> None:
        n = ctx.class_counts.to(torch.float64).clamp(min=1)
        self._scale = ((n / n.max()) ** self.gamma).to(torch.float32)
        self._offset = self.tau * log_prior(ctx.class_counts)


@STRATEGIES.implement
class ClassDependentTemperature(ClassDependentTemperatureDeclaration, _AdjustedSoftmax):
    """``cdt``
    (:class:`~imbalance_lab.declarations.strategies.logit_adjustment.ClassDependentTemperatureDeclaration`):
    the scale ``1 / a`` from the arm's counts, no offset."""

    def prepare(self, ctx: EpochContext) -> None:
        n = ctx.class_counts.to(torch.float64).clamp(min=1)
        self._scale = (1.0 / (n.max() / n) ** self.gamma).to(torch.float32)
        self._offset = torch.zeros_like(self._scale)
