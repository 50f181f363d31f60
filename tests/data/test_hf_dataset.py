"""The hf_dataset source on datasets written here by the `datasets` library itself: save_to_disk (a Dataset
and a DatasetDict), parquet files in the Hub's layout; pixels, classes, partitions, cache, bad rows, errors."""

from __future__ import annotations

import importlib
import io

import numpy as np
import pytest
import torch
from PIL import Image

from imbalance_lab.errors import DataError

datasets = pytest.importorskip("datasets")  # in the test extra; the source itself says how to install it

hf_module = importlib.import_module("imbalance_lab.data.hf_dataset")
image_folder_module = importlib.import_module("imbalance_lab.data.image_folder")
hf_dataset = hf_module.hf_dataset
DataWarning = image_folder_module.DataWarning

NAMES = ["benign", "malignant", "normal"]


@pytest.fixture(autouse=True)
def hf_cache(tmp_path, monkeypatch):
    """The datasets library's own cache (parquet is converted to arrow there) inside the test's folder."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # read at import: the Hub is not tried here
    monkeypatch.setattr(importlib.import_module("huggingface_hub.constants"), "HF_HUB_OFFLINE", True)


def png(seed: int, size: tuple[int, int] = (12, 10), mode: str = "RGB") -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(out, format="PNG")
    return out.getvalue()


def make_split(n: int, offset: int, labels: list[int] | None = None) -> datasets.Dataset:
    features = datasets.Features(
        {"img": datasets.Image(), "dx": datasets.ClassLabel(names=NAMES), "id": datasets.Value("int32")}
    )
    labels = labels if labels is not None else [(offset + i) % 3 for i in range(n)]
    rows = {"img": [{"bytes": png(offset + i), "path": None} for i in range(n)], "dx": labels, "id": list(range(n))}
    return datasets.Dataset.from_dict(rows, features=features)


def expected_pixels(data: bytes, size: int) -> torch.Tensor:
    img = Image.open(io.BytesIO(data)).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(img).transpose(2, 0, 1).copy())


def test_a_saved_dataset_dict_keeps_its_splits_as_partitions(tmp_path):
    saved = tmp_path / "derm"
    datasets.DatasetDict(
        {"train": make_split(7, 0), "validation": make_split(3, 100), "test": make_split(4, 200)}
    ).save_to_disk(str(saved))
    data = hf_dataset(path=str(saved), image_column="img", label_column="dx", size=6, cache_dir=str(tmp_path / "c"))
    assert data.class_names == tuple(NAMES)
    assert tuple(data.images.shape) == (14, 3, 6, 6)
    assert data.partition_names == ("train", "validation", "test")
    assert data.partition.tolist() == [0] * 7 + [1] * 3 + [2] * 4
    assert data.labels.tolist() == [i % 3 for i in range(7)] + [(100 + i) % 3 for i in range(3)] + [
        (200 + i) % 3 for i in range(4)
    ]
    assert torch.equal(data.images[0], expected_pixels(png(0), 6))
    assert torch.equal(data.images[7], expected_pixels(png(100), 6))
    only = hf_dataset(
        path=str(saved), split="test", image_column="img", label_column="dx", size=6, cache_dir=str(tmp_path / "c2")
    )
    assert len(only.labels) == 4 and only.partition is None
    assert torch.equal(only.images, data.images[10:])


def test_a_saved_dataset_without_splits_and_the_cache(tmp_path, monkeypatch):
    saved = tmp_path / "one"
    make_split(6, 0).save_to_disk(str(saved))
    cache = tmp_path / "c"
    first = hf_dataset(path=str(saved), image_column="img", label_column="dx", size=5, channels=1, cache_dir=str(cache))
    assert tuple(first.images.shape) == (6, 1, 5, 5) and first.partition is None

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again, though the dataset is unchanged")

    monkeypatch.setattr(image_folder_module, "_decode_listing", no_decoding)
    again = hf_dataset(path=str(saved), image_column="img", label_column="dx", size=5, channels=1, cache_dir=str(cache))
    assert torch.equal(again.images, first.images)
    monkeypatch.undo()
    make_split(6, 50).save_to_disk(str(tmp_path / "other"))  # other images, the same shapes and sizes
    other = hf_dataset(
        path=str(tmp_path / "other"), image_column="img", label_column="dx", size=5, channels=1, cache_dir=str(cache)
    )
    assert not torch.equal(other.images, first.images)


def test_parquet_files_in_the_hubs_layout(tmp_path):
    folder = tmp_path / "parquet" / "data"
    folder.mkdir(parents=True)
    make_split(5, 0).to_parquet(str(folder / "train-00000-of-00001.parquet"))
    make_split(3, 30).to_parquet(str(folder / "test-00000-of-00001.parquet"))
    data = hf_dataset(
        path=str(tmp_path / "parquet"), image_column="img", label_column="dx", size=4, cache_dir=str(tmp_path / "c")
    )
    assert data.class_names == tuple(NAMES)  # the ClassLabel travels in the parquet schema's metadata
    assert sorted(data.partition_names) == ["test", "train"]
    counts = {name: int((data.partition == i).sum()) for i, name in enumerate(data.partition_names)}
    assert counts == {"train": 5, "test": 3}
    single = hf_dataset(
        path=str(folder / "test-00000-of-00001.parquet"),
        image_column="img",
        label_column="dx",
        size=4,
        cache_dir=str(tmp_path / "c2"),
    )
    assert len(single.labels) == 3


def test_labels_without_a_classlabel_are_named_by_their_values(tmp_path):
    rows = {"image": [{"bytes": png(i), "path": None} for i in range(4)], "label": ["dog", "cat", "dog", "dog"]}
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("string")})
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(tmp_path / "s"))
    data = hf_dataset(path=str(tmp_path / "s"), size=4, cache_dir=str(tmp_path / "c"))
    assert data.class_names == ("cat", "dog") and data.labels.tolist() == [1, 0, 1, 1]


def test_an_unreadable_image_is_skipped_and_named_by_its_split_and_row(tmp_path):
    rows = make_split(6, 0).to_dict()
    rows["img"][2] = {"bytes": b"not a png", "path": None}
    features = make_split(1, 0).features
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows, features=features)}).save_to_disk(
        str(tmp_path / "s")
    )
    with pytest.warns(DataWarning, match="1 file skipped"):
        data = hf_dataset(
            path=str(tmp_path / "s"), image_column="img", label_column="dx", size=4, cache_dir=str(tmp_path / "c")
        )
    assert len(data.labels) == 5
    assert "train[2]\t" in (tmp_path / "c" / "skipped.txt").read_text()
    with pytest.raises(DataError, match=r"cannot read image .*train\[2\]: .*set on_bad_image: skip"):
        hf_dataset(
            path=str(tmp_path / "s"),
            image_column="img",
            label_column="dx",
            size=4,
            cache_dir=str(tmp_path / "c3"),
            on_bad_image="error",
        )


@pytest.mark.parametrize(
    "params,message",
    [
        (
            {"image_column": "picture"},
            r"has no image column 'picture'; its columns are: img, dx, id \(set image_column\)",
        ),
        ({"image_column": "img", "label_column": "id", "split": "val"}, r"has no split 'val'; its splits are: train"),
        ({"image_column": "id", "label_column": "dx"}, r"column 'id' is a Value, not an Image feature"),
    ],
)
def test_a_wrong_column_or_split_is_one_line(tmp_path, params, message):
    datasets.DatasetDict({"train": make_split(3, 0)}).save_to_disk(str(tmp_path / "s"))
    with pytest.raises(DataError, match=message) as err:
        hf_dataset(path=str(tmp_path / "s"), cache_dir=str(tmp_path / "c"), **params)
    assert "\n" not in str(err.value)


def test_unlabelled_rows_are_refused_in_one_line(tmp_path):
    make_split(3, 0, labels=[0, -1, 2]).save_to_disk(str(tmp_path / "s"))
    with pytest.raises(DataError, match=r"row train\[1\] has label -1, not one of the 3 classes; drop unlabelled rows"):
        hf_dataset(path=str(tmp_path / "s"), image_column="img", label_column="dx", cache_dir=str(tmp_path / "c"))


def test_not_a_dataset_and_no_hub_offline_are_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"is neither a dataset saved with save_to_disk"):
        hf_dataset(path=str(tmp_path / "empty"))
    with pytest.raises(DataError, match=r"does not exist here, and is not a Hub name"):
        hf_dataset(path=str(tmp_path / "missing"))
    with pytest.raises(
        DataError, match=r"cannot load someone/some-set from the Hugging Face Hub \(.*\); check the name"
    ) as err:
        hf_dataset(path="someone/some-set")
    assert "\n" not in str(err.value)


def test_a_spec_cuts_its_sets_from_the_datasets_splits(tmp_path):
    """A new user's path: `imbalance-lab validate` on a saved DatasetDict, each set from its own split."""
    from helpers import cli

    saved = tmp_path / "derm"
    datasets.DatasetDict(
        {"train": make_split(30, 0), "validation": make_split(9, 100), "test": make_split(12, 200)}
    ).save_to_disk(str(saved))
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: derm\n"
        "data:\n"
        f"  source: {{type: hf_dataset, path: {saved}, image_column: img, label_column: dx, size: 8, "
        f"cache_dir: {tmp_path / 'cache'}}}\n"
        "  classes: all\n"
        "  partitions: {pool: train, val: validation, test: test}\n"
        "  splits: {pool: {benign: 10, malignant: 10, normal: 10}, val: {benign: 3, malignant: 3, normal: 3},\n"
        "           test: {benign: 4, malignant: 4, normal: 4}}\n"
        "arms: [{name: ce, train: {benign: 10, malignant: 2, normal: 10}}]\n"
        "model: {name: simple_cnn, width: 4, hidden: 8}\n"
        "training: {epochs: 1, batch_size: 8}\n"
        "seeds: 1\n"
    )
    out = cli("validate", spec)
    assert out.returncode == 0, out.stderr
    assert "arm ce (none): benign 10, malignant 2, normal 10" in out.stdout
    too_many = spec.read_text().replace("test: {benign: 4,", "test: {benign: 5,")
    spec.write_text(too_many)
    refused = cli("validate", spec)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr


