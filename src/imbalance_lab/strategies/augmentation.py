"""``augment``: batched, seeded image augmentation of all classes or the minority only.

With ``oversample`` in the same arm (``[oversample, augment]``) the repeated
minority images are seen under fresh random transforms: augmented oversampling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch

from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy
from imbalance_lab.strategies.image_transforms import apply_transforms, parse_transforms

DEFAULT_TRANSFORMS: dict[str, dict[str, Any]] = {"crop": {"padding": 2}, "flip": {"p": 0.5}}


@STRATEGIES.register
class Augment(Strategy):
    """Randomly transform training images each time a batch is drawn.

    Parameters
    ----------
    transforms : mapping of transform name to parameters
        In order, any of ``crop`` (``padding``), ``flip`` (``p``), ``affine``
        (``degrees``, ``translate``, ``scale``) and ``color`` (``brightness``,
        ``contrast``); default ``{crop: {padding: 2}, flip: {p: 0.5}}``.
    classes : ``"all"``, ``"minority"`` or a list of class names
        Which classes' images are transformed. ``minority`` is the positive class
        when the experiment names one, else every class with fewer training images
        than the largest.

    References
    ----------
    Krizhevsky, A., Sutskever, I. and Hinton, G. E. (2012). ImageNet classification
    with deep convolutional neural networks. NeurIPS. (random crops and flips)
    Shorten, C. and Khoshgoftaar, T. M. (2019). A survey on image data augmentation
    for deep learning. Journal of Big Data 6(60). (augmentation against imbalance)
    """

    name = "augment"

    def __init__(
        self,
        class_names: Sequence[str],
        transforms: Mapping[str, Mapping[str, Any] | None] | None = None,
        classes: Literal["all", "minority"] | list[str] = "all",
    ) -> None:
        super().__init__(class_names)
        self.transforms = parse_transforms(DEFAULT_TRANSFORMS if transforms is None else transforms)
        if isinstance(classes, list):
            unknown = [c for c in classes if c not in self.class_names]
            if unknown or not classes:
                raise ValueError(
                    f"classes: got {classes!r}; list classes among {', '.join(self.class_names)}, or use all / minority"
                )
        self.classes = classes
        self._augmented: torch.Tensor | None = None  # learned in prepare(): which classes get transformed

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

    def params(self) -> dict[str, Any]:
        return {"transforms": dict(self.transforms), "classes": self.classes}
