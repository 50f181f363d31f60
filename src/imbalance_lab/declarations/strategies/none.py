"""``none`` declared: train on the arm's data as it is (the baseline every other arm is compared with)."""

from __future__ import annotations

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration


@STRATEGIES.declare
class NoStrategyDeclaration(StrategyDeclaration):
    """Change nothing: each training image once per epoch, every class weighted 1."""

    name = "none"
