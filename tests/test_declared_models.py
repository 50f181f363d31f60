"""The models' declarations (:mod:`imbalance_lab.declarations.models`) against their implementations: the
declarations import without torch, take the implementations' parameters, and refuse exactly the inputs a
build refuses, with the same message, so ``validate`` can check a model without building it."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from imbalance_lab.models import MODELS
from imbalance_lab.models.weights import build_model
from imbalance_lab.spec import ModelSpec

SIZES = [(s, s) for s in range(1, 41)] + [(8, 40), (40, 8), (7, 30), (30, 7), (24, 47), (48, 24), (23, 32), (1, 40)]


def test_declaring_the_models_imports_no_torch():
    code = (
        "import sys\n"
        "import imbalance_lab.declarations.models as m\n"
        "assert len(m.MODELS.names()) == 12, m.MODELS.names()\n"
        "heavy = sorted(n for n in ('torch', 'torchvision', 'timm', 'PIL') if n in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", MODELS.names())
def test_an_implementation_takes_its_declaration_s_parameters_without_defaults(name):
    entry = MODELS.entry(name)
    assert entry.factory is not None
    implementation = entry.factory.__wrapped__  # the registry calls the declaration first
    assert implementation.__module__.startswith("imbalance_lab.models.")
    assert entry.declaration.__module__.startswith("imbalance_lab.declarations.models.")
    declared = inspect.signature(entry.declaration).parameters
    implemented = inspect.signature(implementation, follow_wrapped=False).parameters
    assert list(implemented) == list(declared)
    assert all(p.default is inspect.Parameter.empty for p in implemented.values())


@pytest.mark.parametrize(
    "name,params",
    [
        ("simple_cnn", {}),
        ("convnet_bn", {}),
        ("convnet_bn", {"pool": "seed"}),
        ("convnet_bn", {"pool": "global"}),
        ("resnet20", {}),
        ("resnet32", {}),
        ("resnet56", {"width": 4}),
    ],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_a_declaration_refuses_exactly_what_a_build_refuses(name, params, channels):
    declaration = MODELS.entry(name).declaration
    refused = 0
    for size in SIZES:
        try:
            declaration(channels, size, 2, **params)
            declared = None
        except ValueError as err:
            declared = str(err)
        try:
            build_model(ModelSpec(name=name, params=params), channels, size, 2)
            built = None
        except ValueError as err:
            built = str(err)
        assert declared == built, (size, declared, built)
        refused += declared is not None
    if name in ("simple_cnn", "convnet_bn"):
        assert refused > 0  # images under 8×8 (and, for pool: seed, outside 24 to 47 pixels a side)


def test_simple_cnn_s_declaration_names_the_smallest_input():
    with pytest.raises(ValueError, match="^simple_cnn needs images of at least 8×8 pixels, got 7×28$"):
        MODELS.entry("simple_cnn").declaration(1, (7, 28), 2)
