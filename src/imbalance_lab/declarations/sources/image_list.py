"""``image_list`` declared: images named in a list file, one row per image (a path and a label), decoded
once into an on-disk cache by :mod:`imbalance_lab.data.image_list` as ``image_folder`` decodes its images.

References
----------
Liu, Z., Miao, Z., Zhan, X., Wang, J., Gong, B., & Yu, S. X. (2019). Large-scale long-tailed recognition in
an open world. CVPR. (ImageNet-LT and Places-LT, and their list files)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels
from imbalance_lab.declarations.sources.image_folder import CacheDir, Channels, OnBadImage, Resize, Size, Workers

ListFile = Annotated[
    str, Field(min_length=1, description="the list: CSV, TSV or whitespace-separated path and label per line")
]
ListRoot = Annotated[
    str | None, Field(description="folder the listed paths are relative to; default: the list file's folder")
]
Column = Annotated[
    str | Annotated[int, Field(ge=0)], Field(description="a column's name (with a header row) or 0-based position")
]
ListFormat = Annotated[
    Literal["auto", "csv", "tsv", "whitespace"],
    Field(description="auto: .csv is CSV, .tsv is TSV, anything else whitespace-separated"),
]
Header = Annotated[
    bool | None, Field(description="whether the first line names the columns; default: when a column is named")
]
ClassFile = Annotated[
    str | None,
    Field(description="one class name per line, in label order; integer labels index it, name labels must be in it"),
]


@SOURCES.declare
def image_list(
    file: ListFile,
    root: ListRoot = None,
    path_column: Column = 0,
    label_column: Column = 1,
    format: ListFormat = "auto",  # noqa: A002  (the spec's word for it)
    header: Header = None,
    classes_file: ClassFile = None,
    size: Size = 64,
    channels: Channels = 3,
    resize: Resize = "stretch",
    on_bad_image: OnBadImage = "skip",
    cache_dir: CacheDir = None,
    workers: Workers = None,
) -> SourceLabels | None:
    """Images named in a list file (CSV, TSV or "path label" lines, as ImageNet-LT ships), resized and cached.

    Each line names an image (a path relative to ``root``) and its label; columns are given by name (the
    first line is then a header) or by position. Labels are class names, or integers: with ``classes_file``
    (one name per line) an integer label indexes it and a name label must be in it; without it, integer
    labels name their classes ("0", "1", ...) in numeric order and name labels in sorted order. Images are
    decoded, resized and cached as :func:`~imbalance_lab.data.image_folder.image_folder` does, in the
    list's order.

    Parameters
    ----------
    file : str
        The list (``~`` is expanded). ``.csv`` is read as CSV, ``.tsv`` as TSV, anything else as
        whitespace-separated columns (``#`` starts a comment line), unless ``format`` says otherwise.
    root : str, optional
        The folder the listed paths are relative to; default: the list file's folder. Absolute paths in
        the list are used as they are.
    path_column, label_column : str or int, default 0 and 1
        A column's name in the header, or its 0-based position.
    format : {"auto", "csv", "tsv", "whitespace"}, default "auto"
    header : bool, optional
        Whether the first line names the columns; default: when a column is given by name.
    classes_file : str, optional
        One class name per line, in label order (also fixes the classes' order for name labels).
    size, channels, resize, on_bad_image, cache_dir, workers
        As for ``image_folder``. Lines without a usable path or label, and labels that are not classes,
        are treated like unreadable files: skipped with one warning and listed (``LIST:LINE`` and why)
        in ``skipped.txt``, or the first is an error with ``on_bad_image: error``. The default cache is
        ``~/.cache/imbalance-lab/image_list/<key>``, the key a hash of the list's path, the root and the
        decoding parameters; a changed list or image rebuilds it.

    Returns
    -------
    ImageSet
        ``uint8`` images ``N×C×H×W`` in the list's order, ``int64`` labels, the class names.

    Examples
    --------
    ImageNet-LT's training list, its paths relative to the ImageNet folder::

        source: {type: image_list, file: ~/data/ImageNet_LT_train.txt, root: ~/data/imagenet, size: 64}
    """
    return None
