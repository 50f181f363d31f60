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
import io
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import torch
from PIL import Image, ImageOps

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.errors import DataError

FORMAT_VERSION = 1
"""Bump when the decoded pixels or the cache layout change, so older caches are rebuilt."""

MANIFEST, IMAGES, LABELS, SKIPPED = "manifest.json", "images.npy", "labels.npy", "skipped.txt"
TEMP_PREFIX = ".tmp-"
STALE_TEMP_S = 600.0  # a temp file untouched this long belongs to an interrupted write, not a live one
MIN_CHUNK, MAX_CHUNK = 8, 256  # files per decoding task: enough to hide the per-task overhead
LAYOUT_HINT = "one sub-folder of images per class, e.g. ROOT/cats/*.jpg and ROOT/dogs/*.jpg"


class DataWarning(UserWarning):
    """A data problem that did not stop the load (e.g. unreadable files that were skipped)."""


@dataclass(frozen=True)
class Listing:
    """What a cheap scan finds (of a class-per-folder tree, or of a list file: :mod:`.image_list`): class
    names and every candidate file, in output order, by ``stat`` only.

    ``list_file`` is the list the files come from (``None`` for a folder): messages name it, and each
    class's images are "in the list" rather than "in the class folder". ``rows`` are the list's rows that
    named no usable file (line number, reason), reported with the unreadable files.

    A data set whose images are encoded bytes rather than files (:mod:`.hf_dataset`) names them
    ``<split>[<row>]`` in ``files``, reads rows ``[start, stop)``'s bytes (or a file's path) with ``read`` as
    they are decoded, a chunk at a time (never all at once), describes itself in
    ``described`` and keys its cache by ``version`` (what identifies its stored files); ``partition`` and
    ``partition_names`` carry its published splits.
    """

    root: Path
    class_names: tuple[str, ...]
    files: tuple[tuple[str, int, int], ...]  # (path relative to root, size in bytes, mtime_ns)
    labels: tuple[int, ...]
    list_file: Path | None = None
    rows: tuple[tuple[int, str], ...] = ()
    described: str | None = None
    read: Callable[[int, int], list[bytes | Path]] | None = field(default=None, repr=False, compare=False)
    version: Any = None
    partition: tuple[int, ...] | None = None
    partition_names: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """What the images come from, for messages."""
        if self.described is not None:
            return self.described
        return f"image folder {self.root}" if self.list_file is None else f"image list {self.list_file}"

    @property
    def by_file(self) -> bool:
        """A folder's classes are its sub-folders; a list's and a data set's are their labels."""
        return self.list_file is None and self.described is None


@dataclass(frozen=True)
class _Decoded:
    """Decoded pixels of the readable files, and the unreadable ones with Pillow's reason."""

    images: np.ndarray  # uint8 N×C×H×W
    labels: np.ndarray  # int64 N
    skipped: tuple[tuple[str, str], ...]  # (relative path, reason)


def default_cache_dir(
    root: str | Path,
    size: tuple[int, int],
    channels: int,
    resize: str,
    kind: str = "image_folder",
    list_file: Path | None = None,
) -> Path:
    """``$XDG_CACHE_HOME/imbalance-lab/<kind>/<key>`` (``~/.cache`` without it), one per root, list file and
    parameters."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    cache_home = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    fields: dict[str, Any] = {
        "root": str(Path(root).expanduser().resolve()), "size": list(size), "channels": channels, "resize": resize
    }  # fmt: skip
    if list_file is not None:
        fields["list"] = str(list_file)
    key = json.dumps(fields)
    return cache_home / "imbalance-lab" / kind / hashlib.sha256(key.encode()).hexdigest()[:16]


def output_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """``size`` as ``(height, width)``: one number is a square."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def cache_folder(cache_dir: str | None, default: Callable[[], Path]) -> Path:
    """``cache_dir`` if given (``~`` expanded, made absolute), else the source's ``default()``."""
    return Path(cache_dir).expanduser().resolve() if cache_dir is not None else default()


