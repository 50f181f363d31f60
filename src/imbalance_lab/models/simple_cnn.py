"""The seeds' small CNN: three conv+pool blocks and a dense head (seeds 000/001)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal, cast

from torch import nn

from imbalance_lab.declarations.models.base import pooled_size
from imbalance_lab.declarations.models.simple_cnn import SEED_000_DROPOUT as SEED_000_DROPOUT
from imbalance_lab.models.base import MODELS, Dropout, ImageClassifier, InputNorm


@MODELS.implement
def simple_cnn(
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    width: int,
    hidden: int,
    dropout: float,
    head_dropout: float,
    init: Literal["he", "torch"],
) -> ImageClassifier:
    """``simple_cnn`` (:func:`~imbalance_lab.declarations.models.simple_cnn.simple_cnn`): the network, with
    seed 000's or PyTorch's initialisation."""
    h, w = pooled_size(image_size)

    def block(k: int, c_in: int, c_out: int, drop: float) -> list[tuple[str, nn.Module]]:
        # Pooling before the ReLU gives the same outputs and gradients bit for bit (max and ReLU commute: both
        # are monotone, and ReLU's zero gradient falls where the window's maximum is not positive), with the
        # ReLU on a quarter of the values: about 1.1x the training throughput on CPU (docs/benchmarks.md).
        layers: list[tuple[str, nn.Module]] = [
            (f"conv{k}", nn.Conv2d(c_in, c_out, 3, padding=1)),
            (f"pool{k}", nn.MaxPool2d(2)),
            (f"relu{k}", nn.ReLU(inplace=True)),
        ]
        return layers + ([(f"drop{k}", Dropout(drop))] if drop > 0 else [])

    # named layers: a state dict's keys do not depend on which dropout layers exist (weights saved by a model
    # without dropout load into one with it)
    backbone = nn.Sequential(
        OrderedDict(
            [
                ("norm", InputNorm.signed(in_channels)),  # [0, 1] to [-1, 1], as the seeds scale their images
                *block(1, in_channels, width, dropout),
                *block(2, width, 2 * width, dropout),
                *block(3, 2 * width, 4 * width, 0.0),
                ("flatten", nn.Flatten()),
                ("fc", nn.Linear(4 * width * h * w, hidden)),
                ("relu_fc", nn.ReLU()),
            ]
        )
    )
    convs = [i for i, m in enumerate(backbone) if isinstance(m, nn.Conv2d)]
    stages = (backbone[convs[0] : convs[1]], backbone[convs[1] : convs[2]], backbone[convs[2] :])
    model = ImageClassifier(backbone, hidden, n_outputs, head_dropout, stages=stages)
    if init == "he":
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
                nn.init.zeros_(cast(nn.Parameter, module.bias))  # every layer here has a bias
    return model
