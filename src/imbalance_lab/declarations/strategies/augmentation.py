"""``augment`` declared: which transforms, on which classes' images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration
from imbalance_lab.declarations.strategies.transforms import DEFAULT_TRANSFORMS, parse_transforms


@STRATEGIES.declare
class AugmentDeclaration(StrategyDeclaration):
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

    def params(self) -> dict[str, Any]:
        return {"transforms": dict(self.transforms), "classes": self.classes}
