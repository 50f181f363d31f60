"""Shared fixtures."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from helpers import TINY_SPEC


@pytest.fixture
def tiny_spec() -> dict[str, Any]:
    """A fresh, mutable copy of the tiny synthetic spec (runs in well under a second)."""
    return copy.deepcopy(TINY_SPEC)
