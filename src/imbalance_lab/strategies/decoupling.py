"""Decoupled training: learn the features on the data as they are, then re-balance the classifier.

``crt`` re-trains a fresh classifier on the frozen backbone with class-balanced
sampling; ``lws`` keeps the classifier and learns one scale per class on it;
``tau_norm`` rescales the finished classifier's class weights. All three
leave the main stage as it is (instance sampling, cross-entropy, unless the arm
adds other strategies).
"""

from __future__ import annotations

import torch
from torch import nn

from imbalance_lab.declarations.strategies.decoupling import (
    ClassifierRetrainingDeclaration,
    LearnableWeightScalingDeclaration,
    TauNormalisationDeclaration,
)
from imbalance_lab.models.base import ImageClassifier
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


@STRATEGIES.implement
class ClassifierRetraining(ClassifierRetrainingDeclaration, Strategy):
    """``crt`` (:class:`~imbalance_lab.declarations.strategies.decoupling.ClassifierRetrainingDeclaration`):
    its stage (declared) trains the classifier; the main stage is left as it is."""

    def plain_epochs(self, epochs: int) -> int | None:
        return epochs  # the main stage is left as it is


@STRATEGIES.implement
class LearnableWeightScaling(LearnableWeightScalingDeclaration, ClassifierRetraining):
    """``lws`` (:class:`~imbalance_lab.declarations.strategies.decoupling.LearnableWeightScalingDeclaration`):
    cRT's stage, training one scale per class on the kept classifier."""


@STRATEGIES.implement
class TauNormalisation(TauNormalisationDeclaration, Strategy):
    """``tau_norm`` (:class:`~imbalance_lab.declarations.strategies.decoupling.TauNormalisationDeclaration`):
    the finished classifier's class weights divided by their norms to the power ``τ``, its bias zeroed."""

    @torch.no_grad()
    def finish_model(self, model: nn.Module, ctx: EpochContext) -> None:
        if not isinstance(model, ImageClassifier) or not isinstance(model.classifier, nn.Linear):
            raise TypeError("tau_norm needs a model whose classifier is a linear layer")
        weight = model.classifier.weight
        weight.div_(weight.norm(dim=1, keepdim=True).clamp(min=1e-12) ** self.tau)
        if model.classifier.bias is not None:
            model.classifier.bias.zero_()

    def plain_epochs(self, epochs: int) -> int | None:
        return epochs  # only the finished model changes
