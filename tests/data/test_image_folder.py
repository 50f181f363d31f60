"""The image_folder source on tiny folders of PNG/JPEG files made here: layout, pixels, cache, bad files, errors."""

from __future__ import annotations

import importlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

import imbalance_lab.data
from imbalance_lab.errors import DataError, SpecError

# registered exactly once per process, whether or not imbalance_lab.data imports it itself
image_folder_module = importlib.import_module("imbalance_lab.data.image_folder")
image_folder = image_folder_module.image_folder
DataWarning = image_folder_module.DataWarning
SOURCES = imbalance_lab.data.SOURCES

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


# --- tiny folders ------------------------------------------------------------------------------


def solid(size: tuple[int, int], colour: tuple[int, ...] | int, mode: str = "RGB") -> Image.Image:
    """A ``width × height`` image of one colour."""
    return Image.new(mode, size, colour)


def noise(size: tuple[int, int], seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def save(img: Image.Image, path: Path, fmt: str | None = None, **kw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt, **kw)
    return path


def make_mixed_folder(root: Path) -> dict[str, int]:
    """Three classes (written out of order) of mixed formats, modes and sizes; returns the counts."""
    counts = {"b_dogs": 12, "a_cats": 5, "c_birds": 7}
    kinds = [
        ("png", lambda i: noise((16, 12), i)),
        ("jpg", lambda i: noise((40, 30), i)),
        ("png", lambda i: solid((16, 12), 30 * (i % 8), "L")),
        ("png", lambda i: solid((40, 30), (10, 20, 30, 128), "RGBA")),
        ("gif", lambda i: noise((16, 12), i).convert("P")),
    ]
    for name, n in counts.items():
        for i in range(n):
            ext, make = kinds[i % len(kinds)]
            save(make(i), root / name / f"{i:02d}.{ext}")
    # content decides, not the extension: a PNG named .jpg, and one with no extension at all
    (root / "a_cats" / "00.png").rename(root / "a_cats" / "png_named.jpg")
    (root / "a_cats" / "02.png").rename(root / "a_cats" / "no_extension")
    # ignored: hidden files and folders, files beside the class folders
    save(noise((16, 12), 99), root / "a_cats" / ".hidden.png")
    save(noise((16, 12), 99), root / "b_dogs" / ".ipynb_checkpoints" / "x.png")
    save(noise((16, 12), 99), root / ".trash" / "y.png")
    (root / "README.txt").write_text("not a class")
    return counts


def make_simple_folder(root: Path, n: int = 4) -> Path:
    for k, name in enumerate(("cats", "dogs")):
        for i in range(n):
            save(solid((16, 12), (40 * k + 10 * i, 100, 200)), root / name / f"{i}.png")
    return root


class DecodeCounter:
    """Wraps the module's chunk decoder to count the files it decodes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.files = 0
        original = image_folder_module._decode_chunk

        def counting(paths, *args, **kw):  # type: ignore[no-untyped-def]
            self.files += len(paths)
            return original(paths, *args, **kw)

        monkeypatch.setattr(image_folder_module, "_decode_chunk", counting)


def load(root: Path, cache: Path, **kw: object):  # type: ignore[no-untyped-def]
    kw = {"workers": 2, **kw}
    return image_folder(str(root), cache_dir=str(cache), **kw)


# --- layout, shape, order ----------------------------------------------------------------------


def test_classes_counts_order_dtype_and_shape(tmp_path: Path) -> None:
    counts = make_mixed_folder(tmp_path / "data")
    data = load(tmp_path / "data", tmp_path / "cache", size=(10, 14))
    assert data.class_names == ("a_cats", "b_dogs", "c_birds")
    assert data.class_counts() == [counts[n] for n in data.class_names]
    assert data.images.dtype == torch.uint8 and data.labels.dtype == torch.int64
    assert tuple(data.images.shape) == (sum(counts.values()), 3, 10, 14)  # size is (height, width)
    assert torch.equal(data.labels, torch.sort(data.labels).values)


def test_files_in_path_order_within_a_class(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for i, name in enumerate(["b.png", "a.png", "sub/c.png", "c.png"]):
        save(solid((8, 8), 10 * (i + 1), "L"), root / "only" / name)
    data = load(root, tmp_path / "cache", size=4, channels=1)
    # sorted relative paths: a.png (20), b.png (10), c.png (40), sub/c.png (30)
    assert data.images[:, 0, 0, 0].tolist() == [20, 10, 40, 30]


def test_workers_do_not_change_the_output(tmp_path: Path) -> None:
    make_mixed_folder(tmp_path / "data")
    one = load(tmp_path / "data", tmp_path / "c1", size=8, workers=1)
    three = load(tmp_path / "data", tmp_path / "c3", size=8, workers=3)
    assert torch.equal(one.images, three.images) and torch.equal(one.labels, three.labels)


# --- pixels ------------------------------------------------------------------------------------


def test_channels_conversion_matches_pillow(tmp_path: Path) -> None:
    root = tmp_path / "data"
    save(solid((16, 12), RED), root / "a" / "red.png")
    save(solid((16, 12), (0, 255, 0, 100), "RGBA"), root / "b" / "green_rgba.png")
    palette = solid((16, 12), BLUE).convert("P")
    save(palette, root / "c" / "blue_palette.png")
    wide = np.array([[0, 1000, 65535, 65535]] * 4, dtype=np.uint16)
    save(Image.fromarray(wide), root / "d" / "gray16.png")
    save(solid((16, 12), (0, 255, 255, 0), "CMYK"), root / "e" / "red_cmyk.jpg")

    rgb = load(root, tmp_path / "rgb", size=4, channels=3)
    gray = load(root, tmp_path / "gray", size=4, channels=1)
    assert rgb.images[0, :, 2, 2].tolist() == list(RED)
    assert rgb.images[1, :, 2, 2].tolist() == list(GREEN)  # alpha dropped
    assert rgb.images[2, :, 2, 2].tolist() == list(BLUE)
    assert gray.images.shape[1] == 1
    red_as_l = solid((1, 1), RED).convert("L").getpixel((0, 0))
    assert gray.images[0, 0, 2, 2].item() == red_as_l == 76
    # 16-bit is scaled to 8 bits (1000 -> 4), not clipped at 255
    assert gray.images[3, 0, 0].tolist() == [0, 4, 255, 255]
    assert rgb.images[4, 0, 2, 2].item() > 240 and rgb.images[4, 1:, 2, 2].max().item() < 15  # CMYK red


def _bands(width: int, height: int, outer: tuple[int, int, int], inner: tuple[int, int, int], axis: int) -> Image.Image:
    """``outer`` colour in the first and last quarter along ``axis`` (1: columns, 0: rows), ``inner`` between."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = outer
    length = (height, width)[axis]
    index = [slice(None), slice(None)]
    index[axis] = slice(length // 4, length - length // 4)
    pixels[tuple(index)] = inner
    return Image.fromarray(pixels)


@pytest.mark.parametrize(
    ("image_wh", "size", "axis", "box"),
    [
        ((40, 20), 8, 1, (10, 0, 30, 20)),  # wide image, square output: crop the middle columns
        ((20, 40), 8, 0, (0, 10, 20, 30)),  # tall image, square output: crop the middle rows
        ((40, 40), (5, 10), 0, (0, 10, 40, 30)),  # square image, output twice as wide as high
    ],
)
def test_center_crop_keeps_the_centre_and_stretch_keeps_everything(
    tmp_path: Path, image_wh: tuple[int, int], size: int | tuple[int, int], axis: int, box: tuple[int, ...]
) -> None:
    img = _bands(*image_wh, outer=RED, inner=GREEN, axis=axis)
    save(img, tmp_path / "data" / "only" / "x.png")
    crop = load(tmp_path / "data", tmp_path / "crop", size=size, resize="center_crop").images[0]
    stretch = load(tmp_path / "data", tmp_path / "stretch", size=size, resize="stretch").images[0]
    h, w = (size, size) if isinstance(size, int) else size

    # the crop is the centred box of the output's aspect ratio, resized as Pillow does
    expected = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR, box=box)).transpose(2, 0, 1)
    assert np.array_equal(crop.numpy(), expected)
    inner = crop[:, 1:-1, 1:-1]
    assert (inner == torch.tensor(GREEN, dtype=torch.uint8).view(3, 1, 1)).all()  # only the green centre inside
    assert crop[1].min().item() > 150  # green dominates even at the edges

    # stretch keeps the red borders at both ends along the axis, and the green centre
    first = stretch[:, :, 0] if axis == 1 else stretch[:, 0, :]
    last = stretch[:, :, -1] if axis == 1 else stretch[:, -1, :]
    middle = stretch[:, h // 2, w // 2]
    assert (first[0] > 200).all() and (last[0] > 200).all() and (first[1] < 60).all()
    assert middle.tolist() == list(GREEN)
    assert np.array_equal(stretch.numpy(), np.asarray(img.resize((w, h), Image.Resampling.BILINEAR)).transpose(2, 0, 1))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = _bands(20, 10, outer=RED, inner=BLUE, axis=1)
    img.paste(GREEN, (0, 0, 5, 10))  # left quarter green, right quarter red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    save(img, tmp_path / "data" / "only" / "x.png", exif=exif)
    out = load(tmp_path / "data", tmp_path / "cache", size=(20, 10)).images[0]
    # displayed upright the image is 10 wide and 20 high, its left quarter now on top
    assert out[:, 0, 5].tolist() == list(GREEN) and out[:, -1, 5].tolist() == list(RED)


def test_large_jpegs_decoded_at_reduced_scale_stay_close_to_a_full_decode(tmp_path: Path) -> None:
    path = save(noise((400, 300), 0), tmp_path / "data" / "only" / "big.jpg", quality=95)
    out = load(tmp_path / "data", tmp_path / "cache", size=64).images[0].numpy().astype(int)
    with Image.open(path) as full:
        reference = np.asarray(full.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)).transpose(2, 0, 1)
    diff = np.abs(out - reference.astype(int))
    # decoding at 1/2 scale (200×150, at least twice the output) is this close; 1/4 scale would not be
    assert diff.mean() <= 2 and diff.max() <= 10


