"""Images from a folder with one sub-folder per class, decoded once into an on-disk cache.

The seeds' own data (000–002) is a folder of cat and dog JPEGs resized on load;
this source does that once, in parallel, and keeps the result as plain ``.npy``
arrays so later runs start in the time it takes to list the folder.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import numpy as np
import torch
from PIL import Image, ImageOps
from pydantic import Field

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.errors import DataError

FORMAT_VERSION = 1
"""Bump when the decoded pixels or the cache layout change, so older caches are rebuilt."""

MANIFEST, IMAGES, LABELS, SKIPPED = "manifest.json", "images.npy", "labels.npy", "skipped.txt"
TEMP_PREFIX = ".tmp-"
STALE_TEMP_S = 600.0  # a temp file untouched this long belongs to an interrupted write, not a live one
MIN_CHUNK, MAX_CHUNK = 8, 256  # files per decoding task: enough to hide the per-task overhead
LAYOUT_HINT = "one sub-folder of images per class, e.g. ROOT/cats/*.jpg and ROOT/dogs/*.jpg"

Side = Annotated[int, Field(ge=4)]
Root = Annotated[
    str, Field(min_length=1, description="folder with one sub-folder of images per class ('~' is expanded)")
]
Size = Annotated[
    Side | tuple[Side, Side], Field(description="output height and width in pixels; one number for square images")
]
Channels = Annotated[Literal[1, 3], Field(description="1 for grayscale, 3 for RGB")]
Resize = Annotated[
    Literal["stretch", "center_crop"],
    Field(description="stretch the whole image, or crop its centre to the output's shape first"),
]
OnBadImage = Annotated[
    Literal["skip", "error"], Field(description="skip unreadable files with one warning, or stop at the first")
]
CacheDir = Annotated[
    str | None, Field(description="where decoded images are kept; default under ~/.cache/imbalance-lab/image_folder")
]
Workers = Annotated[int | None, Field(ge=1, description="decoding threads; default: one per CPU")]


class DataWarning(UserWarning):
    """A data problem that did not stop the load (e.g. unreadable files that were skipped)."""


@dataclass(frozen=True)
class _Listing:
    """What a cheap scan of the folder finds: class names and every candidate file, in output order."""

    root: Path
    class_names: tuple[str, ...]
    files: tuple[tuple[str, int, int], ...]  # (path relative to root, size in bytes, mtime_ns)
    labels: tuple[int, ...]


@dataclass(frozen=True)
class _Decoded:
    """Decoded pixels of the readable files, and the unreadable ones with Pillow's reason."""

    images: np.ndarray  # uint8 N×C×H×W
    labels: np.ndarray  # int64 N
    skipped: tuple[tuple[str, str], ...]  # (relative path, reason)


def default_cache_dir(root: str | Path, size: tuple[int, int], channels: int, resize: str) -> Path:
    """``$XDG_CACHE_HOME/imbalance-lab/image_folder/<key>`` (``~/.cache`` without it), one per root and parameters."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    cache_home = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    key = json.dumps(
        {"root": str(Path(root).expanduser().resolve()), "size": list(size), "channels": channels, "resize": resize}
    )
    return cache_home / "imbalance-lab" / "image_folder" / hashlib.sha256(key.encode()).hexdigest()[:16]


def _list_folder(root: Path, ignore: Path | None = None) -> _Listing:
    """Class sub-folders (sorted) and their files (sorted, recursive), by ``stat`` only; hidden entries are ignored."""
    if not root.exists():
        raise DataError(f"image folder {root} does not exist; set root to an existing folder with {LAYOUT_HINT}")
    if not root.is_dir():
        raise DataError(f"image folder {root} is a file, not a folder; set root to a folder with {LAYOUT_HINT}")
    with os.scandir(root) as entries:
        class_dirs = sorted(
            e.name for e in entries if not e.name.startswith(".") and e.is_dir() and Path(e.path) != ignore
        )
    if not class_dirs:
        raise DataError(f"image folder {root} has no class sub-folders; arrange the images as {LAYOUT_HINT}")
    files: list[tuple[str, int, int]] = []
    labels: list[int] = []
    for label, name in enumerate(class_dirs):
        found = []
        for folder, dirs, names in os.walk(root / name):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for fname in names:
                if fname.startswith("."):
                    continue
                path = Path(folder, fname)
                try:
                    stat = path.stat()
                except OSError:  # a broken link: listed, so it is reported as unreadable
                    found.append((path.relative_to(root).as_posix(), -1, -1))
                    continue
                found.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
        found.sort()
        files += found
        labels += [label] * len(found)
    return _Listing(root, tuple(class_dirs), tuple(files), tuple(labels))


def _crop_box(width: int, height: int, target_w: int, target_h: int) -> tuple[float, float, float, float]:
    """The largest centred box of the target's aspect ratio inside a ``width × height`` image."""
    if width * target_h > height * target_w:  # wider than the target: keep the full height
        crop_w, crop_h = height * target_w / target_h, float(height)
    else:
        crop_w, crop_h = float(width), width * target_h / target_w
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    return left, top, left + crop_w, top + crop_h


