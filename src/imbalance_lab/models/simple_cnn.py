"""The seeds' small CNN: three conv+pool blocks and a dense head (seeds 000/001)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Literal, cast

from pydantic import Field
from torch import nn

from imbalance_lab.models.base import MODELS, Dropout, ImageClassifier, InputNorm

DropoutRate = Annotated[float, Field(ge=0, lt=1)]


@MODELS.register
def simple_cnn(
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    width: Annotated[int, Field(ge=1, le=1024)] = 32,
    hidden: Annotated[int, Field(ge=1, le=8192)] = 64,
    dropout: DropoutRate = 0.15,
    head_dropout: DropoutRate = 0.4,
    init: Literal["he", "torch"] = "he",
) -> ImageClassifier:
    """Conv(w)-pool-drop, Conv(2w)-pool-drop, Conv(4w)-pool, Dense(hidden)-drop, Dense(n_outputs).

    As seed 000's ``get_model()``: 3×3 'same' convolutions with ReLU, 2×2 max
    pooling; the head outputs one logit per class. The features are the
    ``hidden`` ReLU units; the classifier is the last layer. ``init``: ``he``,
    seed 000's (Keras) He-uniform weights and zero biases, or ``torch``,
    PyTorch's default initialisation (weights and biases ``U(±1/√fan_in)``).

    Dropout and initialisation depend on the task unless the spec sets them
    (:func:`task_defaults`): seed 000's for a question about a positive class;
    no dropout and PyTorch's initialisation for a multi-class experiment without
    one (a long tail), where seed 000's settings leave the few-shot classes
    underfit and hide what remedies do (measured in ``benchmarks/long_tail_defaults.py``).
    """
    h, w = image_size
    for _ in range(3):
        h, w = h // 2, w // 2
    if h < 1 or w < 1:
        raise ValueError(f"simple_cnn needs images of at least 8×8 pixels, got {image_size[0]}×{image_size[1]}")

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


SEED_000_DROPOUT = {"dropout": 0.15, "head_dropout": 0.4}


def task_defaults(has_positive: bool) -> dict[str, float | str]:
    """Parameters that depend on the task: for a multi-class experiment without a positive
    class, no dropout and PyTorch's initialisation.

    On the 10-class Animal-MNIST long tail (ρ = 100, 30 epochs, 3 seeds, balanced test
    set), seed 000's settings gave cross-entropy 0.613 ± 0.013 and inverse weights
    0.648 ± 0.095 balanced accuracy; without dropout 0.721 ± 0.015 and 0.766 ± 0.017;
    without dropout and with PyTorch's initialisation 0.761 ± 0.015 and 0.778 ± 0.004
    (docs/benchmarks.md).
    """
    return {} if has_positive else {"dropout": 0.0, "head_dropout": 0.0, "init": "torch"}


simple_cnn.task_defaults = task_defaults
