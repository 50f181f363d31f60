"""Images from a Hugging Face dataset: a folder written by ``save_to_disk``, parquet files, or a Hub name.

The ``datasets`` library is where most public image sets now live. This source reads its image column's
encoded bytes (not the decoded PIL images) and decodes, resizes and caches them exactly as
:func:`~imbalance_lab.data.image_folder.image_folder` does; class names come from the label column's
``ClassLabel`` feature. A dataset with splits (a ``DatasetDict``) keeps them as published partitions, as
CIFAR's train and test are, so a spec can cut each set from one of them (``data.partitions``).

The ``datasets`` package is needed only by this source (``pip install datasets``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.data.image_folder import (
    Listing,
    cache_folder,
    default_cache_dir,
    load_listing,
    output_size,
)
from imbalance_lab.errors import DataError

INSTALL_HINT = "install it with: pip install datasets"
HASH_CHUNK = 1024  # rows read at a time to hash a dataset held only in memory


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:300]}"


def _open(path: str, revision: str | None) -> tuple[Any, str]:
    """The dataset (a ``Dataset`` or ``DatasetDict``) and a description of it for messages."""
    try:
        import datasets  # an optional dependency: only this source needs it
    except ImportError:
        raise DataError(
            f"data source 'hf_dataset' needs the package datasets, which is not installed; {INSTALL_HINT}"
        ) from None

    local = Path(path).expanduser()
    if local.exists():
        local = local.resolve()
        described = f"Hugging Face dataset {local}"
        try:
            if local.is_dir() and ((local / "dataset_dict.json").is_file() or (local / "state.json").is_file()):
                return datasets.load_from_disk(str(local)), described
            if local.is_file() and local.suffix == ".parquet":
                return datasets.load_dataset("parquet", data_files={"train": str(local)}), described
            if local.is_dir() and any(local.rglob("*.parquet")):
                return datasets.load_dataset("parquet", data_dir=str(local)), described
        except Exception as err:  # noqa: BLE001  (whatever the library raises on a broken folder is one line here)
            raise DataError(f"cannot read {described} ({_one_line(err)}); save it again with save_to_disk") from None
        raise DataError(
            f"{local} is neither a dataset saved with save_to_disk (no dataset_dict.json or state.json) nor parquet "
            "files; give such a folder or file, or a Hub name"
        )
    if "/" not in path.strip("/") or path.startswith((".", "~", "/")):
        raise DataError(
            f"hf_dataset: {path} does not exist here, and is not a Hub name (owner/name); give an existing folder "
            "saved with save_to_disk, parquet files, or a Hub name such as 'owner/name'"
        )
    try:
        return datasets.load_dataset(path, revision=revision), f"Hugging Face dataset {path} (Hub)"
    except Exception as err:  # noqa: BLE001  (offline, unknown, gated: one line, the library's reason in it)
        raise DataError(
            f"cannot load {path} from the Hugging Face Hub ({_one_line(err)}); check the name and the connection, "
            "or give a local folder saved with save_to_disk or parquet files"
        ) from None


def _class_names(feature: Any, values: list[Any], label_column: str, described: str) -> tuple[tuple[str, ...], dict]:
    """Names from a ``ClassLabel`` feature (labels index them), else the labels' own values, sorted."""
    names = getattr(feature, "names", None)
    if names is not None:
        return tuple(str(n) for n in names), {i: i for i in range(len(names))}
    if any(isinstance(v, bool) or not isinstance(v, int | str) for v in values):
        kind = type(next(v for v in values if isinstance(v, bool) or not isinstance(v, int | str))).__name__
        raise DataError(
            f"{described}: label column {label_column!r} holds {kind} values; give a column of class labels "
            "(a ClassLabel, integers or names)"
        )
    distinct = sorted(set(values), key=lambda v: (isinstance(v, str), v))
    return tuple(str(v) for v in distinct), {v: i for i, v in enumerate(distinct)}


def _version(splits: dict[str, Any], read: Callable[[int, int], list[bytes | Path]], n: int) -> str:
    """What identifies the data, for the decoded cache: each split's arrow files with their sizes and times,
    or, for a dataset held only in memory, a hash of its encoded images (read a chunk at a time)."""
    files = []
    for name, ds in splits.items():
        if not ds.cache_files:
            digest = hashlib.sha256()
            for start in range(0, n, HASH_CHUNK):
                for blob in read(start, min(start + HASH_CHUNK, n)):
                    digest.update(blob if isinstance(blob, bytes) else str(blob).encode())
                    digest.update(b"\0")
            return "content:" + digest.hexdigest()
        for entry in ds.cache_files:
            stat = Path(entry["filename"]).stat()
            files.append([name, entry["filename"], stat.st_size, stat.st_mtime_ns])
    return "files:" + hashlib.sha256(json.dumps(files).encode()).hexdigest()


