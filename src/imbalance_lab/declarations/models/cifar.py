"""Networks trained from scratch on small images, declared: seed 004's ConvNet and the CIFAR ResNets, their
parameters and smallest inputs. :mod:`imbalance_lab.models.cifar` implements them.

``convnet_bn`` is seed 004's ConvNet with batch normalisation; ``resnet20``,
``resnet32`` and ``resnet56`` are He et al. 2016's CIFAR ResNets (section 4.2),
the 3-stage variant the long-tail literature trains (Cao et al. 2019's LDAM-DRW
uses ResNet-32).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from imbalance_lab.declarations.models.base import MODELS, pooled_size


def seed_pool_fits(image_size: tuple[int, int]) -> bool:
    """Whether seed 004's 3×3 average pooling applies: the last map (after three halvings) is 3 to 5 pixels a
    side, as for 24 to 47 pixel inputs."""
    h, w = pooled_size(image_size)
    return 3 <= h <= 5 and 3 <= w <= 5


def resolved_pool(image_size: tuple[int, int], pool: Literal["auto", "seed", "global"]) -> Literal["seed", "global"]:
    """The pooling ``convnet_bn`` uses: ``auto`` is the seed's where it applies (:func:`seed_pool_fits`), else
    global."""
    if pool == "auto":
        return "seed" if seed_pool_fits(image_size) else "global"
    return pool


@MODELS.declare
def convnet_bn(
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    pool: Literal["auto", "seed", "global"] = "auto",
) -> None:
    """Seed 004's ConvNet with batch normalisation: six 3×3 convolutions (8 to 128 channels), 0.2 M parameters.

    Three pairs of 3×3 convolutions (8, 8 | 32, 32 | 128, 128 channels), each
    convolution followed by ReLU and batch normalisation, 2×2 max pooling after each
    pair's second ReLU; then a 1×1 convolution to one channel per class and 3×3
    average pooling.

    The seed's head (1×1 convolution, then ``AvgPool2d(3)``) is linear, so it equals
    average pooling of the 128 feature maps followed by a linear classifier: those are
    the features and the classifier here, and the logits are the seed's. ``pool``:
    ``seed``, the seed's 3×3 average over the top-left corner of the last map (for
    32×32 inputs the map is 4×4; the map must be 3 to 5 pixels wide, as for 24 to 47
    pixel inputs), ``global``, the average over the whole map (any size of at least
    8 pixels), or ``auto`` (the default): the seed's where it applies, else global. Weights are Xavier-uniform and biases 0.01, as the seed initialises
    them. The seed applies a softmax to its output and then ``CrossEntropyLoss``,
    which applies another; here the model returns logits and the loss is the
    strategy's.
    """
    if pool == "seed" and not seed_pool_fits(image_size):
        raise ValueError(
            f"convnet_bn with pool: seed needs images 24 to 47 pixels a side (its last map 3 to 5 "
            f"pixels, pooled 3×3 as seed 004 does), got {image_size[0]}×{image_size[1]}; "
            f"set model.params.pool: global for other sizes"
        )
    h, w = pooled_size(image_size)
    if h < 1 or w < 1:
        raise ValueError(f"convnet_bn needs images of at least 8×8 pixels, got {image_size[0]}×{image_size[1]}")
    return None


Width = Annotated[int, Field(ge=1, le=256)]


@MODELS.declare
def resnet20(in_channels: int, image_size: tuple[int, int], n_outputs: int, width: Width = 16) -> None:
    """He et al. 2016's CIFAR ResNet-20 (3 blocks a stage, 16/32/64 channels at ``width`` 16; 0.27 M parameters)."""
    return None


@MODELS.declare
def resnet32(in_channels: int, image_size: tuple[int, int], n_outputs: int, width: Width = 16) -> None:
    """He et al. 2016's CIFAR ResNet-32 (5 blocks a stage; 0.46 M parameters): Cao et al. 2019's for CIFAR-LT.

    The long-tail literature's network for CIFAR-10/100-LT."""
    return None


@MODELS.declare
def resnet56(in_channels: int, image_size: tuple[int, int], n_outputs: int, width: Width = 16) -> None:
    """He et al. 2016's CIFAR ResNet-56 (9 blocks a stage; 0.85 M parameters)."""
    return None


for _declared in (convnet_bn, resnet20, resnet32, resnet56):
    _declared.input_checked = True  # tests/test_declared_models.py checks it against the build
