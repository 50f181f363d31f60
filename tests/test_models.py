"""Conformance checks run over every registered model."""

from __future__ import annotations

import pytest
import torch

from imbalance_lab.errors import SpecError
from imbalance_lab.models import MODELS


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize(
    "channels,size,classes", [(1, (28, 28), 2), (3, (32, 32), 10), (1, (8, 8), 3), (3, (64, 48), 2)]
)
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


def _seed_order(model: torch.nn.Module) -> torch.nn.Module:
    """The same model with each block in seed 000's order, conv → ReLU → pool (simple_cnn pools first)."""
    import copy
    from collections import OrderedDict

    seed = copy.deepcopy(model)
    layers = list(seed.backbone.named_children())
    for i in range(len(layers) - 1):
        if isinstance(layers[i][1], torch.nn.MaxPool2d) and isinstance(layers[i + 1][1], torch.nn.ReLU):
            layers[i], layers[i + 1] = (layers[i + 1][0], torch.nn.ReLU()), layers[i]
    seed.backbone = torch.nn.Sequential(OrderedDict(layers))
    return seed


@pytest.mark.parametrize("channels_last", [False, True])
def test_simple_cnn_pooling_first_trains_bit_for_bit_as_the_seed_order(channels_last):
    """Max pooling before the ReLU (a quarter of the values through the ReLU) changes no bit of training:
    outputs, gradients and the weights after several Adam steps with dropout equal conv → ReLU → pool's."""
    torch.manual_seed(0)
    ours = MODELS.create("simple_cnn", 1, (28, 28), 2)
    seed = _seed_order(ours)
    assert [type(m).__name__ for m in seed.backbone[:5]] == ["InputNorm", "Conv2d", "ReLU", "MaxPool2d", "Dropout"]
    assert [type(m).__name__ for m in ours.backbone[:5]] == ["InputNorm", "Conv2d", "MaxPool2d", "ReLU", "Dropout"]
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.rand(64, 1, 28, 28).contiguous(memory_format=fmt)  # in [0, 1], as the trainer hands images
    x[:, :, :14] = 0.0  # (−1 after the model's input scaling) whole pooling windows below zero, where only the
    # ReLU's zero gradient decides
    y = torch.randint(0, 2, (64,))
    initial = ours.backbone[1].weight.detach().clone()
    trained = []
    for model in (ours, seed):
        model = model.to(memory_format=fmt).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        torch.manual_seed(1)  # the same dropout masks
        for i in range(0, 64, 16):
            loss = torch.nn.functional.cross_entropy(model(x[i : i + 16]), y[i : i + 16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        trained.append(model.state_dict())
    assert trained[0].keys() == trained[1].keys()
    for name in trained[0]:
        assert torch.equal(trained[0][name], trained[1][name]), name
    assert not torch.equal(trained[0]["backbone.conv1.weight"], initial)  # it trained


def test_model_params_are_validated():
    with pytest.raises(SpecError, match="width"):
        MODELS.check_params("simple_cnn", {"width": 0}, "model")
    with pytest.raises(ValueError, match="at least 8×8"):
        MODELS.create("simple_cnn", 1, (4, 4), 2)


@pytest.mark.parametrize("name", MODELS.names())
def test_model_contract(name, tmp_path):
    """The seams strategies use: features, head, classifier get/set/reset, head-only training, state dict."""
    from imbalance_lab.models.base import CosineClassifier, ImageClassifier

    torch.manual_seed(0)
    model = MODELS.create(name, 1, (16, 16), 3)
    assert isinstance(model, ImageClassifier)
    x = torch.randn(4, 1, 16, 16)
    model.eval()
    features = model.forward_features(x)
    assert features.shape == (4, model.num_features)
    assert torch.equal(model.forward_head(features), model(x))
    classifier = model.get_classifier()
    assert (classifier.in_features, classifier.out_features) == (model.num_features, 3) and model.n_outputs == 3
    # reset: fresh classifier weights, backbone untouched
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_classifier()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("classifier.") for k in changed)
    # head-only mode: the backbone in eval mode (dropout and batch-norm statistics fixed), the head training
    model.train_head_only()
    assert not any(m.training for m in model.backbone.modules()) and model.classifier.training
    assert {id(p) for p in model.head_parameters()} == {id(p) for p in model.classifier.parameters()}
    # a replaced classifier (LDAM's cosine classifier) is used, and a saved state dict loads into a fresh model
    model.set_classifier(CosineClassifier(model.num_features, 3, scale=10.0))
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    fresh = MODELS.create(name, 1, (16, 16), 3)
    fresh.set_classifier(CosineClassifier(fresh.num_features, 3, scale=10.0))
    fresh.load_state_dict(torch.load(path))
    model.eval(), fresh.eval()
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x)) and float(model(x).abs().max()) <= 10.0 + 1e-5


