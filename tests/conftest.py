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


@pytest.fixture(autouse=True, scope="session")
def _private_caches(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Feature caches and Hugging Face downloads go to the session's temporary directory, never the
    user's home; the Hub is offline (tests never download)."""
    import os

    root = tmp_path_factory.mktemp("caches")
    saved = {k: os.environ.get(k) for k in ("IMBALANCE_LAB_CACHE", "HF_HOME", "HF_HUB_OFFLINE")}
    os.environ.update(
        {"IMBALANCE_LAB_CACHE": str(root / "imbalance-lab"), "HF_HOME": str(root / "hf"), "HF_HUB_OFFLINE": "1"}
    )
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
