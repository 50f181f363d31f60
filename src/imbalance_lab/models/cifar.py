"""Networks trained from scratch on small images: seed 004's ConvNet and the CIFAR ResNets.

``convnet_bn`` is seed 004's ConvNet with batch normalisation; ``resnet20``,
``resnet32`` and ``resnet56`` are He et al. 2016's CIFAR ResNets (section 4.2),
the 3-stage variant the long-tail literature trains (Cao et al. 2019's LDAM-DRW
uses ResNet-32). Their parameters and checks are declared in
:mod:`imbalance_lab.declarations.models.cifar`.
"""

from __future__ import annotations

from typing import Literal, cast

import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.declarations.models.cifar import resolved_pool
from imbalance_lab.models.base import MODELS, ImageClassifier, InputNorm


@MODELS.implement
def convnet_bn(
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    pool: Literal["auto", "seed", "global"],
) -> ImageClassifier:
    """``convnet_bn`` (:func:`~imbalance_lab.declarations.models.cifar.convnet_bn`): the network, with the
    seed's pooling where it applies (``auto``) and the seed's initialisation."""
    pool = resolved_pool(image_size, pool)

    def pair(c_in: int, c_out: int) -> list[nn.Module]:
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(c_out),
            nn.Conv2d(c_out, c_out, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(c_out),
        ]

    backbone = nn.Sequential(
        InputNorm.signed(in_channels),
        *pair(in_channels, 8),
        *pair(8, 32),
        *pair(32, 128),
        nn.AvgPool2d(3) if pool == "seed" else nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    model = ImageClassifier(backbone, 128, n_outputs, stages=(backbone[1:8], backbone[8:15], backbone[15:22]))
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.constant_(cast(nn.Parameter, module.bias), 0.01)  # every conv and linear layer here has a bias
    return model


class _BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch normalisation and a shortcut (He et al. 2016's option A on CIFAR:
    identity, or, where the block halves the map and widens it, the input subsampled by 2 with zero
    channels appended; no parameters)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.stride, self.pad = stride, c_out - c_in

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def cifar_resnet(depth: int, in_channels: int, n_outputs: int, width: int = 16) -> ImageClassifier:
    """He et al. 2016's CIFAR ResNet of ``depth`` = 6n + 2 layers: a 3×3 convolution to ``width``
    channels, three stages of n basic blocks (``width``, 2·``width``, 4·``width`` channels; the second
    and third start with stride 2), global average pooling, and a linear classifier. Kaiming-normal
    initialisation of convolutions and the classifier, as in He et al. and Cao et al. 2019's code."""
    if (depth - 2) % 6 != 0 or depth < 8:
        raise ValueError(f"a CIFAR ResNet's depth is 6n + 2 (20, 32, 56, 110), got {depth}")
    n = (depth - 2) // 6
    stem = nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
    )
    stages, c_in = [], width
    for i, c_out in enumerate((width, 2 * width, 4 * width)):
        blocks = [_BasicBlock(c_in if j == 0 else c_out, c_out, 2 if (i > 0 and j == 0) else 1) for j in range(n)]
        stages.append(nn.Sequential(*blocks))
        c_in = c_out
    backbone = nn.Sequential(InputNorm.signed(in_channels), stem, *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = ImageClassifier(backbone, 4 * width, n_outputs, stages=(stem, *stages))
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight)
    return model


@MODELS.implement
def resnet20(in_channels: int, image_size: tuple[int, int], n_outputs: int, width: int) -> ImageClassifier:
    """``resnet20`` (:func:`~imbalance_lab.declarations.models.cifar.resnet20`): :func:`cifar_resnet` of depth 20."""
    return cifar_resnet(20, in_channels, n_outputs, width)


@MODELS.implement
def resnet32(in_channels: int, image_size: tuple[int, int], n_outputs: int, width: int) -> ImageClassifier:
    """``resnet32`` (:func:`~imbalance_lab.declarations.models.cifar.resnet32`): :func:`cifar_resnet` of depth 32."""
    return cifar_resnet(32, in_channels, n_outputs, width)


@MODELS.implement
def resnet56(in_channels: int, image_size: tuple[int, int], n_outputs: int, width: int) -> ImageClassifier:
    """``resnet56`` (:func:`~imbalance_lab.declarations.models.cifar.resnet56`): :func:`cifar_resnet` of depth 56."""
    return cifar_resnet(56, in_channels, n_outputs, width)