@torch.no_grad()
def test_simple_cnn_initialisations():
    torch.manual_seed(0)
    he = MODELS.create("simple_cnn", 1, (28, 28), 2)
    torch.manual_seed(0)
    plain = MODELS.create("simple_cnn", 1, (28, 28), 2, init="torch")
    for a, b in zip(he.modules(), plain.modules()):
        if isinstance(a, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = a.weight[0].numel()
            # He-uniform (Keras he_uniform): U(±√(6/fan_in)), zero biases; PyTorch's: U(±1/√fan_in) for both
            assert (
                float(a.weight.abs().max()) <= (6 / fan_in) ** 0.5 and float(a.weight.abs().max()) > (1 / fan_in) ** 0.5
            )
            assert float(a.bias.abs().max()) == 0.0
            assert float(b.weight.abs().max()) <= (1 / fan_in) ** 0.5 and float(b.bias.abs().max()) > 0.0


def test_dropout_keeps_each_element_with_its_probability_and_rescales_exactly():
    """The CPU mask from 16 random bits an element: kept with probability round((1 − p)·2¹⁶)/2¹⁶, kept values
    scaled by the inverse of that probability, dropped ones 0; the gradient is the same mask."""
    from imbalance_lab.models.base import Dropout

    torch.manual_seed(0)
    for p in (0.15, 0.4, 0.9):
        keep = round((1 - p) * 65536) / 65536
        x = torch.rand(250_001) + 0.5  # no zeros, and a length that is not a multiple of 4
        x.requires_grad_()
        out = Dropout(p).train()(x)
        kept = out != 0
        n = x.numel()
        assert abs(kept.sum().item() - n * keep) < 5 * (n * keep * (1 - keep)) ** 0.5
        assert torch.equal(out[kept], x.detach()[kept] * (1 / keep))
        out.sum().backward()
        assert torch.equal(x.grad, kept.float() * (1 / keep))
    ones = Dropout(0.15).train()(torch.ones(1_000_000))
    assert abs(ones.mean().item() - 1) < 0.005  # the expectation is the input
    # which elements: each takes 16 bits of the generator's 64-bit draws in turn, read as a number
    # 0 … 65535 (the signed 16 bits + 32768), and is kept when that number is below round((1 − p)·2¹⁶)
    n = 1_000_003  # a number of elements where about 15 fall on the threshold itself
    torch.manual_seed(7)
    draws = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), 2**63 - 1)
    expected = draws.view(torch.int16)[:n].to(torch.int32) + 32768 < round(0.4 * 65536)
    torch.manual_seed(7)
    assert torch.equal(Dropout(0.6).train()(torch.ones(n)) != 0, expected)


def test_dropout_masks_follow_the_torch_seed_and_the_memory_layout():
    from imbalance_lab.models.base import Dropout

    drop = Dropout(0.15).train()
    x = torch.rand(8, 16, 14, 14) + 0.5
    torch.manual_seed(3)
    first = drop(x)
    state = torch.get_rng_state()
    second = drop(x)
    torch.manual_seed(3)
    assert torch.equal(drop(x), first)  # the global generator decides, as for nn.Dropout
    torch.set_rng_state(state)
    assert torch.equal(drop(x), second)  # and a saved state (the branching snapshots') replays it
    assert not torch.equal(first, second)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    out = drop(x_cl)
    assert out.is_contiguous(memory_format=torch.channels_last)  # the next convolution keeps its layout
    assert torch.equal(out != 0, out == x_cl * (65536 / round(0.85 * 65536)))
    assert torch.equal(drop.eval()(x), x)  # evaluation: the identity
    assert torch.equal(Dropout(0.0).train()(x), x)


def test_dropout_elsewhere_is_torchs():
    """Other dtypes (and, by the same rule, GPUs and in-place use) take nn.Dropout's own path, bit for bit."""
    from imbalance_lab.models.base import Dropout

    x = torch.rand(4, 3, 5, 5, dtype=torch.float64)
    torch.manual_seed(5)
    ours = Dropout(0.3).train()(x)
    torch.manual_seed(5)
    assert torch.equal(ours, torch.nn.functional.dropout(x, 0.3, training=True))
