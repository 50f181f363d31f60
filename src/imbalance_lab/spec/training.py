"""``training``: epochs, optimiser, precision, the learning-rate schedule's settings, which epoch a run
keeps and early stopping."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from imbalance_lab.spec.base import Strict
from imbalance_lab.vocabulary import (
    higher_is_better,
)


class ScheduleSpec(Strict):
    """How the learning rate changes over the epochs; it is set at the start of each epoch.

    ``constant``; ``step``: multiplied by ``gamma`` after each epoch in
    ``milestones`` (the LDAM-DRW recipe: ``milestones: [160, 180], gamma: 0.01``
    of 200 epochs, Cao et al. 2019); ``cosine``: from ``lr`` down to ``min_lr``
    (Loshchilov and Hutter 2017). ``warmup_epochs`` first rise linearly to
    ``lr`` (epoch ``e`` of the warm-up trains at ``lr · e / warmup_epochs``).
    """

    type: Literal["constant", "step", "cosine"] = "constant"
    milestones: tuple[Annotated[int, Field(ge=1)], ...] = ()
    gamma: Annotated[float, Field(gt=0, le=1)] = 0.1
    warmup_epochs: Annotated[int, Field(ge=0)] = 0
    min_lr: Annotated[float, Field(ge=0)] = 0.0

    @model_validator(mode="before")
    @classmethod
    def _word(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _milestones(self) -> ScheduleSpec:
        if self.type == "step" and not self.milestones:
            raise ValueError(
                "a step schedule needs milestones, the epochs after which the lr is multiplied by gamma, "
                "e.g. {type: step, milestones: [160, 180], gamma: 0.01}"
            )
        if self.type != "step" and self.milestones:
            raise ValueError(f"milestones are for a step schedule, not {self.type!r}; remove them or use type: step")
        if list(self.milestones) != sorted(set(self.milestones)):
            raise ValueError(f"milestones must increase, got {list(self.milestones)}")
        return self


class SelectSpec(Strict):
    """Which epoch's weights a run keeps and scores on test: the best by a metric of a validation set.

    ``metric``: any per-epoch validation metric (``loss``, the log loss;
    ``balanced_loss``, the mean of the classes' mean log losses; ``balanced_accuracy``,
    ``f1``, ``pr_auc``, ...); ``mode``: ``max``, ``min``, or ``auto`` (min for losses,
    Brier score and ECE, max otherwise); ``set``: the evaluation set that chooses
    (default ``val``). Ties keep the earlier epoch.
    """

    metric: str = "loss"
    mode: Literal["auto", "max", "min"] = "auto"
    set: str = "val"

    @property
    def maximise(self) -> bool:
        if self.mode != "auto":
            return self.mode == "max"
        return higher_is_better(self.metric)


class EarlyStoppingSpec(SelectSpec):
    """Stop training when the monitored metric has not improved by more than ``min_delta`` for ``patience``
    epochs. ``metric``, ``mode`` and ``set`` default to the selection rule's (or ``val`` ``loss``)."""

    patience: Annotated[int, Field(ge=1, le=100_000)] = 5
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    metric: str | None = None  # type: ignore[assignment]
    set: str | None = None  # type: ignore[assignment]


class TrainingSpec(Strict):
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 10
    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 32
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: Annotated[float, Field(gt=0, le=10)] = 1e-3
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.9
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    eval_batch_size: Annotated[int, Field(ge=1)] = 1024
    schedule: ScheduleSpec = ScheduleSpec()
    select: Literal["last"] | SelectSpec = "last"
    early_stopping: EarlyStoppingSpec | None = None

    @property
    def rules(self) -> dict[str, SelectSpec]:
        """The rules in force, by their key: ``select`` (unless ``last``) and ``early_stopping`` (its defaults
        filled in); empty when a run trains every epoch and keeps the last."""
        rules = {"select": self.select, "early_stopping": self.stopping}
        return {key: rule for key, rule in rules.items() if isinstance(rule, SelectSpec)}

    @property
    def stopping(self) -> SelectSpec | None:
        """The early-stopping rule with its defaults filled in (the selection rule's metric, mode and set)."""
        if self.early_stopping is None:
            return None
        base = self.select if isinstance(self.select, SelectSpec) else SelectSpec()
        stop = self.early_stopping
        return EarlyStoppingSpec(
            patience=stop.patience,
            min_delta=stop.min_delta,
            metric=stop.metric or base.metric,
            set=stop.set or base.set,
            mode=stop.mode if stop.metric else base.mode,
        )

    @model_validator(mode="after")
    def _schedule_fits(self) -> TrainingSpec:
        late = [m for m in self.schedule.milestones if m >= self.epochs]
        if late:
            raise ValueError(
                f"schedule milestone {late[0]} is not before the last epoch ({self.epochs}); "
                "give milestones below training.epochs"
            )
        if self.schedule.warmup_epochs >= self.epochs:
            raise ValueError(
                f"schedule warmup_epochs {self.schedule.warmup_epochs} leaves no epoch after the warm-up "
                f"of {self.epochs}; lower it"
            )
        return self
