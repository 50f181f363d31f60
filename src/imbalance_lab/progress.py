"""The one progress interface: library code reports here, the CLI turns it into a display."""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    """Receives progress events; every method is optional to act on."""

    def experiment_started(self, total_runs: int, already_done: int) -> None: ...
    def run_started(self, arm: str, seed: int, epochs: int) -> None: ...
    def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None: ...
    def run_finished(self, arm: str, seed: int, wall_time_s: float) -> None: ...
    def message(self, text: str) -> None: ...


class NullProgress:
    """Reports nothing (the library default)."""

    def experiment_started(self, total_runs: int, already_done: int) -> None:
        pass

    def run_started(self, arm: str, seed: int, epochs: int) -> None:
        pass

    def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
        pass

    def run_finished(self, arm: str, seed: int, wall_time_s: float) -> None:
        pass

    def message(self, text: str) -> None:
        pass
