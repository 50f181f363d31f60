"""``hf_dataset`` declared: images from a Hugging Face dataset (a folder written by ``save_to_disk``, parquet
files, or a Hub name), decoded once into an on-disk cache by :mod:`imbalance_lab.data.hf_dataset` as
``image_folder`` decodes its images. Only loading it needs the ``datasets`` package."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels
from imbalance_lab.declarations.sources.image_folder import CacheDir, Channels, OnBadImage, Resize, Size, Workers

DatasetPath = Annotated[
    str,
    Field(
        min_length=1,
        description="a folder saved with save_to_disk, a parquet file or folder of them, or a Hub name (online)",
    ),
]
Split = Annotated[str | None, Field(description="one split only (e.g. train); default: every split, as partitions")]
ColumnName = Annotated[str, Field(min_length=1)]
Revision = Annotated[str | None, Field(description="a Hub dataset's git revision (branch, tag or commit)")]


@SOURCES.declare
def hf_dataset(
    path: DatasetPath,
    split: Split = None,
    image_column: ColumnName = "image",
    label_column: ColumnName = "label",
    revision: Revision = None,
    size: Size = 64,
    channels: Channels = 3,
    resize: Resize = "stretch",
    on_bad_image: OnBadImage = "skip",
    cache_dir: CacheDir = None,
    workers: Workers = None,
) -> SourceLabels | None:
    """A Hugging Face dataset (saved with ``save_to_disk``, parquet files, or a Hub name), resized and cached.

    The image column must be an ``Image`` feature; its encoded bytes are decoded, resized and cached as
    ``image_folder`` does (a decoded cache is reused while the dataset's stored files are unchanged). Class
    names come from the label column's ``ClassLabel`` feature, else from its values (integers or names,
    sorted). Every split is loaded and kept as a published partition (``train``, ``validation``,
    ``test``, ...) unless ``split`` names one.

    Parameters
    ----------
    path : str
        A folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``; a ``.parquet`` file
        or a folder of them (splits from the file names, as the Hub lays them out); or, online, a Hub name
        such as ``"owner/name"`` (downloaded into the ``datasets`` cache).
    split : str, optional
        Load only this split (no partitions then).
    image_column, label_column : str, default "image" and "label"
    revision : str, optional
        A Hub dataset's revision.
    size, channels, resize, on_bad_image, cache_dir, workers
        As for ``image_folder``; unreadable images are named ``<split>[<row>]``. The default cache is
        ``~/.cache/imbalance-lab/hf_dataset/<key>``.

    Returns
    -------
    ImageSet
        ``uint8`` images ``N×C×H×W``, splits in the dataset's order and rows in each split's order;
        ``int64`` labels; class names; the splits as partitions.
    """
    return None