def _decode_image(path: Path, size: tuple[int, int], channels: int, resize: str) -> np.ndarray:
    """One file as a ``C×H×W`` uint8 array; raises whatever Pillow raises for a bad file.

    JPEGs are decoded at a reduced DCT scale that still leaves at least twice the
    target size (as Pillow's ``thumbnail`` does), then resized with antialiasing.
    """
    height, width = size
    mode = "L" if channels == 1 else "RGB"
    img: Image.Image  # the opened file, then its conversions
    with Image.open(path) as img:
        img.draft(mode, (2 * max(size), 2 * max(size)))
        img.load()  # raises on truncated data (we never set LOAD_TRUNCATED_IMAGES)
        ImageOps.exif_transpose(img, in_place=True)
        if img.mode.startswith("I;16"):  # 16-bit: scale to 8 bits instead of clipping at 255
            wide = np.asarray(img).astype(np.uint32)
            img = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), "L")
        if img.mode != mode:
            img = img.convert(mode)
        box = _crop_box(img.width, img.height, width, height) if resize == "center_crop" else None
        pixels = np.asarray(img.resize((width, height), Image.Resampling.BILINEAR, box=box))
    return pixels.reshape(height, width, channels).transpose(2, 0, 1)


def _decode_chunk(
    paths: Sequence[Path], size: tuple[int, int], channels: int, resize: str
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Decode ``paths`` into one ``n×C×H×W`` array; bad files stay zero and come back as ``(index, reason)``."""
    out = np.zeros((len(paths), channels, *size), dtype=np.uint8)
    bad: list[tuple[int, str]] = []
    for i, path in enumerate(paths):
        try:
            out[i] = _decode_image(path, size, channels, resize)
        except Exception as err:  # noqa: BLE001  (any failure to turn these bytes into pixels is a bad file)
            bad.append((i, f"{type(err).__name__}: {err}".replace("\n", " ")))
    return out, bad


def _bad_file_error(root: Path, relpath: str, reason: str) -> DataError:
    return DataError(
        f"cannot read image {root / relpath}: {reason}; replace or remove the file, "
        "or set on_bad_image: skip to skip unreadable files"
    )


def _decode_listing(
    listing: _Listing,
    size: tuple[int, int],
    channels: int,
    resize: str,
    on_bad_image: str,
    workers: int,
    pool: Literal["thread", "process"] = "thread",
) -> _Decoded:
    """Decode every listed file, ``workers`` at a time, in listing order.

    The file list is cut into a few chunks per worker so the per-task overhead is
    small next to the decoding. Threads, not processes: Pillow releases the GIL
    while it decodes, converts and resizes, and threads need no worker start-up,
    no copies back and no second torch import per worker (a spawned worker costs
    about 0.6 GB). The Python part of opening a file keeps the GIL, which limits
    the gain on many cores for small JPEGs; ``benchmarks/image_folder_decode.py``
    times both pools side by side.
    With ``on_bad_image='error'`` the first bad file, in listing order, raises.
    """
    paths = [listing.root / rel for rel, _, _ in listing.files]
    n = len(paths)
    images = np.zeros((n, channels, *size), dtype=np.uint8)
    bad: list[tuple[int, str]] = []
    chunk = min(MAX_CHUNK, max(MIN_CHUNK, -(-n // (workers * 4))))  # about 4 chunks per worker, for balance
    starts = range(0, n, chunk)

    def collect(start: int, result: tuple[np.ndarray, list[tuple[int, str]]]) -> None:
        pixels, chunk_bad = result
        images[start : start + len(pixels)] = pixels
        for i, reason in chunk_bad:
            if on_bad_image == "error":
                raise _bad_file_error(listing.root, listing.files[start + i][0], reason)
            bad.append((start + i, reason))

    if workers == 1 or len(starts) <= 1:
        for start in starts:
            collect(start, _decode_chunk(paths[start : start + chunk], size, channels, resize))
    else:
        executor_type = (
            concurrent.futures.ThreadPoolExecutor if pool == "thread" else concurrent.futures.ProcessPoolExecutor
        )
        executor = executor_type(max_workers=min(workers, len(starts)))
        try:
            decode = functools.partial(_decode_chunk, size=size, channels=channels, resize=resize)
            results = executor.map(decode, [paths[s : s + chunk] for s in starts])
            for start, result in zip(starts, results):
                collect(start, result)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    keep = np.ones(n, dtype=bool)
    keep[[i for i, _ in bad]] = False
    return _Decoded(
        images=images[keep] if bad else images,
        labels=np.asarray(listing.labels, dtype=np.int64)[keep],
        skipped=tuple((listing.files[i][0], reason) for i, reason in bad),
    )


def _manifest_for(listing: _Listing, size: tuple[int, int], channels: int, resize: str) -> dict[str, Any]:
    """What a cache must match to be reused: format, parameters, root, classes and every file's size and mtime."""
    return {
        "format_version": FORMAT_VERSION,
        "params": {"size": list(size), "channels": channels, "resize": resize},
        "root": str(listing.root),
        "class_names": list(listing.class_names),
        "files": [list(f) for f in listing.files],
    }


def _read_cache(cache: Path, expected: dict[str, Any], shape: tuple[int, ...]) -> _Decoded | None:
    """The cached arrays if the manifest matches ``expected`` and the arrays are whole; else ``None``."""
    try:
        manifest = json.loads((cache / MANIFEST).read_text())
        if any(manifest.get(key) != value for key, value in expected.items()):
            return None
        images = np.load(cache / IMAGES, allow_pickle=False)
        labels = np.load(cache / LABELS, allow_pickle=False)
        skipped = tuple((str(rel), str(reason)) for rel, reason in manifest["skipped"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    n = len(expected["files"]) - len(skipped)
    if images.dtype != np.uint8 or images.shape != (n, *shape) or labels.dtype != np.int64 or labels.shape != (n,):
        return None
    return _Decoded(images, labels, skipped)


def _write_atomic(cache: Path, name: str, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``cache/name`` through a synced temp file and a rename, so it is never seen half-written."""
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=TEMP_PREFIX, suffix="-" + name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, cache / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sync_dir(path: Path) -> None:
    """Make the renames in ``path`` durable (a no-op where directories cannot be opened, e.g. Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_skipped(cache: Path, root: Path, skipped: Sequence[tuple[str, str]]) -> None:
    """``skipped.txt``: one line per skipped file, its absolute path and Pillow's reason, tab-separated."""
    if skipped:
        text = "".join(f"{root / rel}\t{reason}\n" for rel, reason in skipped)
        _write_atomic(cache, SKIPPED, lambda fh: fh.write(text.encode()))
    else:
        (cache / SKIPPED).unlink(missing_ok=True)


def _start_rebuild(cache: Path) -> None:
    """Invalidate the old cache first (manifest gone), and clear temp files left by interrupted writes."""
    (cache / MANIFEST).unlink(missing_ok=True)
    now = time.time()
    for tmp in cache.glob(TEMP_PREFIX + "*"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > STALE_TEMP_S:  # a younger one may be a concurrent writer's
                tmp.unlink()


def _write_cache(cache: Path, decoded: _Decoded, manifest: dict[str, Any]) -> None:
    """The arrays first, each atomically; the manifest last, so only a complete cache is ever reused."""
    _write_atomic(cache, IMAGES, lambda fh: np.save(fh, decoded.images, allow_pickle=False))
    _write_atomic(cache, LABELS, lambda fh: np.save(fh, decoded.labels, allow_pickle=False))
    _sync_dir(cache)
    manifest = {**manifest, "skipped": [list(s) for s in decoded.skipped]}
    _write_atomic(cache, MANIFEST, lambda fh: fh.write(json.dumps(manifest).encode()))
    _sync_dir(cache)


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _check_classes(listing: _Listing, decoded: _Decoded, cache: Path) -> None:
    """Every class must keep at least one image after skipping bad files."""
    note = f" ({_files(len(decoded.skipped))} skipped as unreadable, see {cache / SKIPPED})" if decoded.skipped else ""
    if len(decoded.labels) == 0:
        raise DataError(
            f"image folder {listing.root} has no readable images in its class sub-folders "
            f"({', '.join(listing.class_names)}){note}; add image files (any format Pillow reads) to them"
        )
    counts = np.bincount(decoded.labels, minlength=len(listing.class_names))
    for name, count in zip(listing.class_names, counts):
        if count == 0:
            raise DataError(
                f"class folder {listing.root / name} has no readable images{note}; add images to it or remove the folder"
            )


@SOURCES.register
def image_folder(
    root: Root,
    size: Size = 64,
    channels: Channels = 3,
    resize: Resize = "stretch",
    on_bad_image: OnBadImage = "skip",
    cache_dir: CacheDir = None,
    workers: Workers = None,
) -> ImageSet:
    """Images in a folder with one sub-folder per class (e.g. cats/, dogs/), resized and cached.

    Each sub-folder of ``root`` is a class (sorted names are the class names); every
    file in it, at any depth, that Pillow can read is an image of that class, whatever
    its extension. Hidden files and folders are ignored. Images are converted to
    grayscale or RGB and resized once, in parallel, then kept in a cache so later
    runs only list the folder and load two arrays.

    Parameters
    ----------
    root : str or Path
        The folder holding one sub-folder per class (``~`` is expanded; a relative
        path is taken from the working directory).
    size : int or (int, int), default 64
        Output ``height, width``; one number gives square images. At least 4.
    channels : {1, 3}, default 3
        1 for grayscale (Pillow's ``L``), 3 for RGB. Other modes (RGBA, P, CMYK,
        16-bit) are converted; transparency is dropped.
    resize : {"stretch", "center_crop"}, default "stretch"
        ``stretch`` resizes the whole image to ``size``; ``center_crop`` first cuts
        the largest centred box of the target's aspect ratio, so nothing is
        distorted but the borders are lost. Both use antialiased bilinear resampling.
    on_bad_image : {"skip", "error"}, default "skip"
        ``skip`` leaves out unreadable, truncated or non-image files, lists them in
        ``skipped.txt`` in the cache folder and issues one :class:`DataWarning`;
        ``error`` raises a :class:`~imbalance_lab.errors.DataError` for the first one.
    cache_dir : str or Path, optional
        Where the decoded arrays are kept. Default:
        ``$XDG_CACHE_HOME/imbalance-lab/image_folder/<key>`` (``~/.cache/...``
        without ``XDG_CACHE_HOME``), the key being a hash of the absolute root and
        ``size``, ``channels`` and ``resize``.
    workers : int, optional
        Decoding threads; default ``os.cpu_count()``.

    Returns
    -------
    ImageSet
        ``uint8`` images ``N×C×H×W`` ordered by class, then by file path; ``int64``
        labels; the class names.

    Notes
    -----
    The cache holds ``images.npy`` (uint8 N×C×H×W), ``labels.npy`` (int64),
    ``skipped.txt`` and ``manifest.json``: the format version, the parameters, the
    root and each file's relative path, size and ``mtime_ns``. On every call the
    folder is listed (``stat`` only) and compared with the manifest; any added,
    removed or changed file, or other parameters, rebuilds the cache. Each file is
    written to a synced temp file and renamed into place, the manifest last, so an
    interrupted write leaves no manifest and is rebuilt, never reused.

    JPEGs are decoded at a reduced scale that still leaves twice the target size
    before resizing (Pillow's ``draft``, as its ``thumbnail`` does), and EXIF
    orientation is applied, so images come out as viewers show them.

    Examples
    --------
    >>> from imbalance_lab.data import SOURCES
    >>> data = SOURCES.create("image_folder", root="~/data/cats_vs_dogs", size=64)  # doctest: +SKIP
    >>> data.class_names, data.class_counts()  # doctest: +SKIP
    (('cats', 'dogs'), [5000, 5000])
    """
    root_path = Path(root).expanduser().resolve()
    hw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    cache = (
        Path(cache_dir).expanduser().resolve()
        if cache_dir is not None
        else default_cache_dir(root_path, hw, channels, resize)
    )
    listing = _list_folder(root_path, ignore=cache)
    expected = _manifest_for(listing, hw, channels, resize)

    decoded = _read_cache(cache, expected, (channels, *hw))
    if decoded is not None and decoded.skipped and on_bad_image == "error":
        raise _bad_file_error(root_path, *decoded.skipped[0])
    if decoded is None:
        decoded = _decode_listing(listing, hw, channels, resize, on_bad_image, workers or os.cpu_count() or 1)
        if not decoded.skipped:
            _check_classes(listing, decoded, cache)  # refused before the cache exists: nothing is left behind
        try:
            cache.mkdir(parents=True, exist_ok=True)
            _start_rebuild(cache)
            _write_skipped(cache, root_path, decoded.skipped)  # before the checks, so their messages can point to it
            _check_classes(listing, decoded, cache)
            _write_cache(cache, decoded, expected)
        except OSError as err:
            raise DataError(
                f"cannot write the image cache in {cache} ({err.strerror or err}); set cache_dir to a writable folder"
            ) from None

    if decoded.skipped:
        warnings.warn(
            f"{_files(len(decoded.skipped))} skipped in {root_path} (unreadable or not images), see {cache / SKIPPED}",
            DataWarning,
            stacklevel=2,
        )
    return ImageSet(
        images=torch.from_numpy(decoded.images),
        labels=torch.from_numpy(decoded.labels),
        class_names=listing.class_names,
    )
