"""Arm grids in the report: metrics against a numeric factor, and where the best line changes."""

from __future__ import annotations

import copy

import pytest

from helpers import TINY_SPEC
from imbalance_lab.analysis.grids import (
    FactorEffect,
    FactorPoint,
    factor_effect,
    numeric_factors,
)
from imbalance_lab.api import report, run


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    spec = copy.deepcopy(TINY_SPEC)
    spec["arms"] = [
        {
            "name": "g",
            "grid": {"b": [6, 20, 60], "strategy": {"ce": "none", "la": "logit_adjusted"}},
            "train": {"a": 60, "b": "$b"},
            "strategy": "$strategy",
        }
    ]
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
    assert [x for x, _ in effect.best] == [6, 20, 60]  # one best line per value, so the loop checks each
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


def _effect(best: list[tuple[float, str]], clear: tuple[float, ...] = ()) -> FactorEffect:
    lines = {"ce": [FactorPoint("a", x, 0.5, 0.4, 0.6) for x, _ in best]}
    return FactorEffect("ratio", "f1", "test", lines, best, clear)


@pytest.mark.parametrize(
    ("best", "expected"),
    [
        ([(1, "ce"), (10, "ce"), (100, "ce")], "`ce` is best at every ratio tried"),
        (
            [(1, "ce"), (5, "ce"), (10, "la"), (100, "la")],
            "the best changes with ratio: `ce` at ratio 1–5, `la` at ratio 10–100",
        ),
        ([(0.5, "la"), (1, "ce = la"), (2, "la")], "`la` at ratio 0.5, `ce = la` at ratio 1, `la` at ratio 2"),
    ],
)
def test_where_the_best_changes_in_words(best, expected):
    assert expected in _effect(best).sentence()


def test_the_sentence_says_whether_the_best_is_clear():
    best = [(1, "ce"), (10, "la")]
    assert "at no value does its 95 % interval clear the others'" in _effect(best).sentence()
    assert "clears the others' at every value" in _effect(best, (1, 10)).sentence()
    assert "clears the others' only at ratio 10" in _effect(best, (10,)).sentence()


def test_clear_means_the_intervals_do_not_overlap(grid_run):
    analysis, _ = grid_run
    effect = factor_effect(analysis, "b", "balanced_accuracy")  # higher is better
    assert [x for x, _ in effect.best] == [6, 20, 60]
    for x, best in effect.best:
        here = {line: next(p for p in pts if p.x == x) for line, pts in effect.lines.items()}
        winner = here.get(best)  # None when lines tie
        separated = winner is not None and all(winner.low > p.high for line, p in here.items() if line != best)
        assert (x in effect.clear) == separated


def test_verdict_words_when_arms_only_did_worse():
    from types import SimpleNamespace

    from imbalance_lab.analysis.analyse import verdict

    def comparison(arm: str, diff: float, significant: bool) -> SimpleNamespace:
        return SimpleNamespace(
            arm=arm,
            mean_diff=diff,
            significant=significant,
            bootstrap=None,
            interval=None,
            seed_test=SimpleNamespace(p_value=0.01 if significant else 0.5),
        )

    def analysis(comparisons: list) -> SimpleNamespace:
        table = {c.arm: {"f1": SimpleNamespace(n=5)} for c in comparisons}
        return SimpleNamespace(
            reference="ce", sets={"test": SimpleNamespace(comparisons={"f1": comparisons}, table=table)}
        )

    worse = verdict(analysis([comparison("a", -0.2, True), comparison("b", 0.1, False)]), "test", "f1")
    assert worse == "on f1, 0 arms beat `ce`, 1 did worse."  # not "no difference is significant"
    none = verdict(analysis([comparison("a", -0.2, False)]), "test", "f1")
    assert none == "on f1, 0 arms beat `ce` (no difference is significant after Holm's correction)."
