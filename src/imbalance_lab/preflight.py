"""What is checked before anything trains: the spec read, its data and model checked against the source,
the reference arm and the disk space.

:func:`check` is ``imbalance-lab validate``'s answer, from the registries' declarations where the spec allows
(no image read, no model built, torch not imported); :func:`validate` loads the data and builds the model once,
as a run does first. The heavy modules (prepared data, the trainer's device, the models) are imported only by
the checks that need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from imbalance_lab.errors import SpecError, StoreError, UserError
from imbalance_lab.spec import ExperimentSpec, build_spec, load_spec

if TYPE_CHECKING:
    from imbalance_lab.prepared import ExperimentData
    from imbalance_lab.splits import DataPlan


def as_spec(spec: ExperimentSpec | str | Path | dict) -> ExperimentSpec:
    """A spec object from an object, a YAML path or plain data."""
    if isinstance(spec, ExperimentSpec):
        return spec
    if isinstance(spec, dict):
        return build_spec(spec)
    if not isinstance(spec, str | os.PathLike):
        raise UserError(
            f"spec: got {spec!r} ({type(spec).__name__}); give the path of a YAML spec, a dict of its "
            f"contents or an ExperimentSpec, e.g. run_experiment('examples/cats_vs_dogs.yaml')"
        )
    return load_spec(spec)


def validate(spec: ExperimentSpec | str | Path | dict) -> tuple[ExperimentSpec, ExperimentData]:
    """Check a spec, its data (counts against the source) and its device without training."""
    from imbalance_lab.prepared import prepare_data
    from imbalance_lab.train import resolve_device

    spec = as_spec(spec)
    resolve_device(spec.training.device)
    data = prepare_data(spec)
    check_model(spec, data)
    return spec, data


def check(spec: ExperimentSpec | str | Path | dict) -> tuple[ExperimentSpec, DataPlan]:
    """What ``imbalance-lab validate`` answers: the spec, its data plan (the counts of every set and arm,
    against the source), its model and its device checked, without training.

    Where the source knows its labels without reading an image (its declaration gives them: a generated
    source), the model's declaration refuses every input it cannot be built for (``input_checked``; no
    weights to load, nothing frozen) and the device is ``cpu`` or ``auto`` (which falls back to the CPU),
    the answer is the declarations' alone: no image is loaded, no model built and torch is not imported.
    Otherwise the data are loaded and the model built once, as :func:`validate` does before a run.
    """
    from imbalance_lab.declarations import MODELS, SOURCES
    from imbalance_lab.splits import DataPlan, plan_data

    spec = as_spec(spec)
    source = spec.data.source
    labels = SOURCES.entry(source.name).declaration(**SOURCES.check_params(source.name, source.params))
    model = spec.model
    declared_model = MODELS.entry(model.name).declaration
    if (
        labels is None
        or spec.training.device not in ("cpu", "auto")
        or model.pretrained is not False
        or model.freeze != "none"
        or not getattr(declared_model, "input_checked", False)
    ):
        from imbalance_lab.prepared import source_labels

        spec, data = validate(spec)
        return spec, DataPlan(data.resolved, data.plan, source_labels(data.source))
    planned = plan_data(spec, labels)
    try:
        declared_model(
            labels.channels,
            labels.image_size,
            len(planned.class_names),
            **MODELS.check_params(model.name, model.params, "model"),
        )
    except ValueError as err:
        raise model_refused(model.name, err) from None
    return spec, planned


def check_model(spec: ExperimentSpec, data: ExperimentData) -> None:
    """Build the spec's model once for the data (published weights fetched into the local cache first,
    a weights file loaded, the freeze applied), so that a model that cannot be built for these images
    is one line before anything runs, not a failure in every run."""
    from imbalance_lab.models.hub import fetch_published
    from imbalance_lab.models.weights import build_model

    fetch_published(spec.model)
    try:
        build_model(spec.model, data.source.channels, data.source.image_size, len(data.class_names))
    except ValueError as err:
        raise model_refused(spec.model.name, err) from None


def model_refused(name: str, err: ValueError) -> SpecError:
    """The one line for images a model cannot take, whether its declaration or its build refused them."""
    return SpecError("model", f"{name}: {err}")


def check_reference(spec: ExperimentSpec, reference: str | None) -> None:
    """``reference`` must name an arm of the spec (checked before anything trains)."""
    names = [arm.name for arm in spec.arms] + list(spec.decision_arms())
    if reference is not None and reference not in names:
        raise UserError(f"--reference: got {reference!r}, not an arm of {spec.name}; valid: {', '.join(names)}")


def expected_bytes(spec: ExperimentSpec, data: ExperimentData, runs: int) -> int:
    """A generous estimate of the disk space ``runs`` finished runs take (predictions stored uncompressed)."""
    n_classes = len(data.class_names)
    rows = sum(sum(data.resolved.set_counts[name]) for name in spec.data.eval_sets)
    per_run = rows * (8 + 2 * 4 * n_classes) + spec.training.epochs * 4096 + 64 * 1024
    if spec.selection is not None:  # every epoch's logits of every evaluation set
        per_run += rows * 4 * n_classes * spec.training.epochs
    return runs * per_run


def check_disk_space(spec: ExperimentSpec, data: ExperimentData, root: Path, runs: int) -> None:
    """Refuse before training when the runs to do would not fit on the results directory's disk."""
    from imbalance_lab.store import free_bytes

    need, free = expected_bytes(spec, data, runs), free_bytes(root)
    if need > free:
        raise StoreError(
            f"{root}: {runs} runs need about {need / 1e6:.1f} MB for their predictions but only "
            f"{free / 1e6:.1f} MB are free there; free some space or give --out another disk"
        )
