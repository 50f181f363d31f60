"""One run is a pure function of (spec, arm, seed); an experiment is every arm × seed.

``run_one`` is what executors call and what tracking wraps: plain inputs,
plain outputs, no globals read. Given the same seed it returns the same numbers
on CPU.
"""

from __future__ import annotations

import dataclasses
import platform
import time
import warnings

import numpy as np
import torch

from imbalance_lab.metrics import classification_metrics
from imbalance_lab.models.weights import build_model
from imbalance_lab.prepared import ExperimentData, prepare_data
from imbalance_lab.results import RunResult, SetPredictions
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.strategies import build_pipeline
from imbalance_lab.strategies.distributed import World
from imbalance_lab.train import (
    Compute,
    DeviceSet,
    EpochCallback,
    RunPlan,
    Snapshot,
    SnapshotCallback,
    fit,
    predict_logits,
    trains_on_features,
)
from imbalance_lab.version import __version__


def final_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict on the CPU, under the names of the uncompiled model."""
    return {k.replace("_orig_mod.", ""): v.detach().cpu().clone() for k, v in model.state_dict().items()}


def run_one(
    spec: ExperimentSpec,
    arm: str,
    seed: int,
    *,
    data: ExperimentData | None = None,
    on_epoch: EpochCallback | None = None,
    resume: Snapshot | None = None,
    snapshot_at: frozenset[int] = frozenset(),
    on_snapshot: SnapshotCallback | None = None,
    world: World | None = None,
) -> RunResult:
    """Train and score one arm with one seed.

    ``data`` may be passed by an executor that prepared it once for many runs;
    the result is the same as when ``run_one`` prepares it itself. With
    ``data.resample: per_seed`` the run trains on its seed's data draw
    (:meth:`~imbalance_lab.spec.ExperimentSpec.draw_of`), whose sets are derived
    here from the shared plan; ``seed`` is the training seed either way. ``resume``,
    ``snapshot_at`` and ``on_snapshot`` share the epochs two arms train alike
    (see :mod:`imbalance_lab.executors.branching`): the result is the same as
    training from the start. ``world`` is this process's rank when one run trains across several processes
    (:mod:`imbalance_lab.executors.distributed`): each rank takes its share of every batch and every rank
    scores the same model, so each returns the same result.
    """
    started = time.perf_counter()
    arm_spec = spec.arm(arm)
    data = data if data is not None else prepare_data(spec)
    compute = Compute.of(spec.training, spec.execution)
    device = compute.device
    names = data.class_names
    draw = spec.draw_of(seed)
    split = data.split(draw)

    torch.manual_seed(seed)  # model initialisation and dropout
    generator = torch.Generator().manual_seed(seed)  # epoch order and resampling
    train_indices = split.train_indices(data.resolved.arm_counts[arm])
    train_set = data.subset(train_indices)
    model = build_model(spec.model, data.source.channels, data.source.image_size, len(names))
    pipeline = build_pipeline([(s.name, s.params) for s in arm_spec.strategy], names)
    model = compute.prepare(pipeline.adapt_model(model))
    if world is not None and world.rank > 0:  # the same weights on every rank; each rank's own dropout masks
        torch.manual_seed(int(np.random.SeedSequence([seed, world.rank]).generate_state(1)[0]))
    eval_sets = {name: data.subset(split.sets[name]) for name in spec.data.eval_sets}
    device_sets = {
        name: DeviceSet.of(subset, device) for name, subset in [("train", train_set), ("val", eval_sets["val"])]
    }
    on_features = spec.execution.feature_cache and trains_on_features(model, pipeline, spec.training, names)
    if on_features:  # a frozen backbone and no augmentation: its features once, only the head trains
        from imbalance_lab.features import feature_bank

        bank = feature_bank(spec, data, model, compute)
        indices = {
            "train": train_indices,
            **{name: split.sets[name] for name in spec.data.eval_sets},
        }
        labelled = {"train": train_set, **eval_sets}
        device_sets = {
            name: DeviceSet.of_features(bank.take(idx), labelled[name].labels, device) for name, idx in indices.items()
        }
    monitor = {}  # the evaluation sets besides val that a selection or stopping rule reads every epoch
    for name in {rule.set for rule in spec.training.rules.values()} - {"val"}:
        if name not in device_sets:
            device_sets[name] = DeviceSet.of(eval_sets[name], device)
        monitor[name] = device_sets[name]
    record = None
    if spec.selection is not None:  # every evaluation set's logits at every epoch, for the selection study
        for name in spec.data.eval_sets:
            if name not in device_sets:
                device_sets[name] = DeviceSet.of(eval_sets[name], device)
        record = {name: device_sets[name] for name in spec.data.eval_sets}
    run = RunPlan(
        device_sets["train"],
        device_sets["val"],
        pipeline,
        spec.training,
        generator,
        names,
        data.positive,
        compute,
        monitor=monitor,
        record=record,
        resume=resume,
        snapshot_at=snapshot_at,
        world=world,
    )
    fitted = fit(
        model,
        run,
        on_epoch,
        None if on_snapshot is None else lambda snap: on_snapshot(dataclasses.replace(snap, arm=arm)),
    )
    predictions, metrics, notes = {}, {}, []
    for name, subset in eval_sets.items():
        if name == "val" and fitted.val_logits is not None:  # scored at the last epoch: not predicted twice
            logits = fitted.val_logits
        else:
            inputs = device_sets[name].images if on_features else subset.images.to(device)
            logits = predict_logits(model, inputs, spec.training.eval_batch_size, compute, features=on_features)
        probs = torch.softmax(logits, dim=1).cpu().numpy()
        labels = subset.labels.numpy().astype(np.int64)
        predictions[name] = SetPredictions(labels, probs.astype(np.float32), logits.cpu().numpy().astype(np.float32))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            metrics[name] = classification_metrics(labels, probs, positive=data.positive)
        notes += [f"{name}: {w.message}" for w in caught]
    counts = torch.bincount(train_set.labels, minlength=len(names)).tolist()
    return RunResult(
        arm=arm,
        seed=seed,
        spec_hash=spec.spec_hash(),
        run_hash=spec.run_hash(arm_spec, seed),
        draw=draw,
        definition=spec.run_definition(arm_spec, seed),
        train_counts=dict(zip(names, counts, strict=True)),
        classes=data.resolved.classes.member_names(data.source.class_names),
        history=fitted.history,
        metrics=metrics,
        predictions=predictions,
        wall_time_s=round(time.perf_counter() - started, 3),
        timing={"images_trained": fitted.images_trained, "train_s": round(fitted.train_s, 3)},
        selected_epoch=fitted.selected_epoch,
        stopped_epoch=fitted.stopped_epoch,
        epoch_logits=None
        if fitted.epoch_logits is None
        else {name: logits.numpy().astype(np.float32) for name, logits in fitted.epoch_logits.items()},
        weights=final_weights(model) if spec.execution.save_weights else None,
        warnings=notes,
        provenance={
            "imbalance_lab": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            **compute.provenance(),
            **({"branched_from": {"arm": resume.arm, "epoch": resume.epoch}} if resume is not None else {}),
            **({"processes": world.size} if world is not None else {}),
        },
    )
