"""The data sources' declarations (:mod:`imbalance_lab.declarations.sources`) against their implementations:
the declarations import without torch, take the implementations' parameters, tell a generated source's labels
without building it, and refuse what a load refuses with the same message, before any file is read."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imbalance_lab.data import SOURCES
from imbalance_lab.declarations.sources import SourceLabels
from imbalance_lab.errors import DataError, SpecError

CHESTMNIST = (
    "medmnist: chestmnist is multi-label (an image can have several of its 14 findings), which a single-label "
    "experiment cannot use; choose another flavour"
)


def test_declaring_the_sources_imports_no_torch():
    code = (
        "import sys\n"
        "from imbalance_lab.declarations.sources import SOURCES, SourceLabels\n"
        "assert len(SOURCES.names()) == 12, SOURCES.names()\n"
        "assert all(SOURCES.entry(n).factory is None for n in SOURCES.names())\n"
        "labels = SOURCES.entry('synthetic').declaration(n_per_class=3, n_classes=3)\n"
        "assert isinstance(labels, SourceLabels) and labels.class_counts() == [3, 3, 3], labels\n"
        "try:\n"
        "    SOURCES.entry('medmnist').declaration('chestmnist')\n"
        "except Exception as err:\n"
        "    print(type(err).__name__, err)\n"
        "heavy = sorted(n for n in ('torch', 'torchvision', 'PIL', 'datasets', 'sklearn') if n in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"DataError {CHESTMNIST}"


@pytest.mark.parametrize("name", SOURCES.names())
def test_an_implementation_takes_its_declaration_s_parameters_without_defaults(name):
    entry = SOURCES.entry(name)
    assert entry.factory is not None
    implementation = inspect.unwrap(entry.factory)  # the registry calls the declaration first
    assert implementation.__module__.startswith("imbalance_lab.data.")
    assert entry.declaration.__module__.startswith("imbalance_lab.declarations.sources.")
    declared = inspect.signature(entry.declaration).parameters
    implemented = inspect.signature(implementation).parameters
    assert list(implemented) == list(declared)
    assert all(p.default is inspect.Parameter.empty for p in implemented.values())
    # the module's name for the source loads it as the registry does (the declaration's defaults and checks)
    module = sys.modules[implementation.__module__]
    assert getattr(module, name) is entry.factory


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"n_classes": 3, "n_per_class": 5},
        {"n_classes": 4, "n_per_class": 1, "size": 4, "channels": 3},
        {"n_classes": 5, "n_per_class": 7, "size": 13, "channels": 4, "noise": 0.0, "seed": 3},
        {"n_classes": 2, "n_per_class": 11, "size": 64, "channels": 2},
    ],
)
def test_synthetic_s_declaration_tells_the_labels_it_loads(params):
    declared = SOURCES.entry("synthetic").declaration(**SOURCES.check_params("synthetic", params))
    loaded = SOURCES.create("synthetic", **params)
    assert isinstance(declared, SourceLabels)
    assert declared.class_names == loaded.class_names
    assert declared.labels.dtype == np.int64
    assert np.array_equal(declared.labels, loaded.labels.numpy())
    assert declared.channels == loaded.channels
    assert declared.image_size == loaded.image_size
    assert declared.partition is None and declared.partition_names == ()
    assert declared.class_counts() == loaded.class_counts()


def test_a_declared_check_refuses_before_any_file_is_read(tmp_path: Path):
    nowhere = tmp_path / "nowhere"
    # the parameter rules pass: the flavour is one of MedMNIST's
    assert SOURCES.check_params("medmnist", {"flavour": "chestmnist", "root": str(nowhere)}) == {
        "flavour": "chestmnist",
        "root": str(nowhere),
    }
    with pytest.raises(DataError) as declared:
        SOURCES.entry("medmnist").declaration("chestmnist", root=str(nowhere))
    with pytest.raises(DataError) as loaded:
        SOURCES.create("medmnist", flavour="chestmnist", root=str(nowhere), download=True)
    assert str(declared.value) == str(loaded.value) == CHESTMNIST
    assert not nowhere.exists()  # refused before the download was tried


def test_a_parameter_rule_is_still_one_spec_error_line():
    with pytest.raises(SpecError) as err:
        SOURCES.create("synthetic", n_classes=1)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("synthetic.n_classes: got 1:")
