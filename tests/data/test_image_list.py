"""The image_list source on list files made here in the formats users hold: ImageNet-LT's "path label" lines,
a Kaggle-style CSV with a header, a TSV; pixels, order, classes, cache, broken rows and files, errors."""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import imbalance_lab.data
from helpers import cli
from imbalance_lab.errors import DataError

# registered exactly once per process, whether or not imbalance_lab.data imports it itself
image_list_module = importlib.import_module("imbalance_lab.data.image_list")
image_folder_module = importlib.import_module("imbalance_lab.data.image_folder")
image_list = image_list_module.image_list
image_folder = image_folder_module.image_folder
DataWarning = image_folder_module.DataWarning
SOURCES = imbalance_lab.data.SOURCES

SYNSETS = ("n01440764", "n01443537", "n01484850")  # ImageNet-LT's first three classes: labels 0, 1, 2


def noise(seed: int, size: tuple[int, int] = (20, 16)) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def imagenet_lt(tmp: Path, counts: tuple[int, ...] = (5, 3, 1)) -> tuple[Path, Path, list[tuple[str, int]]]:
    """ImageNet-LT's layout: ``ROOT/train/<synset>/<synset>_<n>.JPEG`` and a list of "path label" lines,
    classes interleaved as the published list orders them (not grouped)."""
    root = tmp / "imagenet"
    rows = []
    for label, (synset, n) in enumerate(zip(SYNSETS, counts, strict=True)):
        for i in range(n):
            rel = f"train/{synset}/{synset}_{100 + i}.JPEG"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            noise(10 * label + i).save(root / rel, format="JPEG")
            rows.append((rel, label))
    rows = rows[::2] + rows[1::2]
    listing = tmp / "ImageNet_LT_train.txt"
    listing.write_text("".join(f"{rel} {label}\n" for rel, label in rows))
    return listing, root, rows


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_imagenet_lt_list_gives_the_images_in_list_order(tmp_path, cache):
    listing, root, rows = imagenet_lt(tmp_path)
    data = image_list(file=str(listing), root=str(root), size=8, cache_dir=str(cache))
    assert data.class_names == ("0", "1", "2")
    assert data.labels.tolist() == [label for _, label in rows]
    assert tuple(data.images.shape) == (9, 3, 8, 8) and data.images.dtype == torch.uint8
    assert data.class_counts() == [5, 3, 1]
    # the same pixels as image_folder decodes from the same files
    folder = image_folder(root=str(root / "train"), size=8, cache_dir=str(tmp_path / "folder-cache"))
    for i, (rel, _) in enumerate(rows):
        synset = rel.split("/")[1]
        j = sorted(r for r, _ in rows if r.split("/")[1] == synset).index(rel)
        k = sum(c for c in folder.class_counts()[: folder.class_names.index(synset)]) + j
        assert torch.equal(data.images[i], folder.images[k])


def test_csv_with_a_header_names_its_columns_and_classes(tmp_path, cache):
    """Kaggle/ISIC style: ``image,diagnosis`` with name labels; classes sorted, or in the class file's order."""
    for i, name in enumerate(["a.png", "b.png", "c.png", "d.png"]):
        noise(i).save(tmp_path / name)
    table = tmp_path / "train.csv"
    table.write_text("patient,image,diagnosis\np1,a.png,nevus\np2,b.png,melanoma\np3,c.png,nevus\np4,d.png,nevus\n")
    data = image_list(
        file=str(table), path_column="image", label_column="diagnosis", size=4, channels=1, cache_dir=str(cache)
    )
    assert data.class_names == ("melanoma", "nevus")
    assert data.labels.tolist() == [1, 0, 1, 1]
    assert tuple(data.images.shape) == (4, 1, 4, 4)
    names = tmp_path / "classes.txt"
    names.write_text("nevus\nmelanoma\n")
    ordered = image_list(
        file=str(table), path_column=1, label_column=2, header=True, classes_file=str(names), size=4,
        cache_dir=str(tmp_path / "c2"),
    )  # fmt: skip
    assert ordered.class_names == ("nevus", "melanoma")
    assert ordered.labels.tolist() == [0, 1, 0, 0]


def test_integer_labels_index_the_class_file(tmp_path, cache):
    listing, root, rows = imagenet_lt(tmp_path)
    names = tmp_path / "synsets.txt"
    names.write_text("\n".join(["tench", "goldfish", "great white shark"]) + "\n")
    data = image_list(file=str(listing), root=str(root), classes_file=str(names), size=8, cache_dir=str(cache))
    assert data.class_names == ("tench", "goldfish", "great white shark")
    assert data.labels.tolist() == [label for _, label in rows]


def test_tsv_is_read_by_its_extension(tmp_path, cache):
    noise(1).save(tmp_path / "x y.png")  # a space in the path: fine in a TSV
    noise(2).save(tmp_path / "z.png")
    table = tmp_path / "list.tsv"
    table.write_text("x y.png\tcat\nz.png\tdog\n")
    data = image_list(file=str(table), size=4, cache_dir=str(cache))
    assert data.class_names == ("cat", "dog") and data.labels.tolist() == [0, 1]


