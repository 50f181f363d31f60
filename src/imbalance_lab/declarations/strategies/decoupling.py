"""Decoupled training declared: ``crt`` and ``lws`` (a stage after the main one) and ``tau_norm`` (the
finished classifier rescaled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, Stage, StrategyDeclaration

StageEpochs = Annotated[int, Field(ge=1, le=10_000)]
StageLr = Annotated[float, Field(gt=0, le=10)] | None


@STRATEGIES.declare
class ClassifierRetrainingDeclaration(StrategyDeclaration):
    """cRT: after the main stage, a new classifier trained alone with class-balanced sampling.

    The classifier is re-initialised and trained for ``epochs`` more epochs on
    the frozen backbone (in eval mode: its batch-norm statistics and dropout are
    fixed), drawing classes uniformly (``class_balanced_sampling``), the learning
    rate following a cosine from ``lr`` (default ``training.lr``) to 0.

    With the backbone frozen the stage is a convex problem (multinomial logistic
    regression on fixed features), so by default the classifier restarts from
    zero (uniform predictions) rather than from random weights as in the paper:
    the optimum is the same, but a random start on large trained features begins
    far from it (a training loss of 8 on the 10-class Animal-MNIST long tail) and
    a few epochs do not reach it (docs/benchmarks.md); ``init: random`` is the
    paper's.

    Parameters
    ----------
    epochs : int >= 1
        Epochs of the re-training stage (10 in the paper).
    lr : float > 0 or None
        Its learning rate (``None``: ``training.lr``).
    init : ``"zero"`` or ``"random"``
        How the classifier restarts.

    References
    ----------
    Kang, B., Xie, S., Rohrbach, M., Yan, Z., Gordo, A., Feng, J. and Kalantidis, Y. (2020).
    Decoupling representation and classifier for long-tailed recognition. ICLR. arXiv:1910.09217.
    """

    name = "crt"
    roles = frozenset({"stage"})
    trains: Literal["classifier", "scales"] = "classifier"

    def __init__(
        self,
        class_names: Sequence[str],
        epochs: StageEpochs = 10,
        lr: StageLr = None,
        init: Literal["zero", "random"] = "zero",
    ) -> None:
        super().__init__(class_names)
        self.epochs, self.lr = epochs, lr
        self.init: Literal["zero", "random", "keep"] = init

    def stages(self) -> list[Stage]:
        return [
            Stage(
                self.name,
                self.epochs,
                train=self.trains,
                reset_classifier=self.init,
                strategy=(("class_balanced_sampling", {}),),
                lr=self.lr,
            )
        ]

    def params(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "lr": self.lr, "init": self.init}


@STRATEGIES.declare
class LearnableWeightScalingDeclaration(ClassifierRetrainingDeclaration):
    """LWS: after the main stage, the classifier kept and one scale per class learned on it.

    ``w̃_c = f_c · w_c``: the trained class weights ``w_c`` stay fixed and the
    scales ``f_c`` (starting at 1) are learned for ``epochs`` more epochs, as
    cRT's stage trains its classifier (the backbone frozen, class-balanced
    sampling, a cosine from ``lr``). The bias, as trained, is kept: a class's
    score is ``f_c (w_c · x) + b_c``. C parameters instead of a whole classifier,
    so it cannot overfit the re-sampled tail. Parameters: ``epochs`` (10) and
    ``lr`` (``None``: ``training.lr``), as cRT's.

    References
    ----------
    Kang, B., Xie, S., Rohrbach, M., Yan, Z., Gordo, A., Feng, J. and Kalantidis, Y. (2020).
    Decoupling representation and classifier for long-tailed recognition. ICLR. arXiv:1910.09217.
    """

    name = "lws"
    trains = "scales"

    def __init__(self, class_names: Sequence[str], epochs: StageEpochs = 10, lr: StageLr = None) -> None:
        super().__init__(class_names, epochs, lr)
        self.init = "keep"

    def params(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "lr": self.lr}


@STRATEGIES.declare
class TauNormalisationDeclaration(StrategyDeclaration):
    """τ-normalisation: divide each class's classifier weights by their norm to the power ``τ``.

    After training, ``w_c ← w_c / ‖w_c‖^τ`` and the bias is dropped (set to 0), as
    the authors' code: classes seen often grow larger weight norms, which this
    undoes. ``τ = 0`` changes nothing but the bias; ``τ = 1`` gives every class
    unit norm. The paper chooses ``τ`` on validation data (a grid over ``tau``
    does that here).

    Parameters
    ----------
    tau : float >= 0
        The power (1.0).

    References
    ----------
    Kang, B., Xie, S., Rohrbach, M., Yan, Z., Gordo, A., Feng, J. and Kalantidis, Y. (2020).
    Decoupling representation and classifier for long-tailed recognition. ICLR. arXiv:1910.09217.
    """

    name = "tau_norm"
    roles = frozenset({"classifier_norm"})
    changes_finished_model = True

    def __init__(self, class_names: Sequence[str], tau: Annotated[float, Field(ge=0, le=5)] = 1.0) -> None:
        super().__init__(class_names)
        self.tau = tau

    def params(self) -> dict[str, Any]:
        return {"tau": self.tau}
