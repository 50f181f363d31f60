"""Long-tail groups: accuracy over the many-, medium- and few-shot classes (Liu et al. 2019, arXiv:1904.05160)."""

from __future__ import annotations

import numpy as np

from imbalance_lab.metrics.checks import check_train_counts, safe_divide, warn_undefined
from imbalance_lab.metrics.counts import class_counts, classes_text, confusion_matrix

MANY_SHOT_ABOVE: int = 100
"""A class with more than this many training images is "many-shot" (Liu et al. 2019)."""


FEW_SHOT_BELOW: int = 20
"""A class with fewer than this many training images is "few-shot"; the rest are "medium"."""


def _shot_groups(train_counts: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of the many / medium / few-shot classes by training count."""
    return {
        "many": train_counts > MANY_SHOT_ABOVE,
        "medium": (train_counts >= FEW_SHOT_BELOW) & (train_counts <= MANY_SHOT_ABOVE),
        "few": train_counts < FEW_SHOT_BELOW,
    }


def shot_accuracies(cm: np.ndarray, train_counts: np.ndarray) -> tuple[dict[str, float | list[int]], list[str]]:
    """Group accuracies and class lists from a confusion matrix, plus the problems to warn about."""
    tp, _, actual = class_counts(cm)
    recall = safe_divide(tp, actual)
    out: dict[str, float | list[int]] = {}
    problems = []
    groups = _shot_groups(train_counts)
    for group, members in groups.items():
        scored = members & (actual > 0)
        out[f"{group}_shot_accuracy"] = float(recall[scored].mean()) if scored.any() else float("nan")
        if members.any() and not scored.any():
            problems.append(f"{group}_shot_accuracy (its class(es) {classes_text(members)} do not occur in the labels)")
    for group, members in groups.items():
        out[f"{group}_shot_classes"] = np.flatnonzero(members).tolist()
    return out, problems


def shot_group_accuracy(
    labels: np.ndarray, predictions: np.ndarray, train_counts: np.ndarray
) -> dict[str, float | list[int]]:
    """Accuracy on the many-, medium- and few-shot classes of a long-tailed training set.

    The split of Liu et al. (2019): a class is "many-shot" with more than
    :data:`MANY_SHOT_ABOVE` (100) training images, "few-shot" with fewer than
    :data:`FEW_SHOT_BELOW` (20), "medium-shot" otherwise (20 to 100 inclusive).
    Shows whether a method helps the tail or only moves accuracy around.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``, ``C = len(train_counts)``.
    predictions : np.ndarray
        1-D integer array of predicted class indices, same length as ``labels``.
    train_counts : np.ndarray
        1-D integer array: number of training images of each class.

    Returns
    -------
    dict
        ``many_shot_accuracy``, ``medium_shot_accuracy``, ``few_shot_accuracy``
        (floats): the mean per-class recall over the group's classes that
        occur in ``labels`` (each class counts equally, as in balanced
        accuracy; a group's classes absent from the evaluation set are left
        out), ``nan`` when the group has no class or none of them occurs in
        ``labels``; then ``many_shot_classes``, ``medium_shot_classes``,
        ``few_shot_classes``: the class indices of each group (lists of int,
        from ``train_counts`` alone).

    Raises
    ------
    ValueError
        If ``train_counts`` is not a non-empty 1-D array of non-negative
        integers, or ``labels`` / ``predictions`` are invalid for ``C`` classes.

    Warns
    -----
    UndefinedMetricWarning
        Once, naming each group that has classes but none in ``labels`` (its
        accuracy is ``nan``). An empty group is ``nan`` without a warning.

    References
    ----------
    Liu, Z., Miao, Z., Zhan, X., Wang, J., Gong, B., Yu, S. X. (2019).
    Large-Scale Long-Tailed Recognition in an Open World. CVPR.
    arXiv:1904.05160.
    """
    counts = check_train_counts(train_counts)
    cm = confusion_matrix(labels, predictions, counts.shape[0])
    out, problems = shot_accuracies(cm, counts)
    warn_undefined(problems, outcome="set to nan")
    return out
