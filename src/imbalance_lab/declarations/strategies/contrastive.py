"""``bcl`` and ``supcon`` declared: the loss weights, temperature, projection size and views of the two
contrastive strategies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration
from imbalance_lab.declarations.strategies.transforms import parse_transforms

VIEW_TRANSFORMS: dict[str, dict[str, Any]] = {
    "crop": {"padding": 2},
    "flip": {"p": 0.5},
    "color": {"brightness": 0.4, "contrast": 0.4},
}


class TwoViewsDeclaration(StrategyDeclaration):
    """What the contrastive strategies share: their weights, temperature, projection size and views (each
    view drawn by ``transforms``); the loss of an example is ``α`` times its first view's cross-entropy term
    plus ``β`` times its contrastive term."""

    roles = frozenset({"loss", "views"})

    def __init__(
        self,
        class_names: Sequence[str],
        alpha: Annotated[float, Field(ge=0, le=100)] = 1.0,
        beta: Annotated[float, Field(ge=0, le=100)] = 0.35,
        temperature: Annotated[float, Field(gt=0, le=10)] = 0.07,
        dim: Annotated[int, Field(ge=1, le=4096)] = 128,
        transforms: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> None:
        super().__init__(class_names)
        self.alpha, self.beta, self.temperature, self.dim = alpha, beta, temperature, dim
        self.transforms = parse_transforms(VIEW_TRANSFORMS if transforms is None else transforms)

    def params(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "temperature": self.temperature,
            "dim": self.dim,
            "transforms": dict(self.transforms),
        }


@STRATEGIES.declare
class BalancedContrastiveDeclaration(TwoViewsDeclaration):
    """BCL: logit-adjusted cross-entropy plus a class-balanced supervised contrastive loss on two views.

    Each batch is seen in two views (``transforms``, then the arm's own augmentations). The loss of an
    example is ``α · CE(z + log π)`` on its first view's logits (the logit compensation; predictions use
    ``z``) plus ``β`` times the mean over its two views of the balanced contrastive loss (see
    :func:`imbalance_lab.strategies.contrastive.balanced_contrastive_loss`) at temperature ``τ``, on
    projections ``h(f)`` of the backbone's features (an MLP, L2-normalised) with class prototypes
    ``h'(w_c)`` from the classifier's weights through a second MLP (normalised; the contrastive term trains
    the classifier's weights through them).
    Both MLPs are dropped at prediction. The authors' code computes the cross-entropy on a third view with
    stronger augmentation (RandAugment) and uses a cosine classifier; here the first view serves and the
    classifier is the model's own.

    Parameters
    ----------
    alpha : float >= 0
        The cross-entropy's weight (1.0).
    beta : float >= 0
        The contrastive term's weight (0.35).
    temperature : float > 0
        ``τ`` (0.07).
    dim : int >= 1
        The projections' size (128).
    transforms : mapping of transform name to parameters
        How each view is drawn (default ``{crop: {padding: 2}, flip: {p: 0.5}, color: {brightness: 0.4,
        contrast: 0.4}}``, the transforms of ``augment``).

    References
    ----------
    Zhu, J., Wang, Z., Chen, J., Chen, Y.-P. P. and Jiang, Y.-G. (2022). Balanced contrastive learning for
    long-tailed visual recognition. CVPR. arXiv:2207.09052.
    """

    name = "bcl"


@STRATEGIES.declare
class SupervisedContrastiveDeclaration(TwoViewsDeclaration):
    """SupCon hybrid: cross-entropy plus a supervised contrastive loss on two views (no class balancing).

    The loss of an example is ``α · CE(z)`` on its first view's logits plus ``β`` times the mean over its
    two views of the supervised contrastive loss (see
    :func:`imbalance_lab.strategies.contrastive.supervised_contrastive_loss`) at temperature ``τ`` on
    projections of the backbone's features (an MLP, L2-normalised, dropped at prediction). Every
    image of the batch counts alike in the denominator, so frequent classes dominate it: the baseline BCL
    balances. ``[supcon, logit_adjusted]`` is refused (both own the loss); ``bcl`` is that combination with
    balancing.

    Parameters
    ----------
    alpha : float >= 0
        The cross-entropy's weight (1.0).
    beta : float >= 0
        The contrastive term's weight (0.35, as ``bcl``).
    temperature : float > 0
        ``τ`` (0.07).
    dim : int >= 1
        The projections' size (128).
    transforms : mapping of transform name to parameters
        How each view is drawn (as ``bcl``'s).

    References
    ----------
    Khosla, P., Teterwak, P., Wang, C., Sarna, A., Tian, Y., Isola, P., Maschinot, A., Liu, C. and Krishnan, D.
    (2020). Supervised contrastive learning. NeurIPS. arXiv:2004.11362.
    """

    name = "supcon"