# --- the cache ---------------------------------------------------------------------------------


def test_second_call_reuses_the_cache_without_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = make_simple_folder(tmp_path / "data"), tmp_path / "cache"
    first = load(root, cache, size=8)
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["params"] == {"size": [8, 8], "channels": 3, "resize": "stretch"}
    assert manifest["format_version"] == image_folder_module.FORMAT_VERSION
    stat = (root / "cats" / "0.png").stat()
    assert ["cats/0.png", stat.st_size, stat.st_mtime_ns] in manifest["files"]
    assert np.array_equal(np.load(cache / "images.npy"), first.images.numpy())
    built = (cache / "manifest.json").stat().st_mtime_ns

    def no_decoding(*args, **kw):  # type: ignore[no-untyped-def]
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(image_folder_module, "_decode_chunk", no_decoding)
    second = load(root, cache, size=8)
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert second.class_names == first.class_names
    assert (cache / "manifest.json").stat().st_mtime_ns == built


def test_default_cache_location_follows_xdg_and_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_simple_folder(tmp_path / "data")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    image_folder(str(root), size=8)
    image_folder(str(root), size=12)
    caches = sorted((tmp_path / "xdg" / "imbalance-lab" / "image_folder").iterdir())
    assert len(caches) == 2 and all((c / "manifest.json").is_file() for c in caches)
    assert caches[0].name != caches[1].name and len(caches[0].name) == 16


