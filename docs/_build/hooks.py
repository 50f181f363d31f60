"""A mkdocs hook: the API reference renders the package's numpydoc docstrings, which cross-reference in reST
(``:func:`imbalance_lab.experiment.load```). mkdocstrings shows the name as code; the role's prefix is dropped."""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|data|attr|exc|obj|const):(?=<code>)")


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub("", html)
