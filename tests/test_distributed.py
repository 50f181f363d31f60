"""One run across several processes: the distributed stream of every sampler (exactly), 2 processes against 1
(to float tolerance), a killed rank, the spec's refusals and the command line."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from helpers import cli
from imbalance_lab.errors import SpecError
from imbalance_lab.executors.distributed import RankFailed, run_distributed, train_across
from imbalance_lab.prepared import prepare_data
from imbalance_lab.progress import NullProgress
from imbalance_lab.runner import run_one
from imbalance_lab.spec import build_spec
from imbalance_lab.store import ResultStore
from imbalance_lab.strategies import EpochContext, build_pipeline
from imbalance_lab.strategies.distributed import DistributedStreamSampler, epoch_shares, interleave, rank_share

SAMPLERS = [
    ("oversample", {}),
    ("undersample", {}),
    ("class_balanced_sampling", {}),
    ("square_root_sampling", {}),
    ("progressive_sampling", {}),
    ("drs", {}),
]
LABELS = torch.tensor([0] * 40 + [1] * 13 + [2] * 5)
NAMES = ("a", "b", "c")


@pytest.mark.parametrize("strategy", SAMPLERS, ids=[name for name, _ in SAMPLERS])
@pytest.mark.parametrize("batch_size", [8, 7])
def test_every_sampler_gives_one_stream_for_any_number_of_ranks(strategy, batch_size):
    """The ranks' parts of each global batch, put together, are the batch of one process, in its order, for
    1 to 5 ranks and every epoch (a stream that changes by epoch, progressive sampling's and DRS's, too); and
    with one rank it is the trainer's own stream (StrategyPipeline.epoch_indices from the seed)."""
    epochs = 4
    pipeline = build_pipeline([strategy], NAMES)
    counts = torch.bincount(LABELS, minlength=3)
    pipeline.prepare(EpochContext(0, epochs, counts, None))
    generator = torch.Generator().manual_seed(11)
    trainer = [
        pipeline.epoch_indices(LABELS, generator, EpochContext(e, epochs, counts, None)) for e in range(1, epochs + 1)
    ]
    for world in range(1, 6):
        samplers = [
            DistributedStreamSampler(LABELS, [strategy], NAMES, batch_size, epochs, seed=11, rank=r, world=world)
            for r in range(world)
        ]
        for epoch in range(1, epochs + 1):
            for sampler in samplers:
                sampler.set_epoch(epoch)
            parts = [list(sampler) for sampler in samplers]
            one = [
                trainer[epoch - 1][i : i + batch_size].tolist() for i in range(0, len(trainer[epoch - 1]), batch_size)
            ]
            assert [sum((p[b] for p in parts), []) for b in range(len(one))] == one
            assert all(len(p) == len(one) == len(s) for p, s in zip(parts, samplers, strict=True))
            sizes = [len(p[0]) for p in parts]
            assert max(sizes) - min(sizes) <= 1  # the shares of a batch differ by one image at most
    if strategy[0] in ("progressive_sampling", "drs"):
        assert not torch.equal(torch.bincount(LABELS[trainer[0]]), torch.bincount(LABELS[trainer[-1]]))


def test_an_earlier_epoch_is_replayed_from_the_seed():
    sampler = DistributedStreamSampler(LABELS, [("oversample", {})], NAMES, 8, epochs=3, seed=2, rank=1, world=3)
    first = list(sampler)
    sampler.set_epoch(3)
    third = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) == first and third != first


def test_a_rank_share_is_torchs_split_and_the_interleave_inverts_it():
    order = torch.arange(23)
    for world in (1, 2, 3, 4):
        parts = [epoch_shares(order, 10, r, world) for r in range(world)]
        assert np.array_equal(interleave([[p.numpy() for p in rank] for rank in parts]), order.numpy())
        assert [len(rank_share(order[20:], r, world)) for r in range(world)] == [
            len(x) for x in torch.tensor_split(order[20:], world)
        ]
    with pytest.raises(ValueError, match="rank 2 is not one of world 2's ranks"):
        DistributedStreamSampler(LABELS, [], NAMES, 4, 1, 0, rank=2, world=2)


