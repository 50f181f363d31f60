"""``lade``: label-distribution-aware disentanglement loss (LADE-CE plus the LADER regulariser)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from imbalance_lab.declarations.strategies.lade import LADEDeclaration
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy
from imbalance_lab.strategies.logit_adjustment import log_prior


@STRATEGIES.implement
class LADE(LADEDeclaration, Strategy):
    """``lade`` (:class:`~imbalance_lab.declarations.strategies.lade.LADEDeclaration`): balanced-softmax class
    losses and LADER as the batch term, from the arm's training prior."""

    def prepare(self, ctx: EpochContext) -> None:
        self._log_prior = log_prior(ctx.class_counts)
        self._prior = ctx.prior

    def regulariser(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """LADER of one batch (a scalar)."""
        log_prior_ = self._log_prior.to(logits.device)
        mass = targets.sum(dim=0)
        first = (targets * logits).sum(dim=0) / mass.clamp(min=1e-8)
        second = torch.logsumexp(logits - log_prior_ + math.log(1 / logits.shape[1]), dim=0) - math.log(logits.shape[0])
        estimate = first - second - self.remine_lambda * second**2
        return -(self._prior.to(logits.device) * estimate).sum()

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        return -F.log_softmax(logits + self._log_prior.to(logits.device), dim=1)

    def batch_term(self, logits: torch.Tensor, targets: torch.Tensor, ctx: EpochContext) -> torch.Tensor:
        return self.alpha * self.regulariser(logits, targets)
