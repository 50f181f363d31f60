"""``none``: train on the arm's data as it is (the baseline every other arm is compared with)."""

from __future__ import annotations

from imbalance_lab.strategies.base import STRATEGIES, Strategy


@STRATEGIES.register
class NoStrategy(Strategy):
    """Change nothing: each training image once per epoch, every class weighted 1."""

    name = "none"

    def plain_epochs(self, epochs: int) -> int | None:
        return None
