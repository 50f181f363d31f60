"""Balanced contrastive learning: a supervised contrastive term on two views, balanced across classes.

``bcl`` (Zhu et al. 2022) trains on two augmented views of every batch (the
``views`` seam): the logit-adjusted cross-entropy of the first view's logits,
plus a supervised contrastive loss on projections of both views' features in
which every class counts alike (class-averaged) and appears in every batch
through a prototype (class-complement). The projection heads are trained with
the model and unused at prediction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.declarations.strategies.contrastive import (
    BalancedContrastiveDeclaration,
    SupervisedContrastiveDeclaration,
    TwoViewsDeclaration,
)
from imbalance_lab.models.base import ImageClassifier
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy
from imbalance_lab.strategies.image_transforms import apply_transforms
from imbalance_lab.strategies.logit_adjustment import log_prior


def projection_head(features: int, dim: int) -> nn.Sequential:
    """BCL's MLP: ``Linear(F, F) → BatchNorm → ReLU → Linear(F, dim)``."""
    return nn.Sequential(nn.Linear(features, features), nn.BatchNorm1d(features), nn.ReLU(), nn.Linear(features, dim))


def balanced_contrastive_loss(
    anchors: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor, temperature: float
) -> torch.Tensor:
    """BCL's per-anchor loss (length 2B) from L2-normalised projections ``anchors`` (2B×d, the two views of
    the batch, labels ``labels`` for each row) and class ``prototypes`` (C×d).

    The columns are the anchors and the prototypes (labels ``0..C−1``); for anchor ``i`` the self column
    is left out, the positives ``P(i)`` are every other column of its class (its other view, its class's
    other images, its prototype), and with ``s_ik = z_i · z_k / τ``:
    ``L_i = −(1/|P(i)|) Σ_{p∈P(i)} [s_ip − log Σ_j (1/|B_j|) Σ_{k∈B_j, k≠i} exp(s_ik)]``, where ``|B_j|`` counts
    class ``j``'s columns (images of both views and the prototype) less the anchor itself for its own class.
    """
    n, classes = anchors.shape[0], prototypes.shape[0]
    columns = torch.cat([anchors, prototypes])
    column_labels = torch.cat([labels, torch.arange(classes, device=labels.device)])
    similarity = anchors @ columns.T / temperature
    similarity = similarity - similarity.max(dim=1, keepdim=True).values.detach()  # exp-safe; the loss is unchanged
    self_column = torch.zeros_like(similarity, dtype=torch.bool)
    self_column[torch.arange(n), torch.arange(n)] = True
    same = labels[:, None] == column_labels[None, :]
    positives = same & ~self_column
    counts = torch.bincount(column_labels, minlength=classes).to(similarity.dtype)
    sizes = counts[column_labels][None, :] - same.to(similarity.dtype)  # |B_j|, less the anchor for its own class
    weighted = torch.exp(similarity) / sizes
    log_denominator = torch.log(weighted.masked_fill(self_column, 0.0).sum(dim=1))
    positive_terms = (similarity - log_denominator[:, None]).masked_fill(~positives, 0.0).sum(dim=1)
    return -positive_terms / positives.sum(dim=1).to(similarity.dtype)


class _TwoViews(TwoViewsDeclaration, Strategy):
    """What the contrastive strategies share when they train (their parameters are declared by
    :class:`~imbalance_lab.declarations.strategies.contrastive.TwoViewsDeclaration`): two views of each
    batch, each drawn by ``transforms``."""

    def views(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return apply_transforms(x, self.transforms, generator), apply_transforms(x, self.transforms, generator)


@STRATEGIES.implement
class BalancedContrastive(BalancedContrastiveDeclaration, _TwoViews):
    """``bcl`` (:class:`~imbalance_lab.declarations.strategies.contrastive.BalancedContrastiveDeclaration`):
    projection and prototype heads added to the model, the logit-adjusted cross-entropy and the balanced
    contrastive term of the two views."""

    _log_prior: torch.Tensor  # log π, set in prepare()

    def adapt_model(self, model: nn.Module) -> nn.Module:
        if not isinstance(model, ImageClassifier) or not isinstance(model.get_classifier(), nn.Linear):
            raise TypeError("bcl needs a model whose classifier is a linear layer")
        model.add_module("contrastive_head", projection_head(model.num_features, self.dim))
        model.add_module("prototype_head", projection_head(model.num_features, self.dim))
        return model

    def prepare(self, ctx: EpochContext) -> None:
        self._log_prior = log_prior(ctx.class_counts)

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        return -self.alpha * F.log_softmax(logits + self._log_prior.to(logits.device, logits.dtype), dim=1)

    def view_losses(
        self, features: torch.Tensor, labels: torch.Tensor, model: nn.Module, ctx: EpochContext
    ) -> torch.Tensor:
        if not isinstance(model, ImageClassifier):
            raise TypeError("bcl needs an ImageClassifier")
        anchors = F.normalize(model.get_submodule("contrastive_head")(features), dim=1)
        weight = model.get_classifier().weight
        prototypes = F.normalize(model.get_submodule("prototype_head")(weight.to(features.dtype)), dim=1)
        per_anchor = balanced_contrastive_loss(anchors, torch.cat([labels, labels]), prototypes, self.temperature)
        return self.beta * per_anchor.view(2, -1).mean(dim=0)


def supervised_contrastive_loss(anchors: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """SupCon's per-anchor loss (Khosla et al. 2020, their L_out): with ``s_ik = z_i · z_k / τ`` over the
    other anchors ``k ≠ i``, ``L_i = −(1/|P(i)|) Σ_{p∈P(i)} log(exp(s_ip) / Σ_{k≠i} exp(s_ik))``, ``P(i)`` the
    other anchors of ``i``'s class (at least its other view)."""
    n = anchors.shape[0]
    similarity = anchors @ anchors.T / temperature
    similarity = similarity - similarity.max(dim=1, keepdim=True).values.detach()
    self_column = torch.eye(n, dtype=torch.bool, device=anchors.device)
    positives = (labels[:, None] == labels[None, :]) & ~self_column
    log_denominator = torch.logsumexp(similarity.masked_fill(self_column, float("-inf")), dim=1)
    positive_terms = (similarity - log_denominator[:, None]).masked_fill(~positives, 0.0).sum(dim=1)
    return -positive_terms / positives.sum(dim=1).to(similarity.dtype)


@STRATEGIES.implement
class SupervisedContrastive(SupervisedContrastiveDeclaration, _TwoViews):
    """``supcon`` (:class:`~imbalance_lab.declarations.strategies.contrastive.SupervisedContrastiveDeclaration`):
    a projection head added to the model, the cross-entropy and the supervised contrastive term of the two
    views."""

    def adapt_model(self, model: nn.Module) -> nn.Module:
        if not isinstance(model, ImageClassifier):
            raise TypeError("supcon needs an ImageClassifier")
        model.add_module("contrastive_head", projection_head(model.num_features, self.dim))
        return model

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        return -self.alpha * F.log_softmax(logits, dim=1)

    def view_losses(
        self, features: torch.Tensor, labels: torch.Tensor, model: nn.Module, ctx: EpochContext
    ) -> torch.Tensor:
        anchors = F.normalize(model.get_submodule("contrastive_head")(features), dim=1)
        per_anchor = supervised_contrastive_loss(anchors, torch.cat([labels, labels]), self.temperature)
        return self.beta * per_anchor.view(2, -1).mean(dim=0)
