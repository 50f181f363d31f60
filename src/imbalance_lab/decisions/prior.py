"""Prior shift: post-hoc logit adjustment (Menon et al. 2021, arXiv:2007.07314) and Saerens et al.'s prior
correction with its EM estimate of an unknown deployment prior (Neural Computation 14(1), 2002)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import Annotated, Literal

import numpy as np
from pydantic import Field
from scipy import special

from imbalance_lab.decisions.base import DECISION_RULES, DecisionContext, DecisionRule, FittedDecision, format_numbers
from imbalance_lab.decisions.checks import check_logits, check_prior, check_real
from imbalance_lab.metrics.checks import (
    check_probs,
)


def logit_adjust(logits: np.ndarray, prior: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Post-hoc logit adjustment: ``logits - tau * log(prior)``.

    Subtracting the log training prior undoes the pull of a frequent class on
    the argmax; with ``tau = 1`` the argmax targets the balanced error (every
    class weighted equally), as a correction to a uniform deployment prior.

    Parameters
    ----------
    logits : np.ndarray
        Array of shape ``(N, C)``, ``C >= 2``, of finite scores.
    prior : np.ndarray
        Training class prior: ``C`` entries > 0 summing to 1.
    tau : float, default 1.0
        Strength of the adjustment, ``>= 0``; ``0`` leaves the logits unchanged.

    Returns
    -------
    np.ndarray
        ``float64`` array of shape ``(N, C)``.

    Raises
    ------
    ValueError
        If ``logits`` is not a finite N x C matrix, ``prior`` is not a valid
        training prior for ``C`` classes, or ``tau`` is negative or not finite.

    References
    ----------
    Menon, A. K., Jayasumana, S., Rawat, A. S., Jain, H., Veit, A., Kumar, S.
    (2021). Long-tail learning via logit adjustment. ICLR. arXiv:2007.07314.
    (post-hoc correction, their eq. 9)

    Examples
    --------
    >>> logit_adjust(np.array([[1.0, 1.0]]), np.array([0.5, 0.5]), tau=0.0)
    array([[1., 1.]])
    """
    z = check_logits(logits)
    pi = check_prior("prior", prior, z.shape[1], strictly_positive=True)
    t = check_real("tau", tau, low=0.0)
    return z - t * np.log(pi)


def prior_correction(probs: np.ndarray, train_prior: np.ndarray, deploy_prior: np.ndarray) -> np.ndarray:
    """Move posteriors from the training prior to a deployment prior.

    Bayes' rule with the class-conditional densities held fixed:
    ``p'(y|x) ∝ p(y|x) · π'(y) / π(y)``, renormalised per row. With calibrated
    posteriors this is the posterior the model would have given had it been
    trained at the deployment prior.

    Parameters
    ----------
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``; each row
        must have a positive sum (rows need not sum to 1, they are renormalised).
    train_prior : np.ndarray
        The prior the model was trained at: ``C`` entries > 0 summing to 1.
    deploy_prior : np.ndarray
        The deployment prior: ``C`` entries >= 0 summing to 1.

    Returns
    -------
    np.ndarray
        ``float64`` array of shape ``(N, C)``, rows summing to 1. With
        ``deploy_prior == train_prior`` the rows of ``probs`` renormalised.

    Raises
    ------
    ValueError
        If ``probs`` is malformed, a prior is invalid, or a row has no weight
        left after the correction (all of its mass on classes of deployment prior 0).

    References
    ----------
    Saerens, M., Latinne, P., Decaestecker, C. (2002). Adjusting the outputs of
    a classifier to new a priori probabilities: a simple procedure. Neural
    Computation 14(1). (their eq. 2.4)

    Examples
    --------
    >>> prior_correction(np.array([[0.6, 0.4]]), np.array([0.8, 0.2]), np.array([0.5, 0.5])).round(4)
    array([[0.2727, 0.7273]])
    """
    p = check_probs(probs)
    pi = check_prior("train_prior", train_prior, p.shape[1], strictly_positive=True)
    pi_new = check_prior("deploy_prior", deploy_prior, p.shape[1], strictly_positive=False)
    return _reweight(p, pi_new / pi)


