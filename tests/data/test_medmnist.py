"""The medmnist source on npz files made here with MedMNIST's keys, shapes and dtypes; the download over real
HTTP from a local server (MD5 checked, nothing half-written); the one-line errors; a spec on its partitions."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import importlib
import re
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import cli
from imbalance_lab.errors import DataError

medmnist_module = importlib.import_module("imbalance_lab.data.medmnist")
medmnist = medmnist_module.medmnist
SPLIT_SIZES = {"train": 14, "val": 4, "test": 6}


def write_npz(path: Path, flavour: str, size: int, seed: int = 0, **override: np.ndarray) -> dict[str, np.ndarray]:
    """An npz as MedMNIST ships it: uint8 N×H×W (grey) or N×H×W×3 (RGB) images, N×1 integer labels."""
    info = medmnist_module.FLAVOURS[flavour]
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in SPLIT_SIZES.items():
        shape = (n, size, size) if info.channels == 1 else (n, size, size, 3)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % len(info.labels)).reshape(n, 1).astype(np.uint8)
    arrays.update(override)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


def test_a_grey_flavour_at_28_pixels(tmp_path):
    arrays = write_npz(tmp_path / "pneumoniamnist.npz", "pneumoniamnist", 28)
    data = medmnist(flavour="pneumoniamnist", root=str(tmp_path), download=False)
    assert tuple(data.images.shape) == (24, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.class_names == ("normal", "pneumonia")
    assert data.partition_names == ("train", "val", "test")
    assert data.partition.tolist() == [0] * 14 + [1] * 4 + [2] * 6
    assert torch.equal(data.images[14, 0], torch.from_numpy(arrays["val_images"][0]))
    assert data.labels.tolist() == [i % 2 for n in SPLIT_SIZES.values() for i in range(n)]


def test_an_rgb_flavour_at_64_pixels_and_its_class_names(tmp_path):
    arrays = write_npz(tmp_path / "dermamnist_64.npz", "dermamnist", 64)
    data = medmnist(flavour="dermamnist", size=64, root=str(tmp_path), download=False)
    assert tuple(data.images.shape) == (24, 3, 64, 64)
    assert torch.equal(data.images[0], torch.from_numpy(arrays["train_images"][0].transpose(2, 0, 1).copy()))
    assert data.class_names[4:6] == ("melanoma", "melanocytic_nevi")
    for flavour in medmnist_module.FLAVOURS.values():  # every flavour's names can be a spec's keys
        names = [medmnist_module.class_name(d) for d in flavour.labels]
        assert len(set(names)) == len(names)
        assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", n) and len(n) <= 80 for n in names)
    assert medmnist_module.class_name("normal, benign") == "normal_benign"


def test_a_missing_file_offline_says_which_file_where(tmp_path):
    with pytest.raises(DataError) as err:
        medmnist(flavour="bloodmnist", size=128, root=str(tmp_path), download=False)
    message = str(err.value)
    assert message == (
        f"medmnist: bloodmnist_128.npz not found in {tmp_path}; download it from "
        "https://zenodo.org/records/10519652/files/bloodmnist_128.npz?download=1 into that folder, or set download: true"
    )


@pytest.mark.parametrize(
    "override,match",
    [
        ({"val_labels": np.zeros((4, 2), dtype=np.uint8)}, r"val_labels are uint8 \(4, 2\), not one integer label"),
        ({"test_labels": np.ones((6, 1), dtype=np.float32)}, r"test_labels are float32 \(6, 1\), not one integer"),
        (
            {"test_images": np.zeros((6, 32, 32), dtype=np.uint8)},
            r"test_images are uint8 \(6, 32, 32\), not uint8 N×28×28",
        ),
        (  # an RGB file under a grey flavour's name
            {"train_images": np.zeros((14, 28, 28, 3), dtype=np.uint8)},
            r"train_images are uint8 \(14, 28, 28, 3\), not uint8 N×28×28;",
        ),
        ({"train_labels": np.full((14, 1), 9, dtype=np.uint8)}, r"train_labels are .* not one integer label in 0..1"),
    ],
)
def test_a_wrong_file_is_one_line(tmp_path, override, match):
    write_npz(tmp_path / "breastmnist.npz", "breastmnist", 28, **override)
    with pytest.raises(DataError, match=match) as err:
        medmnist(flavour="breastmnist", root=str(tmp_path), download=False)
    assert "\n" not in str(err.value)


def test_a_corrupt_or_incomplete_file_is_one_line(tmp_path):
    (tmp_path / "octmnist.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"cannot read .*octmnist.npz .*delete .* and download it again"):
        medmnist(flavour="octmnist", root=str(tmp_path), download=False)
    np.savez(tmp_path / "organamnist.npz", train_images=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"has no train_labels, val_images, val_labels, test_images, test_labels"):
        medmnist(flavour="organamnist", root=str(tmp_path), download=False)


def test_chestmnist_is_refused_as_multi_label(tmp_path):
    with pytest.raises(DataError, match=r"chestmnist is multi-label .*choose another flavour"):
        medmnist(flavour="chestmnist", root=str(tmp_path))


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving a folder, as Zenodo serves the files."""
    served = tmp_path / "zenodo"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_missing_file_is_downloaded_once_and_checked(tmp_path, server, monkeypatch):
    served, address = server
    arrays = write_npz(served / "retinamnist.npz", "retinamnist", 28)
    good = hashlib.md5((served / "retinamnist.npz").read_bytes(), usedforsecurity=False).hexdigest()
    flavour = medmnist_module.FLAVOURS["retinamnist"]
    monkeypatch.setattr(medmnist_module, "RECORD", address)
    monkeypatch.setitem(medmnist_module.FLAVOURS, "retinamnist", dataclasses.replace(flavour, md5={28: good}))
    root = tmp_path / "cache"
    data = medmnist(flavour="retinamnist", root=str(root))
    assert torch.equal(data.images[0], torch.from_numpy(arrays["train_images"][0].transpose(2, 0, 1).copy()))
    assert sorted(p.name for p in root.iterdir()) == ["retinamnist.npz"]  # no temporary file left
    assert (root / "retinamnist.npz").stat().st_mode & 0o044  # readable by others, as a downloaded file is
    (served / "retinamnist.npz").unlink()  # a second call reads the file; it does not download again
    assert torch.equal(medmnist(flavour="retinamnist", root=str(root)).images, data.images)


