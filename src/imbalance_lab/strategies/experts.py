"""Multi-expert models: K heads on the shared features, each trained its own way, combined to predict.

``balpoe`` (Sanchez Aimar et al. 2023) trains each expert with the logit-adjusted
loss at its own strength ``λ_k`` and averages their logits: with the mean of the
``λ_k`` at 1 the ensemble is fit for a balanced test set. ``ride`` (Wang et al.
2021) trains each expert with LDAM-DRW and pushes the experts apart with a
diversity term. Both replace the model's classifier with a
:class:`~imbalance_lab.models.base.MultiHead`, whose combined logits are what the
model predicts and stores, so every metric and decision rule reads them
unchanged. The authors' networks also split the backbone's last stages per
expert; here the experts share the whole backbone and differ in their heads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.declarations.strategies.experts import (
    BalancedProductOfExpertsDeclaration,
    RoutingDiverseExpertsDeclaration,
)
from imbalance_lab.models.base import CosineClassifier, ImageClassifier, MultiHead
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy
from imbalance_lab.strategies.effective_number import effective_number_weights
from imbalance_lab.strategies.ldam import ldam_margins
from imbalance_lab.strategies.logit_adjustment import log_prior


def _image_classifier(model: nn.Module, who: str) -> ImageClassifier:
    if not isinstance(model, ImageClassifier):
        raise TypeError(f"{who} needs a model with a replaceable classifier, got {type(model).__name__}")
    return model


@STRATEGIES.implement
class BalancedProductOfExperts(BalancedProductOfExpertsDeclaration, Strategy):
    """``balpoe`` (:class:`~imbalance_lab.declarations.strategies.experts.BalancedProductOfExpertsDeclaration`):
    the model's classifier made the first of the experts' heads, each head's loss logit-adjusted at its λ."""

    _offsets: torch.Tensor | None = None  # λ_k · log π per expert (K×C), learned in prepare; zeros before

    def adapt_model(self, model: nn.Module) -> nn.Module:
        model = _image_classifier(model, self.name)
        first = model.get_classifier()
        if not isinstance(first, nn.Linear):
            raise TypeError(f"balpoe needs a model whose classifier is a linear layer, got {type(first).__name__}")
        heads = [first] + [nn.Linear(first.in_features, first.out_features) for _ in self.lambdas[1:]]
        model.set_classifier(MultiHead(heads, "mean_logits"))
        return model

    def prepare(self, ctx: EpochContext) -> None:
        self._offsets = torch.tensor(self.lambdas)[:, None] * log_prior(ctx.class_counts)[None, :]

    def head_losses(
        self, head_logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        offsets = torch.zeros(len(self.lambdas), self.n_classes) if self._offsets is None else self._offsets
        adjusted = head_logits + offsets.to(device=head_logits.device, dtype=head_logits.dtype)
        return -F.log_softmax(adjusted, dim=2).mean(dim=1)

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        raise TypeError("balpoe trains a multi-head model: its loss is head_losses")


@STRATEGIES.implement
class RoutingDiverseExperts(RoutingDiverseExpertsDeclaration, Strategy):
    """``ride`` (:class:`~imbalance_lab.declarations.strategies.experts.RoutingDiverseExpertsDeclaration`):
    cosine-classifier experts, each with the LDAM-DRW loss and the diversity term."""

    # learned from the arm's counts in prepare; before it, zero margins, unit weights and temperatures T
    _margins: torch.Tensor | None = None  # LDAM's margins
    _weights: torch.Tensor | None = None  # the effective-number weights (after the switch)
    _temperatures: torch.Tensor | None = None  # the distribution-aware temperatures (after the switch)

    def adapt_model(self, model: nn.Module) -> nn.Module:
        model = _image_classifier(model, self.name)
        heads = [CosineClassifier(model.num_features, model.n_outputs, self.scale) for _ in range(self.experts)]
        model.set_classifier(MultiHead(heads, "mean_logits"))
        return model

    def prepare(self, ctx: EpochContext) -> None:
        self._margins = ldam_margins(ctx.class_counts, self.max_margin)
        self._weights = effective_number_weights(ctx.class_counts, 0.9999)
        prior = ctx.prior.to(torch.float64)
        aware = self.alpha * ctx.n_classes * prior + 1 - self.alpha
        self._temperatures = (self.temperature * aware / aware.max()).to(torch.float32)

    def head_losses(
        self, head_logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        on = ctx.deferred(self.start)
        device, dtype = head_logits.device, head_logits.dtype
        margins = torch.zeros(self.n_classes) if self._margins is None else self._margins
        weights = torch.ones(self.n_classes) if self._weights is None else self._weights
        temperatures = (
            torch.full((self.n_classes,), self.temperature) if self._temperatures is None else self._temperatures
        )
        shift = torch.diag((self.scale * margins).to(device=device, dtype=dtype))
        # LDAM per expert: B×K×C×C, row c the logits with s·Δ_c taken from the c-th; C and K are small
        ldam = -F.log_softmax(head_logits.unsqueeze(2) - shift, dim=3).diagonal(dim1=2, dim2=3)
        if on:
            ldam = ldam * weights.to(device=device, dtype=dtype)
        temps = (temperatures if on else torch.full_like(temperatures, self.temperature)).to(device=device, dtype=dtype)
        consensus = F.softmax(head_logits.mean(dim=1, keepdim=True).detach() / temps, dim=2)
        log_each = F.log_softmax(head_logits / temps, dim=2)
        kl = (consensus * (torch.log(consensus.clamp(min=1e-30)) - log_each)).sum(dim=2)  # B×K
        term = self.diversity * float(temps.mean()) ** 2 * kl
        return (ldam + term.unsqueeze(2)).sum(dim=1)

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        raise TypeError("ride trains a multi-head model: its loss is head_losses")