def _reweight(p: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Rows of ``p * ratio``, renormalised; a row left with no weight is an error."""
    weighted = p * ratio
    total = weighted.sum(axis=1, keepdims=True)
    empty = np.flatnonzero(total[:, 0] <= 0.0)
    if empty.size:
        raise ValueError(
            f"probs: expected every row to keep a positive weight after the correction, got row "
            f"{int(empty[0])} with none (all its probability on classes of deployment prior 0)"
        )
    return weighted / total


@dataclass(frozen=True)
class EstimatedPrior:
    """A deployment prior estimated by EM: the prior, the EM updates made and whether they converged."""

    prior: np.ndarray
    n_iter: int
    converged: bool


def em_deployment_prior(
    probs: np.ndarray,
    train_prior: np.ndarray,
    tol: float = 1e-6,
    max_iter: int = 1000,
    weights: np.ndarray | None = None,
) -> EstimatedPrior:
    """Estimate the class prior of an unlabelled set from the model's posteriors (EM).

    Alternates the E-step ``p_s = prior_correction(probs, train_prior, π_s)``
    and the M-step ``π_{s+1} = mean over the rows of p_s``, starting from
    ``π_0 = train_prior``. Each step does not decrease the likelihood of the
    set under the mixture ``Σ_y π(y) p(x|y)``, whose maximum it approaches.
    With calibrated posteriors of a known mixture, the fixed point is the
    set's true class prior.

    Parameters
    ----------
    probs : np.ndarray
        Array of shape ``(N, C)`` of the model's posteriors on the unlabelled set.
    train_prior : np.ndarray
        The prior the model was trained at: ``C`` entries > 0 summing to 1.
    tol : float, default 1e-6
        Stop when no class frequency moves by more than ``tol`` in one update.
    max_iter : int, default 1000
        Most EM updates.
    weights : np.ndarray, optional
        ``N`` weights > 0: row ``i`` stands for ``weights[i]`` images (the M-step's mean is weighted), as
        for a set reweighted to another class prior.

    Returns
    -------
    EstimatedPrior
        ``prior`` (``C`` floats summing to 1), ``n_iter`` (the updates made; the
        last one moved less than ``tol`` when ``converged``) and ``converged``.

    Raises
    ------
    ValueError
        If ``probs`` / ``train_prior`` are invalid (see :func:`prior_correction`),
        ``tol`` is not > 0 or ``max_iter`` not an integer >= 1.

    Warns
    -----
    RuntimeWarning
        When ``max_iter`` updates end without converging.

    References
    ----------
    Saerens, M., Latinne, P., Decaestecker, C. (2002). Adjusting the outputs of
    a classifier to new a priori probabilities: a simple procedure. Neural
    Computation 14(1). (their eqs. 2.9-2.10)
    """
    p = check_probs(probs)
    pi = check_prior("train_prior", train_prior, p.shape[1], strictly_positive=True)
    tolerance = check_real("tol", tol, low=0.0, low_open=True)
    if isinstance(max_iter, bool) or not isinstance(max_iter, Integral) or max_iter < 1:
        raise ValueError(f"max_iter: expected an integer >= 1, got {max_iter!r}")
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (p.shape[0],) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(f"weights: expected {p.shape[0]} finite weights > 0, one per row of probs")
        w = w / w.sum()
    estimate = pi.copy()
    change = math.inf
    for step in range(1, int(max_iter) + 1):
        corrected = _reweight(p, estimate / pi)
        updated = corrected.mean(axis=0) if weights is None else w @ corrected
        change = float(np.abs(updated - estimate).max())
        estimate = updated
        if change < tolerance:
            return EstimatedPrior(_frozen(estimate), step, True)
    warnings.warn(
        f"EM did not converge in {max_iter} updates (last change {change:.3g} >= tol {tolerance:g}); "
        "raise max_iter or tol",
        RuntimeWarning,
        stacklevel=2,
    )
    return EstimatedPrior(_frozen(estimate), int(max_iter), False)


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64)
    arr.flags.writeable = False
    return arr


@DECISION_RULES.register
class LogitAdjust(DecisionRule):
    """Post-hoc logit adjustment by the training prior: ``softmax(logits − tau · log π)``.

    Parameters
    ----------
    tau : float, default 1.0
        Strength, ``>= 0``; 1 aims the argmax at the balanced error.

    References
    ----------
    Menon, A. K. et al. (2021). Long-tail learning via logit adjustment. ICLR. arXiv:2007.07314.
    """

    name = "logit_adjust"

    def __init__(self, tau: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0) -> None:
        self.tau = check_real("tau", tau, low=0.0)

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        prior = self._train_prior(context, logits.shape[1])
        tau = self.tau
        return FittedDecision(
            rule=self.name,
            params={"tau": tau, "train_prior": prior.tolist()},
            description=f"logit adjustment, tau {tau:g} (training prior {format_numbers(prior)})",
            n_classes=logits.shape[1],
            transform=lambda z: special.softmax(logit_adjust(z, prior, tau), axis=1),
        )


@DECISION_RULES.register
class PriorCorrection(DecisionRule):
    """Move the softmax posteriors from the training prior to the deployment prior (Saerens et al. 2002).

    The deployment prior comes from the context (fixed frequencies, or ``"em"``),
    or with ``prior="em"`` it is estimated, unlabelled, on each set the rule is
    applied to (:func:`em_deployment_prior`).

    Parameters
    ----------
    prior : {"deployment", "em"}, default "deployment"
        ``deployment``: the context's deployment prior; ``em``: the EM estimate.

    References
    ----------
    Saerens, M., Latinne, P., Decaestecker, C. (2002). Adjusting the outputs of
    a classifier to new a priori probabilities: a simple procedure. Neural Computation 14(1).
    """

    name = "prior_correction"

    def __init__(self, prior: Literal["deployment", "em"] = "deployment") -> None:
        if prior not in ("deployment", "em"):
            raise ValueError(f"prior: expected 'deployment' or 'em', got {prior!r}")
        self.prior = prior

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        c = logits.shape[1]
        train = self._train_prior(context, c)
        deploy = "em" if self.prior == "em" else context.deploy_prior
        if isinstance(deploy, str) and deploy == "em":
            return FittedDecision(
                rule=self.name,
                params={"train_prior": train.tolist(), "deploy_prior": "em"},
                description="prior correction to the deployment prior EM estimates on each set",
                n_classes=c,
                transform=lambda z: _em_correct(special.softmax(z, axis=1), train),
                weighted_transform=lambda z, w: _em_correct(special.softmax(z, axis=1), train, w),
            )
        if deploy is None or isinstance(deploy, str):
            raise ValueError(
                f"context.deploy_prior: expected {c} class frequencies summing to 1 or 'em' for the "
                f"prior_correction rule, got {deploy!r}"
            )
        target = check_prior("context.deploy_prior", deploy, c, strictly_positive=False)
        return FittedDecision(
            rule=self.name,
            params={"train_prior": train.tolist(), "deploy_prior": target.tolist()},
            description=f"prior correction to {format_numbers(target)}",
            n_classes=c,
            transform=lambda z: prior_correction(special.softmax(z, axis=1), train, target),
        )


def _em_correct(probs: np.ndarray, train: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    return prior_correction(probs, train, em_deployment_prior(probs, train, weights=weights).prior)