def test_a_download_with_the_wrong_md5_leaves_nothing(tmp_path, server, monkeypatch):
    served, address = server
    write_npz(served / "tissuemnist.npz", "tissuemnist", 28)
    monkeypatch.setattr(medmnist_module, "RECORD", address)
    root = tmp_path / "cache"
    with pytest.raises(
        DataError, match=r"the download of tissuemnist.npz from .* has MD5 [0-9a-f]{32}, not the published"
    ):
        medmnist(flavour="tissuemnist", root=str(root))
    assert list(root.iterdir()) == []
    with pytest.raises(DataError, match=r"organsmnist.npz not found in .*downloading it from .* failed \(HTTPError"):
        medmnist(flavour="organsmnist", root=str(root))
    assert list(root.iterdir()) == []


def test_a_spec_cuts_its_sets_from_the_published_splits(tmp_path):
    write_npz(tmp_path / "mm" / "pneumoniamnist.npz", "pneumoniamnist", 28)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: pneumonia\n"
        "data:\n"
        f"  source: {{type: medmnist, flavour: pneumoniamnist, root: {tmp_path / 'mm'}, download: false}}\n"
        "  classes: all\n"
        "  positive: pneumonia\n"
        "  partitions: {pool: train, val: val, test: test}\n"
        "  splits: {pool: {normal: 7, pneumonia: 7}, val: {normal: 2, pneumonia: 2}, test: {normal: 3, pneumonia: 3}}\n"
        "arms: [{name: ce, train: {normal: 7, pneumonia: 2}}]\n"
        "model: {name: simple_cnn, width: 4, hidden: 8}\n"
        "training: {epochs: 1, batch_size: 8}\n"
        "seeds: 1\n"
    )
    out = cli("validate", spec)
    assert out.returncode == 0, out.stderr
    assert "arm ce (none): normal 7, pneumonia 2" in out.stdout


class BrokenChunks(http.server.BaseHTTPRequestHandler):
    """Announces a 5,000-byte chunk, sends 1,000 bytes and hangs up, as a dropped connection does."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"1388\r\n" + b"x" * 1000)
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_a_download_cut_off_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BrokenChunks)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setattr(medmnist_module, "RECORD", f"http://127.0.0.1:{httpd.server_address[1]}")
    root = tmp_path / "cache"
    try:
        with pytest.raises(DataError, match=r"dermamnist.npz not found in .*failed \(IncompleteRead") as err:
            medmnist(flavour="dermamnist", root=str(root))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "\n" not in str(err.value)
    assert list(root.iterdir()) == []
