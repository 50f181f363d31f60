"""``simple_cnn`` declared: the seeds' small CNN (seeds 000/001), its parameters, its smallest input and its
task-dependent defaults. :mod:`imbalance_lab.models.simple_cnn` implements it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from imbalance_lab.declarations.models.base import MODELS, pooled_size

DropoutRate = Annotated[float, Field(ge=0, lt=1)]


@MODELS.declare
def simple_cnn(
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    width: Annotated[int, Field(ge=1, le=1024)] = 32,
    hidden: Annotated[int, Field(ge=1, le=8192)] = 64,
    dropout: DropoutRate = 0.15,
    head_dropout: DropoutRate = 0.4,
    init: Literal["he", "torch"] = "he",
) -> None:
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
    h, w = pooled_size(image_size)
    if h < 1 or w < 1:
        raise ValueError(f"simple_cnn needs images of at least 8×8 pixels, got {image_size[0]}×{image_size[1]}")
    return None


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
simple_cnn.input_checked = True
