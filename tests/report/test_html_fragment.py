"""The notebook's HTML fragment styles only itself: a host page (Jupyter, the docs site) keeps its own look."""

from __future__ import annotations

import re

from imbalance_lab.report.html import CSS, scoped_css


def test_every_rule_of_the_fragment_is_scoped_and_none_is_lost() -> None:
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", scoped_css(".imbalance-lab"))
    page_rules = re.findall(r"([^{}]+)\{([^{}]*)\}", CSS)
    assert len(rules) == len(page_rules) > 10  # every rule of the page, once
    for (selectors, declarations), (_, page_declarations) in zip(rules, page_rules, strict=True):
        assert declarations == page_declarations
        for selector in selectors.split(","):
            assert selector.strip() == ".imbalance-lab" or selector.strip().startswith(".imbalance-lab "), selector
    assert ".imbalance-lab{font-family" in scoped_css(".imbalance-lab")  # the page's body rule styles the fragment
