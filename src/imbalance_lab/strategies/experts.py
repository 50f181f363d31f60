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

from collections.abc import Sequence
from typing import Annotated, Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from imbalance_lab.models.base import CosineClassifier, ImageClassifier, MultiHead
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy
from imbalance_lab.strategies.effective_number import effective_number_weights
from imbalance_lab.strategies.ldam import ldam_margins
from imbalance_lab.strategies.logit_adjustment import log_prior

Experts = Annotated[int, Field(ge=1, le=16)]


def _image_classifier(model: nn.Module, who: str) -> ImageClassifier:
    if not isinstance(model, ImageClassifier):
        raise TypeError(f"{who} needs a model with a replaceable classifier, got {type(model).__name__}")
    return model


@STRATEGIES.register
class BalancedProductOfExperts(Strategy):
    """BalPoE: experts trained with logit adjustment at strengths λ_k, their logits averaged.

    Expert ``k``'s loss is cross-entropy on ``z_k + λ_k · log π`` (π the training
    prior): its logits fit the test prior ``∝ π^(1 − λ_k)``. The arm's loss is the
    mean over experts; the model predicts the mean of the experts' logits, which
    fits ``π^(1 − λ̄)``: balanced when ``λ̄ = 1`` (a product of experts). The
    default λ = (0, 1, 2) is the authors' CIFAR setting (their ImageNet-LT one
    is (0, 1.25, 2.5)); they also train with mixup (``[balpoe, mixup]``) and
    cosine classifiers. Expert 1 is the model's own classifier, the others fresh
    heads of the same kind.

    Parameters
    ----------
    lambdas : list of float
        One logit-adjustment strength per expert ((0, 1, 2)); their mean sets the prior predicted for.

    References
    ----------
    Sanchez Aimar, E., Jonnarth, A., Felsberg, M. and Kuhlmann, M. (2023). Balanced product of calibrated
    experts for long-tailed recognition. CVPR. arXiv:2206.05260.
    """

    name = "balpoe"
    roles = frozenset({"loss", "classifier_norm"})

    def __init__(
        self,
        class_names: Sequence[str],
        lambdas: Annotated[tuple[Annotated[float, Field(ge=-10, le=10)], ...], Field(min_length=1, max_length=16)] = (
            0.0,
            1.0,
            2.0,
        ),
    ) -> None:
        super().__init__(class_names)
        self.lambdas = [float(x) for x in lambdas]
        self._offsets = torch.zeros(len(self.lambdas), self.n_classes)

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
        adjusted = head_logits + self._offsets.to(device=head_logits.device, dtype=head_logits.dtype)
        return -F.log_softmax(adjusted, dim=2).mean(dim=1)

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        raise TypeError("balpoe trains a multi-head model: its loss is head_losses")

    def params(self) -> dict[str, Any]:
        return {"lambdas": self.lambdas}


@STRATEGIES.register
class RoutingDiverseExperts(Strategy):
    """RIDE (without its router): experts trained with LDAM-DRW, pushed apart by a diversity term.

    Each expert ``i`` has a cosine classifier (logits ``s · cos θ``) and the loss
    is the sum over experts of ``LDAM-DRW(z_i, y) + w · T̄² · KL(p̄ ‖ p_i)``, with
    ``p_i = softmax(z_i / T_c)`` and ``p̄ = softmax(z̄ / T_c)`` of the experts' mean
    logits ``z̄`` (held fixed: no gradient through it). ``w`` is negative, so the
    experts are rewarded for disagreeing with their consensus. From ``start`` on
    (DRW's switch), the class weights are the effective-number ones (β = 0.9999,
    ``Σ w_c = C``) on the LDAM term only, and the temperatures become
    distribution-aware, ``T_c = T · β_c``, ``β_c = (α C π_c + 1 − α) / max_c'(α C π_c' + 1 − α)``
    (frequent classes hotter); before, ``T_c = T``. ``T̄`` is the mean of ``T_c``.
    The model predicts the mean of the experts' logits (the router, an optional
    second stage in the paper that skips experts for easy images, is not built).

    Parameters
    ----------
    experts : int >= 1
        How many experts (3).
    diversity : float
        ``w``, the diversity term's weight (−0.2; the authors use −0.45 on CIFAR-100-LT).
    temperature : float > 0
        ``T`` (1.0).
    alpha : float in [0, 1]
        How much the temperatures follow the prior after ``start`` (0.05).
    start : float in [0, 1)
        DRW's switch as a fraction of the epochs (0.8: epoch 160 of 200).
    max_margin : float > 0
        LDAM's largest margin (0.5).
    scale : float > 0
        The cosine classifiers' ``s`` (30).

    References
    ----------
    Wang, X., Lian, L., Miao, Z., Liu, Z. and Yu, S. X. (2021). Long-tailed recognition by routing diverse
    distribution-aware experts. ICLR. arXiv:2010.01809.
    """

    name = "ride"
    roles = frozenset({"loss", "classifier_norm"})

    def __init__(
        self,
        class_names: Sequence[str],
        experts: Experts = 3,
        diversity: Annotated[float, Field(ge=-10, le=10)] = -0.2,
        temperature: Annotated[float, Field(gt=0, le=100)] = 1.0,
        alpha: Annotated[float, Field(ge=0, le=1)] = 0.05,
        start: Annotated[float, Field(ge=0, lt=1)] = 0.8,
        max_margin: Annotated[float, Field(gt=0, le=5)] = 0.5,
        scale: Annotated[float, Field(gt=0, le=1000)] = 30.0,
    ) -> None:
        super().__init__(class_names)
        self.experts, self.diversity, self.temperature, self.alpha = experts, diversity, temperature, alpha
        self.start, self.max_margin, self.scale = start, max_margin, scale
        self._margins = torch.zeros(self.n_classes)
        self._weights = torch.ones(self.n_classes)
        self._temperatures = torch.full((self.n_classes,), temperature)

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
        shift = torch.diag((self.scale * self._margins).to(device=device, dtype=dtype))
        # LDAM per expert: B×K×C×C, row c the logits with s·Δ_c taken from the c-th; C and K are small
        ldam = -F.log_softmax(head_logits.unsqueeze(2) - shift, dim=3).diagonal(dim1=2, dim2=3)
        if on:
            ldam = ldam * self._weights.to(device=device, dtype=dtype)
        temps = (self._temperatures if on else torch.full_like(self._temperatures, self.temperature)).to(
            device=device, dtype=dtype
        )
        consensus = F.softmax(head_logits.mean(dim=1, keepdim=True).detach() / temps, dim=2)
        log_each = F.log_softmax(head_logits / temps, dim=2)
        kl = (consensus * (torch.log(consensus.clamp(min=1e-30)) - log_each)).sum(dim=2)  # B×K
        term = self.diversity * float(temps.mean()) ** 2 * kl
        return (ldam + term.unsqueeze(2)).sum(dim=1)

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        raise TypeError("ride trains a multi-head model: its loss is head_losses")

    def params(self) -> dict[str, Any]:
        return {
            "experts": self.experts,
            "diversity": self.diversity,
            "temperature": self.temperature,
            "alpha": self.alpha,
            "start": self.start,
            "max_margin": self.max_margin,
            "scale": self.scale,
        }
