"""Backbones from timm, declared: the named ones and ``timm_model``, their parameters and published weights.
:mod:`imbalance_lab.models.backbones` implements them (and checks what needs timm's metadata, such as the
channels a pretrained network takes).

``resnet18``, ``resnet50``, ``efficientnet_b0``, ``mobilenetv3_large_100``,
``convnext_tiny`` and ``xception`` (seed 002's network: timm's port of Keras'
Xception, ``legacy_xception``) are declared under their names; ``timm_model`` takes
any other timm architecture as ``arch``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from imbalance_lab.declarations.models.base import MODELS

# our name -> timm's architecture name
NAMED = {
    "resnet18": "resnet18",
    "resnet50": "resnet50",
    "efficientnet_b0": "efficientnet_b0",
    "mobilenetv3_large_100": "mobilenetv3_large_100",
    "convnext_tiny": "convnext_tiny",
    "xception": "legacy_xception",
}

MIN_SIDE = 32  # the smallest side a timm backbone is given from scratch (its stages downsample 32×)
InputSize = Annotated[int, Field(ge=8, le=1024)] | None
DropoutRate = Annotated[float, Field(ge=0, lt=1)]


def _declare(name: str, arch: str) -> None:
    def declaration(
        in_channels: int,
        image_size: tuple[int, int],
        n_outputs: int,
        pretrained: bool = False,
        input_size: InputSize = None,
        head_dropout: DropoutRate = 0.0,
    ) -> None:
        return None

    declaration.__name__ = declaration.__qualname__ = name
    what = f"timm's {arch}" + (" (Keras' Xception ported, seed 002's network)" if name == "xception" else "")
    declaration.__doc__ = (
        f"{what} under a new head sized to the task.\n\n``pretrained: true`` (the spec's "
        f"model.pretrained): its published ImageNet weights; ``input_size``: the side images are resized to "
        f"(default: the weights' input size when pretrained, else the data's, enlarged to at least "
        f"{MIN_SIDE}); "
        f"``head_dropout`` before the classifier."
    )
    declaration.published_weights = True  # type: ignore[attr-defined]
    MODELS.declare(declaration)


for _name, _arch in NAMED.items():
    _declare(_name, _arch)


@MODELS.declare
def timm_model(
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    arch: str = "resnet18",
    pretrained: bool = False,
    input_size: InputSize = None,
    head_dropout: DropoutRate = 0.0,
) -> None:
    """Any timm architecture by its timm name (``arch``), under a new head sized to the task.

    Parameters as the named backbones'."""
    return None


timm_model.published_weights = True