def _list_folder(root: Path, ignore: Path | None = None) -> Listing:
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
                found.append(file_entry(root, Path(folder, fname).relative_to(root).as_posix()))
        found.sort()
        files += found
        labels += [label] * len(found)
    return Listing(root, tuple(class_dirs), tuple(files), tuple(labels))


def file_entry(root: Path, relpath: str) -> tuple[str, int, int]:
    """``(relpath, size, mtime_ns)`` of ``root / relpath``; ``-1, -1`` for a file that cannot be stat'ed (missing,
    a broken link): it stays listed, so it is reported as unreadable, like any bad file."""
    try:
        stat = (root / relpath).stat()
    except OSError:
        return relpath, -1, -1
    return relpath, stat.st_size, stat.st_mtime_ns


def _crop_box(width: int, height: int, target_w: int, target_h: int) -> tuple[float, float, float, float]:
    """The largest centred box of the target's aspect ratio inside a ``width × height`` image."""
    if width * target_h > height * target_w:  # wider than the target: keep the full height
        crop_w, crop_h = height * target_w / target_h, float(height)
    else:
        crop_w, crop_h = float(width), width * target_h / target_w
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    return left, top, left + crop_w, top + crop_h


def _decode_image(path: Path | IO[bytes], size: tuple[int, int], channels: int, resize: str) -> np.ndarray:
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
    paths: Sequence[Path | IO[bytes]], size: tuple[int, int], channels: int, resize: str
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
    listing: Listing,
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

    def items(start: int, stop: int) -> list[Any]:
        """The files (or encoded images) of rows ``[start, stop)``, read when their chunk is decoded."""
        if listing.read is None:
            return [listing.root / rel for rel, _, _ in listing.files[start:stop]]
        return [io.BytesIO(b) if isinstance(b, bytes) else b for b in listing.read(start, stop)]

    n = len(listing.files)
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

    def decode(start: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        return _decode_chunk(items(start, start + chunk), size, channels, resize)

    if workers == 1 or len(starts) <= 1:
        for start in starts:
            collect(start, decode(start))
    else:
        executor: concurrent.futures.Executor
        if pool == "thread":
            executor = concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(starts)))
            results = executor.map(decode, starts)
        else:  # files only (what a process receives must pickle): the benchmark's comparison
            executor = concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(starts)))
            decode_files = functools.partial(_decode_chunk, size=size, channels=channels, resize=resize)
            results = executor.map(decode_files, [items(s, s + chunk) for s in starts])
        try:
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


def _manifest_for(listing: Listing, size: tuple[int, int], channels: int, resize: str) -> dict[str, Any]:
    """What a cache must match to be reused: format, parameters, root, classes and every file's size and mtime
    (and, for a list, each file's label and the list's skipped rows: a folder's labels are its paths)."""
    manifest = {
        "format_version": FORMAT_VERSION,
        "params": {"size": list(size), "channels": channels, "resize": resize},
        "root": str(listing.root),
        "class_names": list(listing.class_names),
        "files": [list(f) for f in listing.files],
    }
    if listing.version is not None:
        manifest["dataset"] = {"version": listing.version, "labels": list(listing.labels)}
    if listing.list_file is not None:
        manifest["list"] = {
            "file": str(listing.list_file),
            "labels": list(listing.labels),
            "rows": [list(r) for r in listing.rows],
        }
    return manifest


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


def _write_skipped(cache: Path, listing: Listing, skipped: Sequence[tuple[str, str]]) -> None:
    """``skipped.txt``: one line per skipped file, its absolute path and Pillow's reason, tab-separated (and per
    unusable line of a list, ``LIST:LINE`` and why)."""
    lines = [f"{listing.list_file}:{line}\t{reason}\n" for line, reason in listing.rows]
    lines += [f"{listing.root / rel}\t{reason}\n" for rel, reason in skipped]
    if lines:
        text = "".join(lines)
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


