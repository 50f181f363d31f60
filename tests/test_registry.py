"""The registry: entries registered in one piece, or declared without torch and implemented beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import pytest
from pydantic import Field

from imbalance_lab.errors import SpecError
from imbalance_lab.registry import Registry


class Declared:
    """A declared thing: its checks and parameters.

    More words that are not the summary."""

    name = "thing"
    colour = "blue"

    def __init__(self, class_names: Sequence[str], size: Annotated[int, Field(ge=1)] = 3) -> None:
        if size > len(class_names) + 10:
            raise ValueError(f"size {size} is too large for {len(class_names)} classes")
        self.class_names, self.size = tuple(class_names), size


def test_a_declared_class_is_checked_and_implemented_by_a_subclass() -> None:
    things = Registry("thing", fixed=("class_names",))
    things.declare(Declared)
    entry = things.entry("thing")
    assert entry.factory is None and entry.declaration is Declared
    assert entry.summary == "A declared thing: its checks and parameters."
    assert list(entry.params_model.model_fields) == ["size"]
    with pytest.raises(RuntimeError, match="declared but its implementation is not imported"):
        things.create("thing", ["a", "b"])
    with pytest.raises(SpecError, match=r"^thing.size: got 0: "):  # the rules hold before any implementation
        things.check_params("thing", {"size": 0})

    @things.implement
    class Thing(Declared):
        def hook(self) -> int:
            return self.size * 2

    built = things.create("thing", ["a", "b"], size=4)
    assert isinstance(built, Thing) and built.hook() == 8
    assert things.describe() == [
        {
            "name": "thing",
            "summary": "A declared thing: its checks and parameters.",
            "params": ["size"],
            "published_weights": False,
        }
    ]
    with pytest.raises(RuntimeError, match="implemented twice"):
        things.implement(Thing)


def test_a_class_implementation_must_subclass_its_declaration_without_its_own_init() -> None:
    things = Registry("thing", fixed=("class_names",))
    things.declare(Declared)

    class Own(Declared):
        def __init__(self, class_names: Sequence[str], size: int = 5) -> None:
            super().__init__(class_names, size)

    class Unrelated:
        name = "thing"

    for wrong in (Own, Unrelated):
        with pytest.raises(RuntimeError, match="a subclass without __init__"):
            things.implement(wrong)
    with pytest.raises(RuntimeError, match="'other' is not declared"):

        @things.implement
        class Other(Declared):
            name = "other"


def test_a_declared_function_runs_first_and_gives_the_defaults() -> None:
    models = Registry("model", fixed=("channels",))
    calls: list[tuple[int, int]] = []

    @models.declare
    def net(channels: int, width: Annotated[int, Field(ge=1)] = 8) -> None:
        """A network: refuses more than 4 channels."""
        if channels > 4:
            raise ValueError(f"net takes at most 4 channels, got {channels}")

    @models.implement
    def net(channels: int, width: int) -> tuple[int, int]:  # noqa: F811  (the implementation of the declaration above)
        calls.append((channels, width))
        return channels, width

    assert models.create("net", 3) == (3, 8)  # the declared default filled in
    assert models.create("net", 1, width=2) == (1, 2)
    assert net(2) == (2, 8)  # the decorated name is the registry's loader
    with pytest.raises(ValueError, match="at most 4 channels, got 5"):
        models.create("net", 5)
    assert calls == [(3, 8), (1, 2), (2, 8)]  # the refused build never reached the implementation


def test_a_function_implementation_takes_the_declared_parameters_in_order() -> None:
    models = Registry("model", fixed=("channels",))

    @models.declare
    def net(channels: int, width: int = 8, depth: int = 2) -> None:
        """A network."""

    def swapped(channels: int, depth: int, width: int) -> None: ...

    swapped.__name__ = "net"
    with pytest.raises(RuntimeError, match=r"takes \['channels', 'depth', 'width'\], the declaration"):
        models.implement(swapped)

    def defaulted(channels: int, width: int = 16, depth: int = 2) -> None: ...

    defaulted.__name__ = "net"
    with pytest.raises(RuntimeError, match=r"gives defaults to \['width', 'depth'\]; they are the declaration's"):
        models.implement(defaulted)


def test_an_entry_registered_in_one_piece_is_its_own_declaration() -> None:
    sources = Registry("data source")

    @sources.register
    def tiny(n: Annotated[int, Field(ge=1)] = 2) -> list[int]:
        """A tiny source."""
        return list(range(n))

    entry = sources.entry("tiny")
    assert entry.declaration is entry.factory is tiny
    assert sources.create("tiny") == [0, 1]
    with pytest.raises(RuntimeError, match="registered twice"):
        sources.declare(tiny)