def _modify(root: Path) -> None:
    save(solid((16, 12), (1, 2, 3)), root / "cats" / "1.png")  # new content, new size and mtime


def _touch(root: Path) -> None:
    stat = (root / "cats" / "1.png").stat()
    os.utime(root / "cats" / "1.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


def _add(root: Path) -> None:
    save(solid((16, 12), (1, 2, 3)), root / "dogs" / "9.png")


def _remove(root: Path) -> None:
    (root / "cats" / "1.png").unlink()


@pytest.mark.parametrize(
    ("change", "expected_counts", "decoded"),
    [(_modify, [4, 4], 8), (_touch, [4, 4], 8), (_add, [4, 5], 9), (_remove, [3, 4], 7)],
    ids=["modify", "touch", "add", "remove"],
)
def test_a_changed_folder_rebuilds_the_cache(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change,
    expected_counts: list[int],
    decoded: int,  # type: ignore[no-untyped-def]
) -> None:
    root, cache = make_simple_folder(tmp_path / "data"), tmp_path / "cache"
    before = load(root, cache, size=8)
    change(root)
    counter = DecodeCounter(monkeypatch)
    after = load(root, cache, size=8)
    assert counter.files == decoded
    assert after.class_counts() == expected_counts
    if change is _modify:
        assert after.images[1, :, 0, 0].tolist() == [1, 2, 3] != before.images[1, :, 0, 0].tolist()
    counter.files = 0
    load(root, cache, size=8)  # and the rebuilt cache is reused
    assert counter.files == 0


def test_changed_parameters_rebuild_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = make_simple_folder(tmp_path / "data"), tmp_path / "cache"
    load(root, cache, size=8)
    counter = DecodeCounter(monkeypatch)
    assert tuple(load(root, cache, size=6).images.shape) == (8, 3, 6, 6)
    assert tuple(load(root, cache, size=6, channels=1).images.shape) == (8, 1, 6, 6)
    assert counter.files == 16
    assert json.loads((cache / "manifest.json").read_text())["params"] == {
        "size": [6, 6],
        "channels": 1,
        "resize": "stretch",
    }


def test_a_write_interrupted_before_the_manifest_is_never_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache = make_simple_folder(tmp_path / "data"), tmp_path / "cache"
    good = load(root, cache, size=8)
    _modify(root)
    original = image_folder_module._write_atomic

    def crash_at_manifest(folder: Path, name: str, write) -> None:  # type: ignore[no-untyped-def]
        if name == "manifest.json":
            raise KeyboardInterrupt
        original(folder, name, write)

    monkeypatch.setattr(image_folder_module, "_write_atomic", crash_at_manifest)
    with pytest.raises(KeyboardInterrupt):
        load(root, cache, size=8)
    assert not (cache / "manifest.json").exists() and (cache / "images.npy").exists()
    # even with the folder back as the arrays' old manifest described it, nothing is reused
    monkeypatch.setattr(image_folder_module, "_write_atomic", original)
    counter = DecodeCounter(monkeypatch)
    again = load(root, cache, size=8)
    assert counter.files == 8 and again.images[1, :, 0, 0].tolist() == [1, 2, 3] != good.images[1, :, 0, 0].tolist()


def test_leftover_temp_files_and_damaged_arrays_are_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = make_simple_folder(tmp_path / "data"), tmp_path / "cache"
    good = load(root, cache, size=8)
    # a damaged images.npy under a matching manifest, and temp files of an interrupted write
    (cache / "images.npy").write_bytes((cache / "images.npy").read_bytes()[:100])
    stale, fresh = cache / ".tmp-abc-images.npy", cache / ".tmp-def-labels.npy"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    os.utime(stale, (0, 0))
    counter = DecodeCounter(monkeypatch)
    again = load(root, cache, size=8)
    assert counter.files == 8 and torch.equal(again.images, good.images)
    assert not stale.exists() and fresh.exists()  # a young temp file may be a concurrent writer's
    counter.files = 0
    load(root, cache, size=8)
    assert counter.files == 0


def test_a_cache_inside_the_root_is_not_taken_for_a_class(tmp_path: Path) -> None:
    root = make_simple_folder(tmp_path / "data")
    load(root, root / "cache", size=8)
    assert load(root, root / "cache", size=8).class_names == ("cats", "dogs")


def test_unwritable_cache_is_a_data_error(tmp_path: Path) -> None:
    root = make_simple_folder(tmp_path / "data")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(
        DataError, match=r"cannot write the image cache in .*a_file.*set cache_dir to a writable folder"
    ):
        load(root, tmp_path / "a_file", size=8)


# --- bad files ---------------------------------------------------------------------------------


def make_bad_files(root: Path) -> list[Path]:
    """A truncated JPEG, a text file named .jpg and an empty file; returns them in listing order."""
    jpeg = save(noise((40, 30), 7), root / "dogs" / "truncated.jpg", quality=90)
    data = jpeg.read_bytes()
    jpeg.write_bytes(data[: len(data) // 2])
    text = root / "cats" / "notes.jpg"
    text.write_text("this is not an image")
    empty = root / "dogs" / "empty.png"
    empty.write_bytes(b"")
    return [text, empty, jpeg]


def test_bad_files_are_skipped_with_one_warning_and_listed(tmp_path: Path) -> None:
    root, cache = make_simple_folder(tmp_path / "data").resolve(), tmp_path / "cache"
    bad = make_bad_files(root)
    for attempt in ("build", "cache hit"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = load(root, cache, size=8)
        ours = [w for w in caught if issubclass(w.category, DataWarning)]
        assert len(ours) == 1, attempt
        assert (
            str(ours[0].message)
            == f"3 files skipped in {root} (unreadable or not images), see {cache.resolve()}/skipped.txt"
        )
        assert data.class_counts() == [4, 4]
    lines = (cache / "skipped.txt").read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(p) for p in bad]
    assert "truncated" in lines[2]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_on_bad_image_error_names_the_first_bad_file(tmp_path: Path) -> None:
    root, cache = make_simple_folder(tmp_path / "data").resolve(), tmp_path / "cache"
    jpeg = make_bad_files(root)[2]
    (root / "cats" / "notes.jpg").unlink()
    (root / "dogs" / "empty.png").unlink()
    with pytest.raises(DataError) as err:
        load(root, cache, size=8, on_bad_image="error")
    message = str(err.value)
    assert str(jpeg) in message and "truncated" in message and "on_bad_image: skip" in message
    assert "\n" not in message
    # a cache built while skipping does not hide the bad file from on_bad_image='error'
    with pytest.warns(DataWarning):
        load(root, cache, size=8)
    with pytest.raises(DataError, match="truncated.jpg"):
        load(root, cache, size=8, on_bad_image="error")


# --- errors the user can fix -------------------------------------------------------------------


def _missing(root: Path) -> Path:
    return root / "nowhere"


def _a_file(root: Path) -> Path:
    (root / "file.png").write_bytes(b"")
    return root / "file.png"


def _no_class_folders(root: Path) -> Path:
    save(noise((8, 8), 1), root / "data" / "loose.png")
    return root / "data"


def _empty_class(root: Path) -> Path:
    make_simple_folder(root / "data")
    (root / "data" / "zebras").mkdir()
    return root / "data"


def _class_of_bad_files(root: Path) -> Path:
    make_simple_folder(root / "data")
    (root / "data" / "zebras").mkdir()
    (root / "data" / "zebras" / "broken.jpg").write_text("no")
    return root / "data"


def _no_images_at_all(root: Path) -> Path:
    (root / "data" / "cats").mkdir(parents=True)
    (root / "data" / "dogs").mkdir()
    return root / "data"


@pytest.mark.parametrize(
    ("make", "named", "pattern"),
    [
        (
            _missing,
            "nowhere",
            r"does not exist; set root to an existing folder with one sub-folder of images per class",
        ),
        (_a_file, "file.png", r"is a file, not a folder; set root to a folder with one sub-folder"),
        (
            _no_class_folders,
            "data",
            r"has no class sub-folders; arrange the images as one sub-folder of images per class",
        ),
        (_empty_class, "zebras", r"class folder .* has no readable images; add images to it or remove the folder"),
        (
            _class_of_bad_files,
            "zebras",
            r"has no readable images \(1 file skipped as unreadable, see .*skipped.txt\); add images",
        ),
        (_no_images_at_all, "data", r"has no readable images in its class sub-folders \(cats, dogs\); add image files"),
    ],
    ids=["missing", "file", "no-class-folders", "empty-class", "class-of-bad-files", "no-images"],
)
def test_unusable_folders_are_data_errors(tmp_path: Path, make, named: str, pattern: str) -> None:  # type: ignore[no-untyped-def]
    root = make(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # the error says it all; no warning before it
        with pytest.raises(DataError, match=pattern) as err:
            load(root, tmp_path / "cache", size=8)
    assert named in str(err.value) and "\n" not in str(err.value)


# --- through the registry ----------------------------------------------------------------------


def test_created_through_the_registry_with_validated_parameters(tmp_path: Path) -> None:
    root = make_simple_folder(tmp_path / "data")
    data = SOURCES.create(
        "image_folder", root=str(root), size=[6, 10], channels=1, cache_dir=str(tmp_path / "c"), workers=None
    )
    assert tuple(data.images.shape) == (8, 1, 6, 10) and data.class_names == ("cats", "dogs")
    for params, field, words in [
        ({"resize": "squash"}, "image_folder.resize", "'stretch' or 'center_crop'"),
        ({"size": 2}, "image_folder.size", "greater than or equal to 4"),
        ({"channels": 4}, "image_folder.channels", "1 or 3"),
        ({"workers": 0}, "image_folder.workers", "greater than or equal to 1"),
        ({"on_bad_image": "ignore"}, "image_folder.on_bad_image", "'skip' or 'error'"),
    ]:
        with pytest.raises(SpecError) as err:
            SOURCES.create("image_folder", root=str(root), **params)
        assert err.value.field == field and words in str(err.value)
    with pytest.raises(SpecError, match="root"):
        SOURCES.create("image_folder")
