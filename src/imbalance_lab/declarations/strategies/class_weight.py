"""``class_weight`` declared: weight each class's loss (the Keras ``class_weight`` of seeds 000/001)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration

PositiveWeight = Annotated[float, Field(gt=0, allow_inf_nan=False)]


@STRATEGIES.declare
class ClassWeightDeclaration(StrategyDeclaration):
    """Multiply each example's loss by its class's weight.

    Parameters
    ----------
    weights : dict of class name to weight, ``"inverse"`` or ``"sqrt_inverse"``
        Explicit weights for every class (``{cat: 1, dog: 10}``); ``inverse``:
        ``w_c = n / (C · n_c)`` from the arm's training counts, so every class
        contributes equally to the loss (scikit-learn's ``class_weight="balanced"``);
        ``sqrt_inverse``: ``w_c ∝ n_c^(−1/2)``, half-way on a log scale, scaled
        like ``inverse`` so the average training example weighs 1
        (``Σ_c n_c · w_c = n``). For effective-number weights use ``class_balanced``.

    Notes
    -----
    The loss of a batch is ``mean_i(w[y_i] · CE_i)``: a weight of 10 counts an
    example as ten copies of itself would (Keras ``class_weight`` semantics), not
    PyTorch's weight-normalised mean.

    References
    ----------
    King, G. and Zeng, L. (2001). Logistic regression in rare events data.
    Political Analysis 9(2). (the ``n / (C · n_c)`` weighting)
    """

    name = "class_weight"

    def __init__(
        self,
        class_names: Sequence[str],
        weights: Mapping[str, PositiveWeight] | Literal["inverse", "sqrt_inverse"] = "inverse",
    ) -> None:
        super().__init__(class_names)
        if not isinstance(weights, str):
            missing = [c for c in self.class_names if c not in weights]
            unknown = [k for k in weights if k not in self.class_names]
            if unknown or missing:
                bad = f"unknown class {unknown[0]!r}" if unknown else f"no weight for class {missing[0]!r}"
                raise ValueError(
                    f"{bad}; give a weight for each of {', '.join(self.class_names)}, or use 'inverse' "
                    "or 'sqrt_inverse'"
                )
            weights = {c: float(weights[c]) for c in self.class_names}
        self.weights = weights

    def params(self) -> dict[str, Any]:
        return {"weights": self.weights}
