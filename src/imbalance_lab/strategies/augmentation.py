"""``augment``: batched, seeded image augmentation of all classes or the minority only.

With ``oversample`` in the same arm (``[oversample, augment]``) the repeated
minority images are seen under fresh random transforms: augmented oversampling.
"""

from __future__ import annotations

import torch

from imbalance_lab.declarations.strategies.augmentation import AugmentDeclaration
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy
from imbalance_lab.strategies.image_transforms import apply_transforms


@STRATEGIES.implement
class Augment(AugmentDeclaration, Strategy):
    """``augment`` (:class:`~imbalance_lab.declarations.strategies.augmentation.AugmentDeclaration`): the
    chosen classes' images in each batch transformed."""

    _augmented: torch.Tensor | None = None  # learned in prepare(): which classes get transformed

    def prepare(self, ctx: EpochContext) -> None:
        train_counts, positive = ctx.class_counts, ctx.positive
        if self.classes == "all":
            chosen = torch.ones(self.n_classes, dtype=torch.bool)
        elif self.classes == "minority":
            chosen = torch.zeros(self.n_classes, dtype=torch.bool)
            if positive is not None:
                chosen[positive] = True
            else:
                chosen = train_counts < train_counts.max()
        else:
            chosen = torch.tensor([c in self.classes for c in self.class_names])
        self._augmented = chosen

    def augment_batch(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        if self._augmented is None:
            raise RuntimeError("Augment.prepare() must run before augment_batch()")
        mask = self._augmented.to(y.device)[y]
        return apply_transforms(x, self.transforms, generator, mask=mask)
