"""Models as a spec declares them (no torch): the registry, each model's parameters, whether it has
published weights and its task-dependent defaults. :mod:`imbalance_lab.models` implements them.

A model's declaration is a function of the fixed arguments and the parameters that refuses (``ValueError``)
the inputs it can tell the model cannot take without building it. Its attributes, read by the spec and by
``validate``: ``published_weights`` (``pretrained: true`` is allowed), ``task_defaults`` (parameters that
depend on the task) and ``input_checked``: the declaration refuses every input the model cannot be built
for (the model needs no other package; ``tests/test_declared_models.py`` checks it against the build), so
``validate`` need not build it.
"""

from __future__ import annotations

from imbalance_lab.registry import Registry

# ``pretrained`` is passed by the library (from the spec's model.pretrained) to the factories that have
# published weights (those with a true ``published_weights`` attribute)
MODELS: Registry = Registry("model", fixed=("in_channels", "image_size", "n_outputs", "pretrained"))
"""Models by name: factories ``(in_channels, image_size, n_outputs, **params) -> ImageClassifier``."""


def pooled_size(image_size: tuple[int, int], halvings: int = 3) -> tuple[int, int]:
    """The map's height and width after ``halvings`` 2×2 poolings (floor division, as ``MaxPool2d(2)`` does):
    0 where the image is too small for them."""
    h, w = image_size
    for _ in range(halvings):
        h, w = h // 2, w // 2
    return h, w


def task_defaults(name: str, has_positive: bool) -> dict[str, object]:
    """Defaults of model ``name`` that depend on the task (a declaration's ``task_defaults`` attribute), or none.

    A spec's model parameters are these, overridden by what the spec gives, so
    the stored spec names them and they are part of the run hash.
    """
    declared = MODELS.entry(name).declaration if name in MODELS.names() else None
    rule = getattr(declared, "task_defaults", None)
    return dict(rule(has_positive)) if rule is not None else {}


__all__ = ["MODELS", "pooled_size", "task_defaults"]
