"""What ``imbalance-lab list`` shows, without importing what it lists: the registries' entries (name, one-line
summary, parameters, published weights) as shipped in ``catalogue.json`` beside this module.

Listing the registries themselves would import the declarations' parameter models (a fifth of a second) and
the decision rules' SciPy (half a second; the implementations, torch) before a line is printed. The file is the registries' own description (:meth:`Registry.describe`),
written by ``python tests/test_catalogue.py --write``; a test fails when it no longer equals the registries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CATALOGUE_FILE = Path(__file__).with_name("catalogue.json")
KINDS = ("strategies", "models", "sources", "decisions")
"""The registries listed, in the order ``imbalance-lab list`` names them."""


def catalogue() -> dict[str, list[dict[str, Any]]]:
    """Every registry's entries, by kind (:data:`KINDS`), as :meth:`Registry.describe` gives them."""
    entries: dict[str, list[dict[str, Any]]] = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return entries