def test_broken_rows_and_files_are_skipped_and_reported_like_the_folders(tmp_path, cache):
    listing, root, rows = imagenet_lt(tmp_path)
    (root / "train" / "bad.JPEG").write_bytes(b"not an image")
    names = tmp_path / "classes.txt"
    names.write_text("a\nb\nc\n")
    text = listing.read_text()
    listing.write_text(text + "train/bad.JPEG 1\ntrain/missing.JPEG 0\nonly-a-path\ntrain/x.JPEG 7\n")
    with pytest.warns(DataWarning, match=r"4 files skipped in .*ImageNet_LT_train.txt .*unusable lines"):
        data = image_list(file=str(listing), root=str(root), classes_file=str(names), size=8, cache_dir=str(cache))
    assert len(data.labels) == len(rows)
    skipped = (cache / "skipped.txt").read_text().splitlines()
    assert len(skipped) == 4
    assert skipped[0].startswith(f"{listing}:12\t") and "column" in skipped[0]
    assert skipped[1].startswith(f"{listing}:13\t") and "label '7' is not a class" in skipped[1]
    assert any(line.startswith(str(root / "train" / "bad.JPEG")) for line in skipped)
    assert any(line.startswith(str(root / "train" / "missing.JPEG")) for line in skipped)
    # from the cache, the same warning and images
    with pytest.warns(DataWarning, match="4 files skipped"):
        again = image_list(file=str(listing), root=str(root), classes_file=str(names), size=8, cache_dir=str(cache))
    assert torch.equal(again.images, data.images)
    # on_bad_image: error stops at the first unusable line, in one line naming it
    with pytest.raises(DataError, match=r"ImageNet_LT_train.txt, line 12: 1 column\(s\)") as err:
        image_list(
            file=str(listing), root=str(root), classes_file=str(names), size=8, cache_dir=str(tmp_path / "c2"),
            on_bad_image="error",
        )  # fmt: skip
    assert "\n" not in str(err.value)


def test_the_cache_is_reused_and_rebuilt_when_the_list_changes(tmp_path, cache, monkeypatch):
    listing, root, rows = imagenet_lt(tmp_path)
    first = image_list(file=str(listing), root=str(root), size=8, cache_dir=str(cache))
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["list"]["labels"] == first.labels.tolist()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again, though the cache matches")

    monkeypatch.setattr(image_folder_module, "_decode_listing", no_decoding)
    again = image_list(file=str(listing), root=str(root), size=8, cache_dir=str(cache))
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)
    monkeypatch.undo()
    relabelled = listing.read_text().replace(" 2\n", " 1\n")  # the one image of class 2 moves to class 1
    listing.write_text(relabelled)
    changed = image_list(file=str(listing), root=str(root), size=8, cache_dir=str(cache))
    assert changed.class_names == ("0", "1") and changed.class_counts() == [5, 4]


def test_the_default_cache_is_one_per_list(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    listing, root, _ = imagenet_lt(tmp_path)
    other = tmp_path / "other.txt"
    other.write_text(listing.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image_list(file=str(listing), root=str(root), size=8)
        image_list(file=str(other), root=str(root), size=8)
    assert len(list((tmp_path / "xdg" / "imbalance-lab" / "image_list").iterdir())) == 2


@pytest.mark.parametrize(
    "write,params,message",
    [
        (None, {}, r"image list .*nothing.txt is missing; set file to a CSV or text file"),
        (
            "a.png,x\n",
            {"path_column": "image"},
            r"has no column 'image' for the path column; its columns are: a.png, x",
        ),
        ("a.png,x\n", {"path_column": "image", "header": False}, r"path column 'image' is a column name, but header"),
        ("# only a comment\n", {}, r"has no rows of path and label; give one image per line"),
        ("a.png\n", {}, r"has no rows of path and label \(1 unusable, the first at line 1: 1 column"),
    ],
)
def test_a_bad_list_is_one_line(tmp_path, write, params, message):
    name = "nothing.txt" if write is None else ("list.csv" if "," in write else "list.txt")
    if write is not None:
        (tmp_path / name).write_text(write)
    with pytest.raises(DataError, match=message) as err:
        image_list(file=str(tmp_path / name), cache_dir=str(tmp_path / "cache"), **params)
    assert "\n" not in str(err.value)


def test_a_class_without_readable_images_is_one_line(tmp_path, cache):
    noise(0).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"broken")
    (tmp_path / "list.txt").write_text("a.png cat\nb.png dog\n")
    with pytest.raises(DataError, match=r"class 'dog' of image list .* has no readable images \(1 file skipped"):
        image_list(file=str(tmp_path / "list.txt"), size=4, cache_dir=str(cache))


def test_the_source_through_a_spec_and_the_cli(tmp_path):
    """A new user's path: `imbalance-lab validate` on a spec whose source is an ImageNet-LT-style list."""
    listing, root, _ = imagenet_lt(tmp_path, counts=(12, 8, 6))
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: lt_list\n"
        "data:\n"
        f"  source: {{type: image_list, file: {listing}, root: {root}, size: 8, cache_dir: {tmp_path / 'cache'}}}\n"
        "  classes: all\n"
        "  splits: {pool: {'0': 8, '1': 4, '2': 2}, test: {'0': 2, '1': 2, '2': 2}, val: {'0': 2, '1': 2, '2': 2}}\n"
        "arms: [{name: ce, train: {'0': 8, '1': 4, '2': 2}}]\n"
        "model: {name: simple_cnn, width: 4, hidden: 8}\n"
        "training: {epochs: 1, batch_size: 8}\n"
        "seeds: 1\n"
    )
    out = cli("validate", spec)
    assert out.returncode == 0, out.stderr
    assert "set test: 0 2, 1 2, 2 2" in out.stdout
    assert "image_list" in {entry.name for entry in (SOURCES.entry(n) for n in SOURCES.names())}
