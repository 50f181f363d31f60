"""Images named in a list file, one row per image: a path and a label, decoded once into an on-disk cache.

The shape most labelled image sets come in besides a folder per class: the long-tail benchmarks' lists
(ImageNet-LT's ``ImageNet_LT_train.txt``, Places-LT, iNaturalist: ``train/n01440764/n01440764_190.JPEG 0``
per line), and the CSV files of Kaggle competitions, ISIC and CheXpert (``image,label`` with a header).
The files are decoded, resized and cached exactly as :func:`~imbalance_lab.data.image_folder.image_folder`
does (the same decoding, cache layout, bad-file handling and workers), in the list's order.

References
----------
Liu, Z., Miao, Z., Zhan, X., Wang, J., Gong, B., & Yu, S. X. (2019). Large-scale long-tailed recognition in
an open world. CVPR. (ImageNet-LT and Places-LT, and their list files)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.data.image_folder import (
    Listing,
    cache_folder,
    default_cache_dir,
    file_entry,
    load_listing,
    output_size,
)
from imbalance_lab.errors import DataError


def _format_of(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    return {".csv": "csv", ".tsv": "tsv"}.get(path.suffix.lower(), "whitespace")


def _rows(text: str, fmt: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank line; ``#`` starts a comment line in a whitespace list."""
    if fmt == "whitespace":
        rows = [(n, line.split()) for n, line in enumerate(text.splitlines(), start=1)]
        return [(n, cells) for n, cells in rows if cells and not cells[0].startswith("#")]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="," if fmt == "csv" else "\t")
    return [(reader.line_num, [c.strip() for c in cells]) for cells in reader if any(c.strip() for c in cells)]


def _column_index(column: str | int, header: list[str] | None, which: str, origin: str) -> int:
    if isinstance(column, int):
        return column
    if header is None:
        raise DataError(f"{origin}: {which} {column!r} is a column name, but header is false; give its position")
    if column not in header:
        raise DataError(f"{origin} has no column {column!r} for the {which}; its columns are: {', '.join(header)}")
    return header.index(column)


def _read_class_file(path: Path) -> tuple[str, ...]:
    try:
        names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read class-name file {path} ({err}); give a text file of one name per line") from None
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise DataError(f"class-name file {path} names {twice!r} twice; give each class once")
    if len(names) < 2:
        raise DataError(f"class-name file {path} names {len(names)} class(es); give one name per line, at least two")
    return names


def _is_integer(text: str) -> bool:
    return text.isascii() and text.lstrip("-").isdigit()


def _classes(labels: list[str], class_names: tuple[str, ...] | None) -> tuple[tuple[str, ...], dict[str, int]]:
    """The class names and each label's index: integer labels index ``class_names`` (or name themselves, sorted
    by value, without it); name labels are ``class_names``' (or sorted, as image_folder sorts its folders)."""
    if class_names is not None:
        index = {name: i for i, name in enumerate(class_names)}
        if labels and all(_is_integer(label) for label in labels):
            return class_names, {label: int(label) for label in set(labels) if 0 <= int(label) < len(class_names)}
        return class_names, index
    if labels and all(_is_integer(label) for label in labels):
        values = sorted({int(label) for label in labels})
        names = tuple(str(v) for v in values)
        return names, {label: values.index(int(label)) for label in set(labels)}
    names = tuple(sorted(set(labels)))
    return names, {name: i for i, name in enumerate(names)}


def read_list(
    list_path: Path,
    root: Path,
    fmt: str,
    path_column: str | int,
    label_column: str | int,
    header: bool | None,
    class_names: tuple[str, ...] | None,
) -> Listing:
    """The list's files and labels in its order, by ``stat`` only; rows without a usable path or label are
    kept aside (line, reason) to be reported with the unreadable files."""
    origin = f"image list {list_path}"
    if not list_path.is_file():
        what = "a folder" if list_path.is_dir() else "missing"
        raise DataError(f"{origin} is {what}; set file to a CSV or text file of path and label per line")
    try:
        text = list_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {origin} ({err}); give a UTF-8 text file of path and label per line") from None
    fmt = _format_of(list_path, fmt)
    rows = _rows(text, fmt)
    if header is None:
        header = isinstance(path_column, str) or isinstance(label_column, str)
    names = rows.pop(0)[1] if header and rows else None
    path_at = _column_index(path_column, names, "path column", origin)
    label_at = _column_index(label_column, names, "label column", origin)
    usable: list[tuple[int, str, str]] = []
    broken: list[tuple[int, str]] = []
    for line, cells in rows:
        if max(path_at, label_at) >= len(cells):
            broken.append(
                (line, f"{len(cells)} column(s), expected a path in column {path_at} and a label in {label_at}")
            )
        elif not cells[path_at]:
            broken.append((line, "no path"))
        elif not cells[label_at]:
            broken.append((line, "no label"))
        else:
            usable.append((line, cells[path_at], cells[label_at]))
    if not usable:
        raise DataError(
            f"{origin} has no rows of path and label"
            + (f" ({len(broken)} unusable, the first at line {broken[0][0]}: {broken[0][1]})" if broken else "")
            + "; give one image per line, e.g. 'train/cat/001.jpg cat'"
        )
    classes, index = _classes([label for _, _, label in usable], class_names)
    files, labels = [], []
    for line, path, label in usable:
        if label not in index:
            known = "integers from 0" if _is_integer(label) else "names in the class-name file"
            broken.append((line, f"label {label!r} is not a class (labels are {known}, {len(classes)} classes)"))
            continue
        files.append(file_entry(root, Path(path).as_posix()))
        labels.append(index[label])
    broken.sort()
    return Listing(root, classes, tuple(files), tuple(labels), list_file=list_path, rows=tuple(broken))


@SOURCES.implement
def image_list(
    file: str,
    root: str | None,
    path_column: str | int,
    label_column: str | int,
    format: str,  # noqa: A002  (the spec's word for it)
    header: bool | None,
    classes_file: str | None,
    size: int | tuple[int, int],
    channels: int,
    resize: str,
    on_bad_image: str,
    cache_dir: str | None,
    workers: int | None,
) -> ImageSet:
    """``image_list`` (:func:`~imbalance_lab.declarations.sources.image_list.image_list`): the list read and
    its files decoded once into the cache (or read back from it), in the list's order."""
    list_path = Path(file).expanduser().resolve()
    root_path = Path(root).expanduser().resolve() if root is not None else list_path.parent
    names = _read_class_file(Path(classes_file).expanduser().resolve()) if classes_file is not None else None
    hw = output_size(size)
    listing = read_list(list_path, root_path, format, path_column, label_column, header, names)
    cache = cache_folder(
        cache_dir, lambda: default_cache_dir(root_path, hw, channels, resize, kind="image_list", list_file=list_path)
    )
    return load_listing(listing, hw, channels, resize, on_bad_image, cache, workers)
