"""The report end to end: recomputed from stored runs, written as HTML/Markdown/CSV, rendered in a real Chromium.

``run``, ``report`` and ``compare`` each run once as a user runs them (a new interpreter); the other cases run
in this process through the console script's own ``main`` (``cli``), and runs that are only material are
trained through the API."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest

from helpers import TINY_SPEC, cli, run_cli, write_spec
from imbalance_lab import api
from imbalance_lab.analysis.analyse import analyse
from imbalance_lab.api import scan

ARTIFACTS = Path(os.environ.get("IMBALANCE_LAB_ARTIFACTS", Path(__file__).parents[2] / "build" / "artifacts"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    spec = dict(TINY_SPEC, seeds=[0, 1, 2])
    proc = run_cli("run", write_spec(root / "spec.yaml", spec), "--out", root / "out", "--no-mlflow", check=True)
    return root / "out", proc


def test_run_writes_the_report_and_prints_verdicts(experiment):
    out, proc = experiment
    for name in ("report.html", "report.md", "report.csv"):
        assert (out / name).stat().st_size > 0
    assert "verdict on the test set, against `unbalanced`:" in proc.stdout
    assert "on recall," in proc.stdout


def test_report_recomputes_the_stored_metrics(experiment):
    out, _ = experiment
    spec, found = scan(out)
    analysis = analyse(spec, found, n_boot=200)
    assert len(found.runs) == 4 * 3  # every run of 4 arms × 3 seeds, so the loop below checks them all
    for run in found.runs:
        stored = run.result["metrics"]["test"]
        values = analysis.sets["test"].table[run.arm]
        index = sorted(r.seed for r in found.runs if r.arm == run.arm).index(run.seed)
        for key in ("recall", "precision", "accuracy", "balanced_accuracy", "tp", "fn"):
            assert values[key].values[index] == pytest.approx(stored[key], abs=1e-12)
    table = analysis.sets["test"].table["balanced"]["recall"]
    assert table.n == 3 and table.t_ci is not None and table.t_ci.low <= table.mean <= table.t_ci.high
    assert analysis.reference == "unbalanced"
    assert {c.arm for c in analysis.sets["test"].comparisons["recall"]} == {"balanced", "weighted", "both"}
    baselines = analysis.sets["test"].baselines
    assert baselines["majority"]["accuracy"] == pytest.approx(30 / 40) and baselines["majority"]["recall"] == 0.0


def test_report_csv_and_markdown(experiment):
    out, _ = experiment
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text())))
    recall = [r for r in rows if r["eval_set"] == "test" and r["metric"] == "recall"]
    assert {r["arm"] for r in recall} == {"balanced", "unbalanced", "weighted", "both"}
    for r in recall:
        assert float(r["t_ci_low"]) <= float(r["mean"]) <= float(r["t_ci_high"])
        if r["arm"] == "unbalanced":
            assert r["diff_vs_reference"] == ""
        else:
            assert r["p_holm"] != "" and r["significant"] in ("True", "False")
    text = (out / "report.md").read_text()
    assert "## test set" in text and "*baseline: majority*" in text and "Reference arm: `unbalanced`" in text


def test_report_command_with_another_reference(experiment, tmp_path):
    out, _ = experiment
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    proc = run_cli("report", copy, "--reference", "balanced", check=True)
    assert "against `balanced`" in proc.stdout
    bad = cli("report", copy, "--reference", "nonesuch")
    assert bad.returncode == 2 and "--reference: got 'nonesuch'" in bad.stderr and "Traceback" not in bad.stderr


def test_one_seed_invents_no_interval(tmp_path):
    spec = dict(TINY_SPEC, seeds=[0], arms=TINY_SPEC["arms"][:2])
    out = tmp_path / "out"
    assert cli("run", write_spec(tmp_path / "spec.yaml", spec), "--out", out, "--no-mlflow").returncode == 0
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text())))
    assert {(r["eval_set"], r["arm"]) for r in rows} == {
        (s, a) for s in ("val", "test") for a in ("balanced", "unbalanced")
    }
    assert all(r["t_ci_low"] == "" and r["bootstrap_ci_low"] == "" for r in rows)
    assert "with one seed" in (out / "report.md").read_text() or "bootstrap" in (out / "report.csv").read_text()


def test_compare_two_experiments_on_the_same_data(experiment, tmp_path):
    out, _ = experiment
    other = dict(
        TINY_SPEC,
        name="tiny_more_epochs",
        seeds=[0, 1, 2],
        arms=TINY_SPEC["arms"][1:3],
        training={**TINY_SPEC["training"], "epochs": 3},
    )
    other_out = tmp_path / "other"
    api.run(other, other_out, executor="local", threads=1)  # compare reads the runs: no report needed
    proc = run_cli("compare", out, other_out, "--out", tmp_path / "cmp", "--reference", "tiny.unbalanced", check=True)
    assert "against `tiny.unbalanced`" in proc.stdout
    arms = {r["arm"] for r in csv.DictReader(io.StringIO((tmp_path / "cmp" / "report.csv").read_text()))}
    assert arms == {
        "tiny.balanced",
        "tiny.unbalanced",
        "tiny.weighted",
        "tiny.both",
        "tiny_more_epochs.unbalanced",
        "tiny_more_epochs.weighted",
    }
    changed = dict(other, name="other_data")
    changed["data"] = {**TINY_SPEC["data"], "seed": 5}
    changed_out = tmp_path / "changed"
    api.run(changed, changed_out, executor="local", threads=1)
    refused = cli("compare", out, changed_out, "--out", tmp_path / "cmp2")
    assert refused.returncode == 2 and "other data" in refused.stderr and not (tmp_path / "cmp2").exists()


def test_report_of_a_directory_without_runs(tmp_path, tiny_spec):
    from imbalance_lab.spec import build_spec

    proc = cli("report", tmp_path)
    assert proc.returncode == 2 and "not a results directory" in proc.stderr
    (tmp_path / "spec.yaml").write_text(build_spec(tiny_spec).to_yaml())
    (tmp_path / "runs").mkdir()
    proc = cli("report", tmp_path)
    assert proc.returncode == 2 and "has no finished runs yet" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian chromium is not installed (make test installs it as root)",
)
def test_report_renders_in_headless_chromium(experiment):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "CI must have Debian's chromium (installed by make test)"
    out, _ = experiment
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            problems: list[str] = []
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url[:80]}"))
            page.goto((out / "report.html").resolve().as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])"
            )
            headings = page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert len(images) >= 6
    for alt, complete, width, height in images:
        assert complete and width > 100 and height > 100, f"image {alt!r} did not load"
    assert headings == ["Verdict (test set)", "Data", "Results", "Aggregates over runs (rliable)", "Plots", "Spec"]
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    html = (out / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained
