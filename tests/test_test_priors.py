"""Scores under other test priors: the reweighted confusion matrix against scikit-learn's sample weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, precision_score

from imbalance_lab.metrics import confusion_matrix
from imbalance_lab.metrics.priors import long_tail_prior, prior_metrics, protocol_priors, reweighted_confusion


def test_long_tail_priors_by_hand():
    counts = np.array([10, 100, 1])  # ranks by training count: class 1, then 0, then 2
    forward = long_tail_prior(counts, 100.0)
    raw = np.array([100**-0.5, 1.0, 100**-1.0])  # ρ^(−r/(C−1)) with r = 1, 0, 2
    np.testing.assert_allclose(forward, raw / raw.sum())
    backward = long_tail_prior(counts, 100.0, backward=True)
    np.testing.assert_allclose(backward, np.array([100**-0.5, 100**-1.0, 1.0]) / raw.sum())
    np.testing.assert_allclose(long_tail_prior(counts, 1.0), [1 / 3] * 3)
    labels = [label for label, _, _ in protocol_priors(counts)]
    assert labels == [
        "forward 50", "forward 25", "forward 10", "forward 5", "forward 2", "uniform",
        "backward 2", "backward 5", "backward 10", "backward 25", "backward 50",
    ]  # fmt: skip


@pytest.mark.parametrize("prior", [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]])
def test_prior_metrics_equal_scikit_learn_with_sample_weights(prior):
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [40, 25, 35])
    predictions = np.where(rng.random(100) < 0.7, labels, rng.integers(0, 3, 100))
    cm = confusion_matrix(labels, predictions, 3)
    n = np.bincount(labels, minlength=3)
    weights = (np.asarray(prior) / (n / n.sum()))[labels]  # each image stands for q_c / p_c images
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = prior_metrics(cm, np.asarray(prior))
        expected = {
            "accuracy": accuracy_score(labels, predictions, sample_weight=weights),
            "balanced_accuracy": balanced_accuracy_score(labels, predictions, sample_weight=weights),
            "macro_f1": f1_score(labels, predictions, average="macro", sample_weight=weights, zero_division=0),
            "macro_precision": precision_score(
                labels, predictions, average="macro", sample_weight=weights, zero_division=0
            ),
        }
    assert got == pytest.approx(expected, abs=1e-12)
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predictions))  # recall stays


def test_a_prior_on_a_class_without_test_images_is_refused():
    cm = np.array([[5, 1], [0, 0]])
    with pytest.raises(ValueError, match="no test images"):
        reweighted_confusion(cm, np.array([0.5, 0.5]))
    np.testing.assert_allclose(reweighted_confusion(cm, np.array([1.0, 0.0])), cm)


def test_weighted_em_is_em_on_the_set_with_rows_repeated():
    from imbalance_lab.decisions.prior import em_deployment_prior

    rng = np.random.default_rng(1)
    probs = rng.dirichlet([2.0, 1.0, 1.0], size=30)
    train = np.array([0.5, 0.3, 0.2])
    repeats = rng.integers(1, 4, size=30)
    weighted = em_deployment_prior(probs, train, tol=1e-12, weights=repeats.astype(float))
    repeated = em_deployment_prior(np.repeat(probs, repeats, axis=0), train, tol=1e-12)
    np.testing.assert_allclose(weighted.prior, repeated.prior, atol=1e-9)
    with pytest.raises(ValueError, match="weights: expected 30 finite weights > 0"):
        em_deployment_prior(probs, train, weights=np.zeros(30))


def test_a_fitted_em_correction_reads_the_set_and_a_fixed_one_does_not():
    from imbalance_lab.decisions import DECISION_RULES, DecisionContext

    rng = np.random.default_rng(2)
    logits = rng.normal(size=(40, 3))
    labels = rng.integers(0, 3, size=40)
    context = DecisionContext(train_prior=np.array([0.6, 0.3, 0.1]), deploy_prior=np.array([1 / 3] * 3))
    em = DECISION_RULES.create("prior_correction", prior="em").fit(labels, logits, context)
    fixed = DECISION_RULES.create("prior_correction").fit(labels, logits, context)
    weights = np.where(labels == 2, 5.0, 1.0)
    assert em.reads_the_set and not fixed.reads_the_set
    assert not np.allclose(em.apply(logits, weights), em.apply(logits))  # the estimate follows the weights
    np.testing.assert_array_equal(fixed.apply(logits, weights), fixed.apply(logits))


def test_a_run_scored_under_the_protocols_priors(tiny_spec, tmp_path):
    from sklearn.metrics import accuracy_score

    from imbalance_lab import api
    from imbalance_lab.analysis.shifted_priors import prior_scores

    tiny_spec["seeds"] = [0, 1]
    tiny_spec["arms"] = tiny_spec["arms"][:2]
    tiny_spec["decisions"] = {"rules": [{"prior_correction": {"prior": "em"}}, "logit_adjust"], "arms": ["unbalanced"]}
    tiny_spec["evaluation"] = {"test_priors": [10, 2]}
    out = tmp_path / "out"
    api.run(tiny_spec, out, progress=None)
    analysis, _ = api.report(out)
    scores = prior_scores(analysis)
    assert scores.labels == ("forward 10", "forward 2", "uniform", "backward 2", "backward 10")
    em_arm = next(a for a in analysis.arms if "prior_correction" in a)
    assert scores.adapting == (em_arm,)
    labels = analysis.sets["test"].labels
    frequencies = np.bincount(labels) / labels.size
    arm = analysis.arms[0]
    for i, seed in enumerate(scores.seeds[arm]):
        probs = next(r for r in analysis.runs if r.arm == arm and r.seed == seed).predictions()["test_probs"]
        for j, prior in enumerate(scores.priors):
            weights = (prior / frequencies)[labels]
            expected = accuracy_score(labels, probs.argmax(axis=1), sample_weight=weights)
            assert scores.values[arm]["accuracy"][i, j] == pytest.approx(expected, abs=1e-12)
    uniform = scores.labels.index("uniform")
    table = analysis.sets["test"].table[arm]["balanced_accuracy"].values
    np.testing.assert_allclose(scores.values[arm]["balanced_accuracy"][:, uniform], table)  # recall does not move
    # EM re-estimates each reweighted set's prior: its decisions change with it, a fixed rule's do not
    fixed = next(a for a in analysis.arms if "logit_adjust" in a)
    assert not np.allclose(
        scores.values[em_arm]["balanced_accuracy"], scores.values[em_arm]["balanced_accuracy"][:, :1]
    )
    assert np.allclose(scores.values[fixed]["balanced_accuracy"], scores.values[fixed]["balanced_accuracy"][:, :1])
    report = (out / "report.md").read_text()
    assert "## Under other test priors" in report and "| forward 10 | forward 2 | uniform |" in report
    assert "Under other test priors" in (out / "report.html").read_text()


def test_the_notebook_gives_the_scores_as_a_dataframe(tiny_spec, tmp_path):
    from imbalance_lab import experiment

    tiny_spec["seeds"] = [0]
    tiny_spec["arms"] = tiny_spec["arms"][:2]
    tiny_spec["evaluation"] = {"test_priors": True}
    exp = experiment.run_experiment(tiny_spec, tmp_path / "out", progress=None)
    frame = exp.test_priors()
    assert len(frame) == 2 * 11 * 4  # arms × priors × metrics, one seed
    assert set(frame["prior"]) >= {"forward 50", "uniform", "backward 50"} and not frame["adapts"].any()
    tiny_spec["evaluation"] = None
    assert experiment.run_experiment(tiny_spec, tmp_path / "off", progress=None).test_priors().empty