def tiny(**execution: Any) -> dict[str, Any]:
    raw = {
        "name": "ddp",
        "data": {
            "source": {"type": "synthetic", "n_per_class": 150, "size": 8},
            "classes": {"a": 0, "b": 1},
            "positive": "b",
            "splits": {"pool": {"a": 80, "b": 80}, "val": {"a": 30, "b": 10}, "test": {"a": 40, "b": 20}},
        },
        "arms": [
            {"name": "plain", "train": {"a": 80, "b": 8}},
            {"name": "over", "train": {"a": 80, "b": 8}, "strategy": "oversample"},
        ],
        "model": {"name": "simple_cnn", "width": 4, "hidden": 16, "dropout": 0.0, "head_dropout": 0.0},
        "training": {"epochs": 3, "batch_size": 24},
        "seeds": 1,
    }
    if execution:
        raw["execution"] = execution
    return raw


@pytest.mark.parametrize("arm", ["plain", "over"])
def test_two_processes_at_half_the_batch_each_train_as_one(arm):
    """3 epochs of 2 processes (12 images each of every batch of 24, gradients summed) against 1 process
    (batches of 24): the same model to float tolerance (no dropout, no batch norm: see the executor's
    docstring for what differs with them). The last batch of an epoch is split unevenly."""
    one = build_spec(tiny())
    two = build_spec(tiny(distributed={"processes": 2, "threads": 1}))
    data = prepare_data(one)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = run_one(one, arm, 0, data=data)
    finally:
        torch.set_num_threads(before)
    epochs: list[int] = []
    across = train_across(two, data, arm, 0, lambda epoch, entry: epochs.append(epoch))
    assert epochs == [1, 2, 3]
    for name, predictions in single.predictions.items():
        np.testing.assert_allclose(across.predictions[name].logits, predictions.logits, rtol=0, atol=1e-4)
        assert np.array_equal(across.predictions[name].labels, predictions.labels)
    assert across.run_hash == single.run_hash  # the same run: where it trained is not part of it
    assert across.provenance["processes"] == 2
    for a, b in zip(single.history, across.history, strict=True):
        assert a["train"]["loss"] == pytest.approx(b["train"]["loss"], abs=1e-5)  # the whole epoch's, both
        assert a["train"]["balanced_accuracy"] == b["train"]["balanced_accuracy"]


def test_a_killed_rank_fails_the_run_in_one_line_and_stores_nothing(tmp_path):
    spec = build_spec(tiny(distributed={"processes": 2, "threads": 1}) | {"training": {"epochs": 40, "batch_size": 24}})
    data = prepare_data(spec)

    def kill_rank_1(epoch: int, entry: dict[str, Any]) -> None:
        if epoch == 1:  # the event: rank 0 has reported its first epoch
            rank = next(p for p in multiprocessing.active_children() if p.name == "imbalance-lab rank 1")
            os.kill(rank.pid, signal.SIGKILL)

    with pytest.raises(RankFailed, match=r"^rank 1 was ended by SIGKILL$"):
        train_across(spec, data, "plain", 0, kill_rank_1)
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("imbalance-lab rank")]

    short = build_spec(tiny(distributed={"processes": 2, "threads": 1}))
    store = ResultStore(tmp_path / "out")
    store.open(short)
    killed: list[str] = []

    class KillOnce(NullProgress):
        def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
            if not killed:
                killed.append(arm)
                kill_rank_1(1, entry)

    failures = run_distributed(short, store, data, [("plain", 0)], KillOnce(), max_retries=1)
    assert killed == ["plain"] and failures == []  # killed once, tried again, stored
    assert [p.parent.parent.name for p in (tmp_path / "out" / "runs").glob("*/seed-*/result.json")] == ["plain"]
    assert run_distributed(short, store, data, [("over", 0)], KillOnce(), max_retries=0) == []