def _reader(encoded: list[Any], image_column: str) -> Callable[[int, int], list[bytes | Path]]:
    """Rows ``[start, stop)`` of the splits taken one after another: each image's encoded bytes, or its file."""
    offsets = [0]
    for ds in encoded:
        offsets.append(offsets[-1] + len(ds))

    def read(start: int, stop: int) -> list[bytes | Path]:
        out: list[bytes | Path] = []
        for ds, offset, end in zip(encoded, offsets, offsets[1:], strict=False):
            a, b = max(start, offset), min(stop, end)
            for cell in ds[a - offset : b - offset][image_column] if a < b else []:
                data, path = (cell or {}).get("bytes"), (cell or {}).get("path")
                out.append(data if data is not None else Path(path) if path else b"")
        return out

    return read


def read_dataset(path: str, split: str | None, image_column: str, label_column: str, revision: str | None) -> Listing:
    """Every split's encoded images, labels and partition, by reading the columns (nothing decoded yet)."""
    import datasets

    loaded, described = _open(path, revision)
    splits: dict[str, Any] = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    if split is not None:
        if split not in splits:
            raise DataError(f"{described} has no split {split!r}; its splits are: {', '.join(splits)}")
        splits = {split: splits[split]}
        described += f", split {split}"
    first = next(iter(splits.values()))
    columns = list(first.column_names)
    for which, column in (("image", image_column), ("label", label_column)):
        if column not in columns:
            raise DataError(
                f"{described} has no {which} column {column!r}; its columns are: {', '.join(columns)} "
                f"(set {which}_column)"
            )
    if not isinstance(first.features[image_column], datasets.Image):
        kind = type(first.features[image_column]).__name__
        raise DataError(
            f"{described}: column {image_column!r} is a {kind}, not an Image feature; set image_column to the "
            "column of images"
        )
    files: list[tuple[str, int, int]] = []
    raw_labels: list[Any] = []
    partition: list[int] = []
    encoded = []
    for p, (name, ds) in enumerate(splits.items()):
        encoded.append(ds.select_columns([image_column]).cast_column(image_column, datasets.Image(decode=False)))
        files += [(f"{name}[{i}]", 0, 0) for i in range(len(ds))]
        raw_labels += list(ds[label_column])
        partition += [p] * len(ds)
    read = _reader(encoded, image_column)
    names, index = _class_names(first.features[label_column], raw_labels, label_column, described)
    labels = []
    for i, value in enumerate(raw_labels):
        if value not in index:  # a ClassLabel's -1 (no label) or an out-of-range integer
            raise DataError(
                f"{described}: row {files[i][0]} has label {value!r}, not one of the {len(names)} classes; "
                "drop unlabelled rows before using the set"
            )
        labels.append(index[value])
    return Listing(
        Path(path),
        names,
        tuple(files),
        tuple(labels),
        described=described,
        read=read,
        version=_version(splits, read, len(files)),
        partition=tuple(partition) if len(splits) > 1 else None,
        partition_names=tuple(splits) if len(splits) > 1 else (),
    )


@SOURCES.implement
def hf_dataset(
    path: str,
    split: str | None,
    image_column: str,
    label_column: str,
    revision: str | None,
    size: int | tuple[int, int],
    channels: int,
    resize: str,
    on_bad_image: str,
    cache_dir: str | None,
    workers: int | None,
) -> ImageSet:
    """``hf_dataset`` (:func:`~imbalance_lab.declarations.sources.hf_dataset.hf_dataset`): the dataset's
    columns read, its encoded images decoded once into the cache (or read back from it)."""
    listing = read_dataset(path, split, image_column, label_column, revision)
    hw = output_size(size)
    key = Path(path).expanduser().resolve() if Path(path).expanduser().exists() else Path(path)
    where = Path(f"{split}@{revision}")  # one cache per split and revision
    cache = cache_folder(
        cache_dir, lambda: default_cache_dir(key, hw, channels, resize, kind="hf_dataset", list_file=where)
    )
    return load_listing(listing, hw, channels, resize, on_bad_image, cache, workers)
