"""``image_folder`` declared: images in a folder with one sub-folder per class, decoded once into an on-disk
cache by :mod:`imbalance_lab.data.image_folder`; and the decoding parameters the other decoded sources
(``image_list``, ``hf_dataset``) share with it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels

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


@SOURCES.declare
def image_folder(
    root: Root,
    size: Size = 64,
    channels: Channels = 3,
    resize: Resize = "stretch",
    on_bad_image: OnBadImage = "skip",
    cache_dir: CacheDir = None,
    workers: Workers = None,
) -> SourceLabels | None:
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
    return None