def test_the_spec_refuses_what_a_run_across_processes_cannot_do():
    with pytest.raises(SpecError, match=r"^execution: distributed runs start their own processes"):
        build_spec(tiny(distributed={"processes": 2}, executor="process"))
    raw = tiny(distributed={"processes": 2})
    raw["arms"][1]["strategy"] = "sam"
    with pytest.raises(SpecError, match=r"arms\[1\].*sam owns the optimiser step"):
        build_spec(raw)
    with pytest.raises(SpecError, match=r"processes"):
        build_spec(tiny(distributed={"processes": 1}))


def test_the_command_line_runs_each_run_across_two_processes(tmp_path: Path):
    import yaml

    spec = tmp_path / "ddp.yaml"
    spec.write_text(yaml.safe_dump(tiny(distributed={"processes": 2})))
    out = cli("run", spec, "--out", tmp_path / "out", "--no-mlflow")
    assert out.returncode == 0, out.stderr
    assert "executor distributed (each run across 2 processes × 1 thread)" in out.stdout + out.stderr
    stored = sorted(p.parent.parent.name for p in (tmp_path / "out" / "runs").glob("*/seed-*/result.json"))
    assert stored == ["over", "plain"]


def test_a_killed_driver_takes_its_ranks_and_a_rerun_completes_the_experiment(tmp_path: Path):
    """SIGKILL of `imbalance-lab run` once its first run is stored: the finished run stays as it was, no rank
    outlives the driver, and running again trains only what is missing (the one writer, nothing lost)."""
    import time

    import yaml

    from helpers import descendants, kill_once_a_run_is_stored

    raw = tiny(distributed={"processes": 2, "threads": 1})
    raw["arms"].append({"name": "long", "train": {"a": 80, "b": 80}})
    raw["training"]["epochs"] = 3
    raw["seeds"] = [0, 1]
    spec = tmp_path / "ddp.yaml"
    spec.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    seen: set[int] = set()
    stored = kill_once_a_run_is_stored(
        "run", spec, "--out", out, "--no-mlflow", out=out, watch=lambda pid: seen.update(descendants(pid))
    )
    assert seen, "the driver started no rank processes"
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in seen if Path(f"/proc/{pid}").exists() and _alive(pid)], "a rank outlived the driver"
    again = cli("run", spec, "--out", out, "--no-mlflow")
    assert again.returncode == 0, again.stderr
    for path, content in stored.items():
        assert path.read_bytes() == content  # finished runs are never rewritten
    assert len(list(out.glob("runs/*/seed-*/result.json"))) == 6


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_torchrun_launch_trains_each_run_across_its_processes(tmp_path: Path):
    """`torchrun --nproc_per_node 2 -m imbalance_lab.cli run ...`: every process runs the command, rank 0 alone
    stores and prints, and the runs are bit for bit those of execution.distributed with 2 processes."""
    import subprocess
    import sys

    import yaml

    from test_executors import assert_same_runs, stored

    raw = tiny()
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw))
    torchrun = Path(sys.executable).with_name("torchrun")
    launched = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "imbalance_lab.cli", "run", str(spec),
         "--out", str(tmp_path / "launched"), "--no-mlflow"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert launched.stdout.count("report: ") == 1  # one driver
    assert "launched: each run across the launch's 2 processes" in launched.stdout
    processes = tmp_path / "processes.yaml"
    processes.write_text(yaml.safe_dump(tiny(distributed={"processes": 2, "threads": 1})))
    assert cli("run", processes, "--out", tmp_path / "spawned", "--no-mlflow").returncode == 0
    assert_same_runs(stored(tmp_path / "launched"), stored(tmp_path / "spawned"))
