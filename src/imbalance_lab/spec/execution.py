"""``tracking`` and ``execution``: where runs are logged and how they execute (never part of a hash)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from imbalance_lab.spec.base import Strict


class TrackingSpec(Strict):
    """Where runs are logged besides the results directory (never part of any hash)."""

    mlflow: bool = True
    mlflow_uri: str | None = None  # default: a SQLite store in the results directory


class DistributedSpec(Strict):
    """One run across ``processes`` processes (data parallel): each takes its share of every batch and the
    gradients are summed over them before each step; ``gloo`` on a CPU, ``nccl`` on GPUs (``auto``)."""

    processes: Annotated[int, Field(ge=2, le=1024)]
    backend: Literal["auto", "gloo", "nccl"] = "auto"
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None  # torch threads per process; default: cores / processes


class ExecutionSpec(Strict):
    """Where and how the runs execute (never part of any hash; the command line overrides it).

    ``executor``: ``auto`` picks the fastest layout measured for the machine and
    says what it chose (on CPU, one single-thread worker process per core);
    ``local`` runs in this process; ``process`` in ``workers`` processes of
    ``threads`` torch threads each; ``ray`` as tasks on a Ray cluster of
    ``threads`` CPUs each (and one GPU when training on CUDA): a local cluster
    started for the experiment with one CPU per core, or the running cluster at
    ``address`` (its head's ``host:port``, or ``ray://host:port`` for Ray
    Client). An ``address`` implies ``ray`` (with ``auto``); with ``local`` or
    ``process`` it is an error. ``auto`` never picks ``ray``. A failed run is
    tried ``max_retries`` more times while the others go on.

    ``memory_format``: how convolution activations are laid out. ``auto`` is
    channels-last on CPU (the seed CNN trains 1.3× and predicts 2× faster there:
    max pooling is much quicker on it; docs/benchmarks.md) and on a GPU under
    bf16/fp16 (tensor cores want it), contiguous for fp32 on a GPU. ``compile``
    runs the model's backbone through ``torch.compile`` (worth it for long runs
    of larger models on a GPU; the first epoch pays for compilation). Neither
    changes what is computed, only the order of floating-point sums, so results
    can differ in the last bits between settings (recorded in each run's
    provenance); with the same settings and threads they are bit for bit the same.
    ``share_prefixes``: runs of one seed that train alike up to an epoch (an
    arm and the same arm with DRW, DRS, cRT or τ-normalisation added) train
    those epochs once and branch from a snapshot, with the same results.
    ``distributed``: each run trains across ``processes`` processes of its own (see :class:`DistributedSpec`),
    one run after another (the executor is then local).
    ``save_weights``: each run also stores its final weights (``model.pt``, a
    state dict), e.g. to serve as another experiment's ``model.pretrained``; runs
    finished before it was set keep none. ``feature_cache``: with a frozen
    backbone and no augmentation, each image's features are computed once and
    cached on disk (:mod:`imbalance_lab.features`), and only the head trains.
    """

    executor: Literal["auto", "local", "process", "ray"] = "auto"
    workers: Annotated[int, Field(ge=1, le=1024)] | None = None
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None
    max_retries: Annotated[int, Field(ge=0, le=100)] = 0
    address: Annotated[str, Field(min_length=1)] | None = None
    memory_format: Literal["auto", "channels_last", "contiguous"] = "auto"
    compile: bool = False
    share_prefixes: bool = True
    save_weights: bool = False
    feature_cache: bool = True
    distributed: DistributedSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _address_means_ray(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("address") is not None and data.get("executor", "auto") == "auto":
            return {**data, "executor": "ray"}
        return data

    @model_validator(mode="after")
    def _address_only_for_ray(self) -> ExecutionSpec:
        if self.address is not None and self.executor != "ray":
            raise ValueError(
                f"address {self.address!r} is for the ray executor, not {self.executor!r}; "
                "use executor ray (--executor ray) or leave the address out"
            )
        if self.distributed is not None and self.executor not in ("auto", "local"):
            raise ValueError(
                f"distributed runs start their own processes, one run after another, so the executor is local, "
                f"not {self.executor!r}; set executor: local (or auto), or leave distributed out"
            )
        return self
