"""Strategies as a spec declares them: the registry, each strategy's parameters and class checks, the roles
only one strategy of an arm may hold, and the stages a strategy adds.

A declaration's constructor only checks and stores its parameters against the experiment's classes (no
tensors); the strategy that trains (:class:`imbalance_lab.strategies.Strategy`) subclasses it and adds the
hooks. So an arm's strategies are checked, roles and stages included, before torch is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from imbalance_lab.errors import SpecError
from imbalance_lab.registry import Registry

STRATEGIES: Registry = Registry("strategy", fixed=("class_names",))
"""Strategies by name: classes constructed as ``cls(class_names, **params)``."""

Role = Literal["loss", "mixing", "views", "step", "weight_decay", "stage", "classifier_norm"]
ROLE_WORDS: dict[str, str] = {
    "loss": "define the loss",
    "mixing": "mix batches",
    "views": "train on two views of each batch",
    "step": "own the optimiser step",
    "weight_decay": "set the weight decay",
    "stage": "add a training stage",
    "classifier_norm": "set the classifier's weight norms",
}


@dataclass(frozen=True)
class Stage:
    """A training stage after the main one, e.g. cRT's classifier re-training (Kang et al. 2020).

    ``train`` is ``classifier`` (the backbone frozen, in eval mode), ``scales`` (the
    classifier fixed too, one learned scale per class on its scores: LWS) or ``all``;
    ``reset_classifier`` is ``zero``, ``random`` (PyTorch's default
    initialisation) or ``keep``; ``strategy`` is the stage's own strategies, as
    ``(name, params)`` pairs; ``lr`` ``None`` keeps ``training.lr``; the learning
    rate follows a cosine curve over the stage's epochs; ``weight_decay`` ``None``
    keeps ``training.weight_decay``.
    """

    name: str
    epochs: int
    train: Literal["classifier", "scales", "all"] = "classifier"
    reset_classifier: Literal["zero", "random", "keep"] = "zero"
    strategy: tuple[tuple[str, dict[str, Any]], ...] = (("none", {}),)
    lr: float | None = None
    weight_decay: float | None = None


class StrategyDeclaration:
    """A strategy as a spec declares it: its name, its parameters (the constructor's keyword arguments, checked
    against the classes and stored), the roles it holds and the stages it adds.

    Parameters
    ----------
    class_names : sequence of str
        The experiment's classes, in label order (passed by the library).
    """

    name: ClassVar[str]
    roles: ClassVar[frozenset[str]] = frozenset()
    """What only one strategy of an arm may do (see :data:`ROLE_WORDS`)."""
    changes_finished_model: ClassVar[bool] = False
    """Whether it changes the model after the last epoch (τ-normalisation), so that no epoch's model is the
    one scored."""

    def __init__(self, class_names: Sequence[str]) -> None:
        self.class_names = tuple(class_names)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def stages(self) -> list[Stage]:
        """Training stages to run after the main one."""
        return []

    def params(self) -> dict[str, Any]:
        """The parameters this strategy was built with (for provenance)."""
        return {}


def check_strategies(steps: Sequence[tuple[str, dict[str, Any]]], class_names: Sequence[str], field_path: str) -> None:
    """Declare an arm's strategies once to check them against its classes; one :class:`SpecError` if not.

    Refuses parameters that do not fit the classes (a weight for an unknown class,
    a binary-only form with three classes) and two strategies that would both do
    what only one may (two losses, two mixings, two stages).
    """
    declared: list[StrategyDeclaration] = []
    for j, (name, params) in enumerate(steps):
        try:
            checked = STRATEGIES.check_params(name, params)
            declared.append(STRATEGIES.entry(name).declaration(class_names, **checked))
        except ValueError as err:
            raise SpecError(f"{field_path}[{j}].{name}", str(err)) from None
        for stage in declared[-1].stages():
            check_strategies(stage.strategy, class_names, f"{field_path}[{j}].{name}.stage")
    try:
        check_roles(declared)
    except RoleClash as clash:
        raise SpecError(f"{field_path}[{clash.index}]", str(clash)) from None


class RoleClash(ValueError):
    """Two strategies of one arm both do what only one may (:data:`ROLE_WORDS`); ``index`` is the second's
    place in the arm's list."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def check_roles(steps: Sequence[StrategyDeclaration]) -> None:
    """The one-owner rule: at most one strategy of an arm per role (one loss, one mixing, one added stage,
    one classifier norm), else :class:`RoleClash` naming both. Every pipeline is built through it, so no
    caller can train an arm whose second loss would be silently ignored."""
    for role, words in ROLE_WORDS.items():
        holders = [(j, s.name) for j, s in enumerate(steps) if role in s.roles]
        if len(holders) > 1:
            (_, first), (j, second) = holders[:2]
            raise RoleClash(
                j,
                f"{first} and {second} both {words}; an arm can have only one that does (class "
                "weights, samplers and augmentation combine with either)",
            )
    viewing = [(j, s.name) for j, s in enumerate(steps) if {"views", "mixing"} & s.roles]
    if len(viewing) > 1:
        (_, first), (j, second) = viewing[:2]
        raise RoleClash(
            j, f"{first} and {second}: an arm either mixes batches or trains on two views of each, not both"
        )


def owns_step(name: str) -> bool:
    """Whether the registered strategy ``name`` owns the optimiser step (read from its declared roles)."""
    return "step" in getattr(STRATEGIES.entry(name).declaration, "roles", frozenset())


def follows_training(name: str) -> bool:
    """Whether the registered strategy ``name`` trains a stage after the main one or changes the finished
    model (cRT, τ-normalisation): with it, the model scored is not the model of any main-stage epoch, so
    no rule can choose an epoch for it (read from the declaration: the spec asks before any class
    is known)."""
    declared = STRATEGIES.entry(name).declaration
    adds_stages = getattr(declared, "stages", None) is not StrategyDeclaration.stages
    return adds_stages or bool(getattr(declared, "changes_finished_model", False))


__all__ = [
    "ROLE_WORDS",
    "STRATEGIES",
    "Role",
    "RoleClash",
    "Stage",
    "StrategyDeclaration",
    "check_roles",
    "check_strategies",
    "follows_training",
    "owns_step",
]
