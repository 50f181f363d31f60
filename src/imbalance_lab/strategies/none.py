"""``none``: train on the arm's data as it is (the baseline every other arm is compared with)."""

from __future__ import annotations

from imbalance_lab.declarations.strategies.none import NoStrategyDeclaration
from imbalance_lab.strategies.base import STRATEGIES, Strategy


@STRATEGIES.implement
class NoStrategy(NoStrategyDeclaration, Strategy):
    """``none`` (:class:`~imbalance_lab.declarations.strategies.none.NoStrategyDeclaration`): no hook changes
    training."""

    def plain_epochs(self, epochs: int) -> int | None:
        return None
