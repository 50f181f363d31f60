"""How the arithmetic runs (precision, memory layout, compilation): each works on CPU and changes only what it should."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch

from helpers import TINY_SPEC
from imbalance_lab.models import MODELS
from imbalance_lab.runner import run_one
from imbalance_lab.spec import build_spec
from imbalance_lab.train import Compute, predict_logits, use_channels_last


def spec_with(
    training: dict[str, Any] | None = None, execution: dict[str, Any] | None = None, model: dict[str, Any] | None = None
) -> Any:
    spec = copy.deepcopy(TINY_SPEC)
    spec["training"] = {**spec["training"], **(training or {})}
    spec["model"] = {**spec["model"], **(model or {})}
    spec["execution"] = execution or {}
    return build_spec(spec)


@pytest.mark.parametrize(
    "memory_format,device,precision,expected",
    [
        ("auto", "cpu", "fp32", True),
        ("auto", "cuda", "fp32", False),
        ("auto", "cuda", "bf16", True),
        ("auto", "cuda", "fp16", True),
        ("contiguous", "cpu", "fp32", False),
        ("channels_last", "cuda", "fp32", True),
    ],
)
def test_the_memory_format_chosen(memory_format: str, device: str, precision: str, expected: bool) -> None:
    assert use_channels_last(memory_format, device, precision) is expected


def test_channels_last_predicts_what_contiguous_predicts_and_is_recorded() -> None:
    torch.manual_seed(0)
    model = MODELS.create("simple_cnn", 1, (28, 28), 3)
    images = torch.randint(0, 256, (50, 1, 28, 28), dtype=torch.uint8)
    plain = predict_logits(model, images, 16, Compute(torch.device("cpu")))
    last = Compute(torch.device("cpu"), channels_last=True)
    model = last.prepare(model)
    assert model.backbone[1].weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(predict_logits(model, images, 16, last), plain, rtol=1e-5, atol=1e-5)
    for fmt in ("channels_last", "contiguous"):
        result = run_one(spec_with(execution={"memory_format": fmt}), "unbalanced", 0)
        assert result.provenance["memory_format"] == fmt and result.provenance["compile"] is False


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cpu_and_repeats_itself(precision: str) -> None:
    """Autocast per step (bf16, or fp16 with a loss scaler) learns the tiny task; the same seed repeats exactly."""
    spec = spec_with({"precision": precision, "epochs": 3})
    first, again = run_one(spec, "balanced", 0), run_one(spec, "balanced", 0)
    losses = [entry["train"]["loss"] for entry in first.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert first.metrics["test"]["balanced_accuracy"] > 0.8
    np.testing.assert_array_equal(first.predictions["test"].logits, again.predictions["test"].logits)
    assert first.predictions["test"].logits.dtype == np.float32


def test_fp16_scales_the_loss_and_bf16_does_not() -> None:
    cpu = torch.device("cpu")
    assert isinstance(Compute(cpu, "fp16").grad_scaler(), torch.amp.GradScaler)
    assert Compute(cpu, "bf16").grad_scaler() is None and Compute(cpu, "fp32").grad_scaler() is None
    with Compute(cpu, "fp16").autocast():
        assert torch.get_autocast_dtype("cpu") == torch.float16 and torch.is_autocast_enabled("cpu")
    with Compute(cpu, "fp32").autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_compiled_backbone_gives_eager_numbers_without_dropout() -> None:
    """torch.compile (inductor, on CPU here) changes the order of sums at most; dropout would draw other
    random numbers under compile, so this model has none."""
    training = {"epochs": 1, "batch_size": 30, "eval_batch_size": 10}  # one batch shape each: two graphs to compile
    model = {"dropout": 0.0, "head_dropout": 0.0}
    eager = run_one(spec_with(training, model=model), "balanced", 0)
    compiled = run_one(spec_with(training, {"compile": True}, model), "balanced", 0)
    assert compiled.provenance["compile"] is True
    np.testing.assert_allclose(
        compiled.predictions["test"].logits, eager.predictions["test"].logits, rtol=1e-4, atol=1e-4
    )
    assert compiled.history[0]["train"]["loss"] == pytest.approx(eager.history[0]["train"]["loss"], rel=1e-5)
