"""The experiment as one Python object: the CLI's run from Python, tidy DataFrames, the report's figures,
and an inline HTML view for notebooks (issue 15, item 1 and the object of item 2)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from matplotlib.figure import Figure

import imbalance_lab
from helpers import TINY_SPEC
from imbalance_lab.errors import StoreError
from imbalance_lab.metrics import classification_metrics


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    data = copy.deepcopy(TINY_SPEC)
    data["arms"] = data["arms"][:3]
    data["decisions"] = {"costs": {"false_negative": 5}}
    out = tmp_path_factory.mktemp("nb") / "out"
    return imbalance_lab.run_experiment(data, out, mlflow=False, executor="local", threads=1)


def test_experiment_does_what_the_cli_run_does(experiment):
    assert imbalance_lab.run is imbalance_lab.run_experiment  # DESIGN.md: imbalance_lab.run(spec) = imbalance-lab run
    root = experiment.directory
    for name in ("spec.yaml", "summary.csv", "summary.md", "report.html", "report.md", "report.csv"):
        assert (root / name).is_file(), name
    assert len(list(root.glob("runs/*/seed-*/result.json"))) == 3 * 2
    assert repr(experiment) == f"Experiment({str(root)!r}: 6 runs, reference 'unbalanced')"
    again = imbalance_lab.load(root)
    assert again.summary().equals(experiment.summary())


def test_the_tables_are_tidy_and_equal_the_analysis(experiment):
    a = experiment.analysis
    summary = experiment.summary()
    assert list(summary.columns[:6]) == ["arm", "set", "metric", "mean", "std", "n_seeds"]
    row = summary[(summary.arm == "weighted") & (summary.set == "test") & (summary.metric == "f1")].iloc[0]
    stat = a.sets["test"].table["weighted"]["f1"]
    c = next(c for c in a.sets["test"].comparisons["f1"] if c.arm == "weighted")
    assert (row["mean"], row["ci_low"], row["diff"], row["p_holm"]) == (stat.mean, stat.t_ci.low, c.mean_diff, c.p_holm)
    compare = experiment.compare()
    assert set(compare.metric) <= set(a.sets["test"].metrics) and "unbalanced" not in set(compare.arm)
    assert compare["diff"].notna().all()
    runs = experiment.runs()
    assert len(a.runs) == len(a.arms) * 2 == 12  # (3 arms and their 3 cost-decided arms) × 2 seeds
    assert len(runs) == len(a.runs) * len(a.sets)
    one = runs[(runs.arm == "balanced") & (runs.seed == 1) & (runs.set == "val")].iloc[0]
    arrays = next(r for r in a.runs if r.arm == "balanced" and r.seed == 1).predictions()
    expected = classification_metrics(arrays["val_labels"], arrays["val_probs"].astype(np.float64), positive=1)
    assert one["balanced_accuracy"] == expected["balanced_accuracy"]
    history = experiment.history()
    assert set(history.columns) == {"arm", "seed", "epoch", "split", "metric", "value"}
    loss = (
        history[
            (history.arm == "weighted") & (history.seed == 0) & (history.split == "val") & (history.metric == "loss")
        ]
        .sort_values("epoch")["value"]
        .tolist()
    )
    stored = next(r for r in a.runs if r.arm == "weighted" and r.seed == 0).result["history"]
    assert loss == [e["val"]["loss"] for e in stored]
    assert not set(history.arm) & set(a.deployment.arms)  # decided arms have their base arm's curves


def test_the_verdict_plots_and_inline_html(experiment):
    verdict = experiment.verdict().splitlines()
    assert verdict[0].startswith("on recall") and verdict[-1].startswith("what to deploy: deploy `")
    for name in ("curves", "metric", "confusion", "forest", "pr", "roc", "costs"):
        assert isinstance(getattr(experiment.plot, name)(), Figure), name
    page = experiment._repr_html_()
    assert "what to deploy" in page and page.count("<img") == 2 and "data:image/png;base64," in page
    assert "<table>" in page


def test_load_of_a_directory_without_runs_is_one_line(tmp_path):
    with pytest.raises(StoreError, match="is not a results directory"):
        imbalance_lab.load(tmp_path / "nothing")


def test_the_example_notebook_runs_headless_on_a_tiny_spec(tmp_path, monkeypatch):
    """examples/notebooks/cats_vs_dogs.ipynb, executed by a real Jupyter kernel (nbclient) on a tiny spec:
    no cell errs, the verdict is printed, the tables and figures are shown."""
    from pathlib import Path

    import nbformat
    import yaml
    from nbclient import NotebookClient

    data = copy.deepcopy(TINY_SPEC)
    data["decisions"] = {"costs": {"false_negative": 10, "false_positive": 1}}
    data["tracking"] = {"mlflow": False}
    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("IMBALANCE_LAB_SPEC", str(spec_path))
    monkeypatch.setenv("IMBALANCE_LAB_OUT", str(tmp_path / "out"))
    folder = Path(__file__).parents[1] / "examples" / "notebooks"
    nb = nbformat.read(folder / "cats_vs_dogs.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "on recall" in text and "what to deploy: deploy `" in text
    shown = [out for out in outputs if out.output_type in ("display_data", "execute_result")]
    assert sum("image/png" in out.get("data", {}) for out in shown) >= 4  # curves, forest, confusion, costs
    assert any("<progress" in out.get("data", {}).get("text/html", "") for out in shown)  # the progress bar
    assert any("what to deploy" in out.get("data", {}).get("text/html", "") for out in shown)  # the object itself
    assert (tmp_path / "out" / "report.html").is_file()


def test_the_cli_and_the_api_give_the_same_directory(tmp_path):
    """`imbalance-lab run` is a thin layer over run_experiment(): the same files, the same report numbers."""
    from helpers import cli, write_spec

    data = copy.deepcopy(TINY_SPEC)
    data["arms"] = data["arms"][:2]
    data["tracking"] = {"mlflow": False}
    result = cli(
        "run",
        write_spec(tmp_path / "spec.yaml", data),
        "--out",
        tmp_path / "cli",
        "--executor",
        "local",
        "--threads",
        "1",
    )
    assert result.returncode == 0, result.stderr
    imbalance_lab.run_experiment(data, tmp_path / "api", executor="local", threads=1)

    def names(root):
        return sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(".") and p.name != "report.html"
        )

    assert names(tmp_path / "cli") == names(tmp_path / "api")
    runs = [
        f"runs/{arm}/seed-{seed}/{name}"
        for arm in ("balanced", "unbalanced")
        for seed in (0, 1)
        for name in ("predictions.npz", "result.json")
    ]
    assert {"spec.yaml", "report.csv", "summary.csv", *runs} <= set(names(tmp_path / "cli"))  # the scan found them
    for name in ("report.csv", "report.md", "summary.csv"):
        assert (tmp_path / "cli" / name).read_text() == (tmp_path / "api" / name).read_text(), name