def test_images_are_read_a_chunk_at_a_time(tmp_path, monkeypatch):
    """A large dataset's encoded images are never all in memory: each chunk reads its own rows as it decodes."""
    import dataclasses

    datasets.DatasetDict({"train": make_split(30, 0), "test": make_split(11, 50)}).save_to_disk(str(tmp_path / "s"))
    listing = hf_module.read_dataset(str(tmp_path / "s"), None, "img", "dx", None)
    spans: list[tuple[int, int]] = []

    def recorded(start: int, stop: int) -> list:
        spans.append((start, stop))
        return listing.read(start, stop)

    monkeypatch.setattr(image_folder_module, "MIN_CHUNK", 4)
    monkeypatch.setattr(image_folder_module, "MAX_CHUNK", 8)
    data = image_folder_module.load_listing(
        dataclasses.replace(listing, read=recorded), (4, 4), 3, "stretch", "skip", tmp_path / "c", 2
    )
    spans.sort()
    assert len(spans) > 2 and all(stop - start <= 8 for start, stop in spans)  # a chunk at a time
    assert spans[0][0] == 0 and spans[-1][1] >= 41 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    whole = hf_dataset(
        path=str(tmp_path / "s"), image_column="img", label_column="dx", size=4, cache_dir=str(tmp_path / "c2")
    )
    assert torch.equal(data.images, whole.images) and data.partition.tolist() == whole.partition.tolist()
