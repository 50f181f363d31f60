"""One arm's training stream shared by several processes: each rank takes its share of every global batch.

Samplers that weight, over- or under-sample classes are a long-standing gap under data parallelism (PyTorch
#77154, Lightning #10946, accelerate #2865, MONAI #1742, torchsampler #9): ``DistributedSampler`` shards a
fixed dataset, and the usual wrappers shard a weighted sampler's draws per process, so the stream a run sees
depends on the number of processes. Here every rank draws the arm's whole epoch stream from the same seeded
generator, exactly as one process does (:meth:`StrategyPipeline.epoch_indices`: oversampling,
undersampling, class-balanced, square-root and progressive sampling, DRS), cuts it into the global batches
of one process and keeps its part of each: the ``world`` consecutive parts that :func:`torch.tensor_split`
cuts (the first ``len % world`` one longer). The union of the ranks' parts of a batch is the batch of one
process, in its order, for any number of processes.

:class:`World` is a run's process group as the trainer uses it: the share of a batch, gradients summed over
the ranks (the data-parallel step), and a few sums and gathers for the epoch's training log.
:class:`DistributedStreamSampler` gives the same shares to another training loop, as a ``batch_sampler``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from imbalance_lab.strategies.base import EpochContext, build_pipeline


def rank_share(batch: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """Rank ``rank``'s part of a global batch of ``world`` ranks: :func:`torch.tensor_split`'s ``rank``-th piece."""
    return torch.tensor_split(batch, world)[rank]


def epoch_shares(order: torch.Tensor, batch_size: int, rank: int, world: int) -> list[torch.Tensor]:
    """Rank ``rank``'s part of each global batch of ``batch_size`` in the epoch's ``order``."""
    return [rank_share(order[i : i + batch_size], rank, world) for i in range(0, order.shape[0], batch_size)]


@dataclass(frozen=True)
class World:
    """The process group one run trains in: this process's ``rank`` of ``size`` (``torch.distributed``
    initialised by the launcher, :mod:`imbalance_lab.executors.distributed`)."""

    rank: int
    size: int

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        return rank_share(batch, self.rank, self.size)

    def sync_gradients(self, params: Sequence[torch.nn.Parameter]) -> None:
        """Each parameter's gradient summed over the ranks, in one all-reduce: with each rank's loss the sum of
        its examples' losses over the global batch's size, the sum is the global batch's mean gradient. A
        parameter that has no gradient on any rank keeps none (one process would not step it either)."""
        device = params[0].device
        parts = [p.grad.reshape(-1) if p.grad is not None else torch.zeros(p.numel(), device=device) for p in params]
        present = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=device)
        flat = torch.cat([*parts, present])
        dist.all_reduce(flat)
        offset = 0
        for i, p in enumerate(params):
            n = p.numel()
            if flat[-len(params) + i] > 0:
                grad = flat[offset : offset + n].view_as(p)
                if p.grad is None:
                    p.grad = grad.clone()
                else:
                    p.grad.copy_(grad)
            offset += n

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        total = value.clone()
        dist.all_reduce(total)
        return total

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (any picklable object), in rank order."""
        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, value)
        return out


def interleave(parts: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """The rows of the ranks' per-batch parts (``parts[rank][batch]``) in the global stream's order: batch by
    batch, rank by rank."""
    return np.concatenate([part for batch in zip(*parts, strict=True) for part in batch])


class DistributedStreamSampler:
    """A ``batch_sampler`` for another training loop: this rank's part of each global batch of an arm's epoch
    stream, the same stream for any number of ranks.

    ``strategy`` is the arm's list of ``(name, params)`` (e.g. ``[("oversample", {})]``), ``labels`` the
    training labels, ``batch_size`` the global batch. Call :meth:`set_epoch` with 1, 2, ... (the stream of
    an epoch depends on the draws of the ones before it, as in one process; an earlier epoch is replayed
    from the seed). With ``world=1`` it yields the global batches themselves.

    Examples
    --------
    >>> import torch
    >>> labels = torch.tensor([0] * 8 + [1] * 2)
    >>> one = DistributedStreamSampler(labels, [("oversample", {})], ("a", "b"), 4, epochs=3, seed=0)
    >>> two = [DistributedStreamSampler(labels, [("oversample", {})], ("a", "b"), 4, epochs=3, seed=0,
    ...                                 rank=r, world=2) for r in (0, 1)]
    >>> [b for b in one] == [r0 + r1 for r0, r1 in zip(*two)]
    True
    """

    def __init__(
        self,
        labels: torch.Tensor,
        strategy: Sequence[tuple[str, dict[str, Any]]],
        class_names: Sequence[str],
        batch_size: int,
        epochs: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        positive: int | None = None,
    ) -> None:
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is not one of world {world}'s ranks 0..{world - 1}")
        self.labels = labels.cpu()
        self.pipeline = build_pipeline(list(strategy), tuple(class_names))
        self.batch_size, self.epochs, self.seed, self.rank, self.world = batch_size, epochs, seed, rank, world
        counts = torch.bincount(self.labels, minlength=len(class_names))
        self.ctx = EpochContext(0, epochs, counts, positive)
        self.pipeline.prepare(self.ctx)
        self.generator = torch.Generator().manual_seed(seed)
        self.drawn = 0  # the epochs drawn from the generator so far
        self.epoch = 1
        self.order = torch.empty(0, dtype=torch.int64)

    def set_epoch(self, epoch: int) -> None:
        """The epoch (from 1) the next iteration yields."""
        if not 1 <= epoch <= self.epochs:
            raise ValueError(f"epoch {epoch} is outside 1..{self.epochs}")
        self.epoch = epoch

    def _stream(self) -> torch.Tensor:
        if self.drawn > self.epoch:  # an earlier epoch: replayed from the seed
            self.generator.manual_seed(self.seed)
            self.drawn = 0
        while self.drawn < self.epoch:
            self.drawn += 1
            self.order = self.pipeline.epoch_indices(self.labels, self.generator, self.ctx.at(self.drawn))
        return self.order

    def __iter__(self) -> Iterator[list[int]]:
        for part in epoch_shares(self._stream(), self.batch_size, self.rank, self.world):
            yield part.tolist()

    def __len__(self) -> int:
        return -(-int(self._stream().shape[0]) // self.batch_size)
