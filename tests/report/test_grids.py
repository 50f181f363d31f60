"""Arm grids in the report: metrics against a numeric factor, and where the best line changes."""

from __future__ import annotations

import copy

import pytest
from helpers import TINY_SPEC

from imbalance_lab.analysis.grids import FactorEffect, FactorPoint, factor_effect, numeric_factors
from imbalance_lab.api import report, run


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    spec = copy.deepcopy(TINY_SPEC)
    spec["arms"] = [{
        "name": "g",
        "grid": {"b": [6, 20, 60], "strategy": {"ce": "none", "la": "logit_adjusted"}},
        "train": {"a": 60, "b": "$b"},
        "strategy": "$strategy",
    }]
    spec["tracking"] = {"mlflow": False}
    out = tmp_path_factory.mktemp("grid") / "out"
    run(spec, out)
    analysis, paths = report(out, n_boot=50)
    return analysis, out


def test_lines_over_the_numeric_factor_match_the_table(grid_run):
    analysis, _ = grid_run
    assert numeric_factors(analysis) == ["b"]  # the strategy factor is a label, not a number
    effect = factor_effect(analysis, "b", "recall")
    assert set(effect.lines) == {"g-ce", "g-la"}
    table = analysis.sets["test"].table
    for line, points in effect.lines.items():
        assert [p.x for p in points] == [6, 20, 60]
        for p in points:
            assert p.arm == f"g-b{int(p.x)}-{line.split('-')[1]}"
            assert p.mean == table[p.arm]["recall"].mean
    for x, best in effect.best:
        means = {line: next(p.mean for p in pts if p.x == x) for line, pts in effect.lines.items()}
        assert set(best.split(" = ")) == {line for line, m in means.items() if m == max(means.values())}


def test_report_has_a_factor_section(grid_run):
    _, out = grid_run
    md = (out / "report.md").read_text()
    assert "## Factors" in md
    assert "the best changes with b" in md or "is best at every b tried" in md
    page = (out / "report.html").read_text()
    assert "<h2>Factors</h2>" in page and "alt='recall vs b'" in page


def test_a_report_without_grids_has_no_factor_section(tmp_path):
    spec = copy.deepcopy(TINY_SPEC)
    spec.update(seeds=[0], tracking={"mlflow": False}, arms=spec["arms"][:2])
    spec["training"]["epochs"] = 1
    run(spec, tmp_path / "out")
    analysis, _ = report(tmp_path / "out", n_boot=20)
    assert numeric_factors(analysis) == []
    assert "Factors" not in (tmp_path / "out" / "report.md").read_text()


def _effect(best: list[tuple[float, str]]) -> FactorEffect:
    lines = {"ce": [FactorPoint("a", x, 0.5, 0.4, 0.6) for x, _ in best]}
    return FactorEffect("ratio", "f1", "test", lines, best)


@pytest.mark.parametrize(
    ("best", "expected"),
    [
        ([(1, "ce"), (10, "ce"), (100, "ce")], "`ce` is best at every ratio tried"),
        ([(1, "ce"), (5, "ce"), (10, "la"), (100, "la")], "the best changes with ratio: `ce` at ratio 1–5, `la` at ratio 10–100"),
        ([(0.5, "la"), (1, "ce = la"), (2, "la")], "`la` at ratio 0.5, `ce = la` at ratio 1, `la` at ratio 2"),
    ],
)
def test_where_the_best_changes_in_words(best, expected):
    assert expected in _effect(best).sentence()
