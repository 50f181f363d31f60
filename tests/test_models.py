"""Conformance checks run over every registered model."""

from __future__ import annotations

import pytest
import torch

from imbalance_lab.errors import SpecError
from imbalance_lab.models import MODELS


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize("channels,size,classes", [(1, (28, 28), 2), (3, (32, 32), 10), (1, (8, 8), 3), (3, (64, 48), 2)])
def test_model_output_shape_and_determinism(name, channels, size, classes):
    torch.manual_seed(0)
    model = MODELS.create(name, channels, size, classes)
    x = torch.randn(5, channels, *size)
    model.eval()
    out = model(x)
    assert out.shape == (5, classes) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    torch.manual_seed(0)
    again = MODELS.create(name, channels, size, classes).eval()
    assert torch.equal(again(x), out)


def test_simple_cnn_follows_the_seed_architecture():
    model = MODELS.create("simple_cnn", 1, (28, 28), 2)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.modules()) == 3
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(128 * 3 * 3, 64), (64, 2)]
    assert [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)] == [0.15, 0.15, 0.4]


def test_model_params_are_validated():
    with pytest.raises(SpecError, match="width"):
        MODELS.check_params("simple_cnn", {"width": 0}, "model")
    with pytest.raises(ValueError, match="at least 8×8"):
        MODELS.create("simple_cnn", 1, (4, 4), 2)