def _check_classes(listing: Listing, decoded: _Decoded, cache: Path) -> None:
    """Every class must keep at least one image after skipping bad files."""
    skipped = len(decoded.skipped) + len(listing.rows)
    note = f" ({_files(skipped)} skipped as unreadable, see {cache / SKIPPED})" if skipped else ""
    if len(decoded.labels) == 0:
        if not listing.by_file:
            raise DataError(
                f"{listing.origin} names no readable images{note}; check its paths against root {listing.root}"
            )
        raise DataError(
            f"image folder {listing.root} has no readable images in its class sub-folders "
            f"({', '.join(listing.class_names)}){note}; add image files (any format Pillow reads) to them"
        )
    counts = np.bincount(decoded.labels, minlength=len(listing.class_names))
    for name, count in zip(listing.class_names, counts):
        if count == 0 and not listing.by_file:
            fix = "add rows for it, or leave it out of the class-name file" if listing.list_file else "check its labels"
            raise DataError(f"class {name!r} of {listing.origin} has no readable images{note}; {fix}")
        if count == 0:
            raise DataError(
                f"class folder {listing.root / name} has no readable images{note}; add images to it or remove the folder"
            )


def _bad_row_error(listing: Listing, line: int, reason: str) -> DataError:
    return DataError(
        f"{listing.origin}, line {line}: {reason}; fix or remove the line, or set on_bad_image: skip to skip such lines"
    )


def load_listing(
    listing: Listing,
    size: tuple[int, int],
    channels: int,
    resize: str,
    on_bad_image: str,
    cache: Path,
    workers: int | None,
) -> ImageSet:
    """The listed files decoded once (in parallel) into ``cache``, or read back from it when the manifest
    matches; unreadable files (and a list's unusable rows) skipped with one warning, or the first an error."""
    if listing.rows and on_bad_image == "error":
        raise _bad_row_error(listing, *listing.rows[0])
    expected = _manifest_for(listing, size, channels, resize)
    decoded = _read_cache(cache, expected, (channels, *size))
    if decoded is not None and decoded.skipped and on_bad_image == "error":
        raise _bad_file_error(listing.root, *decoded.skipped[0])
    if decoded is None:
        decoded = _decode_listing(listing, size, channels, resize, on_bad_image, workers or os.cpu_count() or 1)
        if not decoded.skipped and not listing.rows:
            _check_classes(listing, decoded, cache)  # refused before the cache exists: nothing is left behind
        try:
            cache.mkdir(parents=True, exist_ok=True)
            _start_rebuild(cache)
            _write_skipped(cache, listing, decoded.skipped)  # before the checks, so their messages can point to it
            _check_classes(listing, decoded, cache)
            _write_cache(cache, decoded, expected)
        except OSError as err:
            raise DataError(
                f"cannot write the image cache in {cache} ({err.strerror or err}); set cache_dir to a writable folder"
            ) from None

    skipped = len(decoded.skipped) + len(listing.rows)
    if skipped:
        what = listing.root if listing.by_file else listing.origin
        warnings.warn(
            f"{_files(skipped)} skipped in {what} (unreadable or not images"
            + (", or unusable lines" if listing.rows else "")
            + f"), see {cache / SKIPPED}",
            DataWarning,
            stacklevel=3,
        )
    partition = None
    if listing.partition is not None:
        bad = {rel for rel, _ in decoded.skipped}
        kept = [p for (rel, _, _), p in zip(listing.files, listing.partition, strict=True) if rel not in bad]
        partition = torch.tensor(kept, dtype=torch.int64)
    return ImageSet(
        images=torch.from_numpy(decoded.images),
        labels=torch.from_numpy(decoded.labels),
        class_names=listing.class_names,
        partition=partition,
        partition_names=listing.partition_names if partition is not None else (),
    )


@SOURCES.implement
def image_folder(
    root: str,
    size: int | tuple[int, int],
    channels: int,
    resize: str,
    on_bad_image: str,
    cache_dir: str | None,
    workers: int | None,
) -> ImageSet:
    """``image_folder`` (:func:`~imbalance_lab.declarations.sources.image_folder.image_folder`): the folder
    listed, its files decoded once into the cache (or read back from it)."""
    root_path = Path(root).expanduser().resolve()
    hw = output_size(size)
    cache = cache_folder(cache_dir, lambda: default_cache_dir(root_path, hw, channels, resize))
    listing = _list_folder(root_path, ignore=cache)
    return load_listing(listing, hw, channels, resize, on_bad_image, cache, workers)
