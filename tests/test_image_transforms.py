"""Batched augmentation: each transform against a hand-made image, plus the common checks over TRANSFORMS."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

from imbalance_lab.errors import SpecError
from imbalance_lab.strategies import image_transforms as augment
from imbalance_lab.strategies.image_transforms import (
    TRANSFORM_PARAMS,
    TRANSFORMS,
    TransformError,
    affine_with,
    apply_transforms,
    brightness_contrast,
    horizontal_flip,
    parse_transforms,
    random_affine,
    random_crop,
)

# parameters strong enough that every transform visibly changes an image
STRONG = {
    "crop": {"padding": 2},
    "flip": {"p": 0.5},
    "affine": {"degrees": 30.0, "translate": 0.2, "scale": (0.8, 1.2)},
    "color": {"brightness": 0.5, "contrast": 0.5},
}
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def gen(seed: int = 0, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def batch(n: int = 64, c: int = 3, h: int = 8, w: int = 8, seed: int = 123, device: str = "cpu") -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=gen(seed)).to(device)


def shifted(img: torch.Tensor, dr: int, dc: int) -> torch.Tensor:
    """``img`` moved down by ``dr`` and right by ``dc`` pixels, zeros entering (written by hand)."""
    out = torch.zeros_like(img)
    H, W = img.shape[-2:]
    out[..., max(dr, 0) : H + min(dr, 0), max(dc, 0) : W + min(dc, 0)] = img[
        ..., max(-dr, 0) : H - max(dr, 0), max(-dc, 0) : W - max(dc, 0)
    ]
    return out


# ---------------------------------------------------------------------------
# crop


def test_crop_moves_a_single_bright_pixel_by_every_offset():
    x = torch.zeros(500, 2, 8, 8)
    x[:, 0, 3, 4] = 1.0
    x[:, 1, 3, 4] = 0.5  # the second channel must move with the first
    out = random_crop(x, 2, gen(1))
    assert torch.equal((out != 0).sum(dim=(-2, -1)), torch.ones(500, 2, dtype=torch.long))  # pixel kept, nothing else
    where = out[:, 0].flatten(1).argmax(1)
    rows, cols = where // 8, where % 8
    assert torch.equal(out[torch.arange(500), 1, rows, cols], torch.full((500,), 0.5))
    moves = {(r - 3, c - 4) for r, c in zip(rows.tolist(), cols.tolist())}
    assert moves == {(dr, dc) for dr in range(-2, 3) for dc in range(-2, 3)}


def test_crop_equals_hand_shift_with_zero_fill_from_the_border():
    img = (torch.arange(64, dtype=torch.float32).reshape(1, 8, 8) + 1) / 64  # every pixel distinct, none zero
    x = img.expand(300, 1, 8, 8).contiguous()
    out = random_crop(x, 2, gen(2))
    zero_filled = 0
    for i in range(300):  # the test may loop; the library may not
        r, c = divmod(int((out[i, 0] == img[0, 3, 4]).flatten().nonzero()), 8)
        expected = shifted(img, r - 3, c - 4)
        assert torch.equal(out[i], expected), (i, r - 3, c - 4)
        zero_filled += int((r, c) != (3, 4))
    assert zero_filled > 250


def test_crop_padding_zero_is_an_identity_copy():
    x = batch()
    out = random_crop(x, 0, gen())
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()


# ---------------------------------------------------------------------------
# flip


def test_flip_p1_mirrors_and_p0_keeps():
    x = batch()
    assert torch.equal(horizontal_flip(x, 1.0, gen()), x.flip(-1))
    assert torch.equal(horizontal_flip(x, 0.0, gen()), x)


def test_flip_half_flips_about_half_each_exactly_or_not_at_all():
    x = batch(2000, c=1, h=4, w=4)
    out = horizontal_flip(x, 0.5, gen(3))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert (same ^ mirrored).all()  # random images are never symmetric, so exactly one holds
    assert 900 <= int(mirrored.sum()) <= 1100  # Binomial(2000, 0.5): sd 22, this is ±4.5 sd


# ---------------------------------------------------------------------------
# affine


def _ones(n: int) -> torch.Tensor:
    return torch.ones(n)


def test_affine_without_motion_is_identity():
    x = batch()
    out = random_affine(x, 0.0, 0.0, (1.0, 1.0), gen())
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)


def test_affine_positive_angle_is_counter_clockwise():
    x = batch(4, h=5, w=5)
    z, one = torch.zeros(4), _ones(4)
    torch.testing.assert_close(affine_with(x, 90 * one, z, z, one), torch.rot90(x, 1, dims=(-2, -1)), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        affine_with(x, -90 * one, z, z, one), torch.rot90(x, -1, dims=(-2, -1)), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(affine_with(x, 180 * one, z, z, one), x.flip(-2, -1), atol=1e-5, rtol=0)
    corner = torch.zeros(1, 1, 3, 3)
    corner[0, 0, 0, 2] = 1.0  # top-right goes to top-left under a counter-clockwise quarter turn
    expected = torch.zeros(1, 1, 3, 3)
    expected[0, 0, 0, 0] = 1.0
    torch.testing.assert_close(
        affine_with(corner, 90 * _ones(1), *torch.zeros(2, 1), _ones(1)), expected, atol=1e-6, rtol=0
    )


def test_affine_rotates_in_pixel_units_on_non_square_images():
    # 4×6 image, centre at (row 1.5, col 2.5): the pixel at (0, 1) sits at (-1.5, -1.5) from it
    # and a counter-clockwise quarter turn takes it to (+1.5, -1.5), i.e. pixel (3, 1).
    x = torch.zeros(1, 1, 4, 6)
    x[0, 0, 0, 1] = 1.0
    out = affine_with(x, torch.tensor([90.0]), torch.zeros(1), torch.zeros(1), _ones(1))
    assert out[0, 0, 3, 1] == pytest.approx(1.0, abs=1e-5)
    assert out.sum() == pytest.approx(1.0, abs=1e-5)


def test_affine_translation_is_a_fraction_of_width_and_height():
    x = batch(3, h=6, w=8)
    z, one = torch.zeros(3), _ones(3)
    right = affine_with(x, z, one / 8, z, one)  # one pixel right
    torch.testing.assert_close(right, shifted(x, 0, 1), atol=1e-6, rtol=0)
    down = affine_with(x, z, z, -2 * one / 6, one)  # two pixels up
    torch.testing.assert_close(down, shifted(x, -2, 0), atol=1e-6, rtol=0)


def test_affine_half_scale_is_a_centred_two_by_two_average():
    x = batch(3, h=4, w=4)
    out = random_affine(x, 0.0, 0.0, (0.5, 0.5), gen())
    expected = torch.zeros_like(x)
    expected[..., 1:3, 1:3] = F.avg_pool2d(x, 2)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_random_affine_draws_each_parameter_in_its_range(monkeypatch):
    seen = {}

    def spy(x, angle, tx, ty, scale):
        seen.update(angle=angle, tx=tx, ty=ty, scale=scale)
        return x.clone()

    monkeypatch.setattr(augment, "affine_with", spy)
    random_affine(batch(1000, c=1, h=2, w=2), 30.0, 0.25, (0.8, 1.1), gen(4))
    for name, lo, hi in [("angle", -30, 30), ("tx", -0.25, 0.25), ("ty", -0.25, 0.25), ("scale", 0.8, 1.1)]:
        values = seen[name]
        assert values.shape == (1000,)
        assert lo <= values.min() and values.max() <= hi, name
        assert values.min() < lo + 0.05 * (hi - lo) and values.max() > hi - 0.05 * (hi - lo), name  # range used
    assert not torch.equal(seen["tx"], seen["ty"])  # independent draws


# ---------------------------------------------------------------------------
# color


def _hand_made_color_batch(n: int) -> torch.Tensor:
    """Values in [0.3, 0.7], so factors within ±0.4 never clip."""
    img = torch.linspace(0.3, 0.7, 3 * 4 * 4).reshape(3, 4, 4)
    img[1] = img[1].flip(-1)
    return img.expand(n, 3, 4, 4).contiguous()


def test_brightness_scales_each_sample_by_one_factor_in_range():
    x = _hand_made_color_batch(1000)
    out = brightness_contrast(x, 0.4, 0.0, gen(5))
    ratio = out / x
    factor = ratio[:, :1, :1, :1]
    torch.testing.assert_close(ratio, factor.expand_as(ratio))  # one factor per sample
    assert 0.6 <= factor.min() < 0.62 and 1.38 < factor.max() <= 1.4
    for i in range(3):  # torchvision's definition, per sample
        torch.testing.assert_close(out[i], TF.adjust_brightness(x[i], float(factor[i])))


def test_contrast_keeps_the_mean_gray_and_scales_deviations():
    x = _hand_made_color_batch(1000)
    out = brightness_contrast(x, 0.0, 0.4, gen(6))
    weights = torch.tensor([0.2989, 0.587, 0.114])[None, :, None, None]
    gray_in, gray_out = (x * weights).sum(1).mean((-2, -1)), (out * weights).sum(1).mean((-2, -1))
    # torchvision's gray weights sum to 0.9999, so its blend keeps the mean gray to within 1e-4·mean·|1-f|
    torch.testing.assert_close(gray_out, gray_in, atol=3e-5, rtol=0)
    mean = gray_in[:, None, None, None]
    factor = (out - mean) / (x - mean)
    first = factor[:, :1, :1, :1]
    torch.testing.assert_close(factor, first.expand_as(factor), atol=1e-4, rtol=1e-4)
    assert 0.6 <= first.min() < 0.62 and 1.38 < first.max() <= 1.4
    for i in range(3):
        torch.testing.assert_close(out[i], TF.adjust_contrast(x[i], float(first[i])))


def test_brightness_then_contrast_with_independent_factors():
    x = _hand_made_color_batch(1000)
    out = brightness_contrast(x, 0.3, 0.3, gen(10))
    weights = torch.tensor([0.2989, 0.587, 0.114])[None, :, None, None]
    gray_in, gray_out = (x * weights).sum(1).mean((-2, -1)), (out * weights).sum(1).mean((-2, -1))
    brightness = gray_out / gray_in  # contrast keeps the mean gray, so this is the brightness factor
    mean = gray_in[:, None, None, None]
    contrast = ((out / brightness[:, None, None, None] - mean) / (x - mean))[:, 0, 0, 0]
    for i in range(3):
        reference = TF.adjust_contrast(TF.adjust_brightness(x[i], float(brightness[i])), float(contrast[i]))
        torch.testing.assert_close(out[i], reference, atol=1e-4, rtol=0)
    assert abs(float(torch.corrcoef(torch.stack([brightness, contrast]))[0, 1])) < 0.15  # two independent draws


def test_color_clamps_to_unit_range():
    x = torch.zeros(200, 3, 4, 4)
    x[..., :2, :] = 0.95
    out = brightness_contrast(x, 0.5, 0.5, gen(7))
    assert out.min() >= 0 and out.max() <= 1
    assert (out == 1).any()  # some brightening was cut off at 1


# ---------------------------------------------------------------------------
# common checks, over every registered transform


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("device", DEVICES)
def test_shape_dtype_device_range_and_input_untouched(name, device):
    x = batch(device=device)
    before = x.clone()
    out = TRANSFORMS[name](x, **STRONG[name], generator=gen(device=device))
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert out.data_ptr() != x.data_ptr()
    assert torch.equal(x, before)
    assert out.min() >= 0 and out.max() <= 1 and not out.isnan().any()


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("device", DEVICES)
def test_same_seed_same_output_other_seed_other_output(name, device):
    x = batch(device=device)
    run = lambda seed: TRANSFORMS[name](x, **STRONG[name], generator=gen(seed, device))  # noqa: E731
    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_each_sample_gets_its_own_draw(name):
    x = batch(1).expand(64, 3, 8, 8).contiguous()
    out = TRANSFORMS[name](x, **STRONG[name], generator=gen())
    assert torch.unique(out.flatten(1), dim=0).shape[0] > 1


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_mask_leaves_unmasked_samples_bit_identical(name):
    x = batch(200)
    mask = torch.rand(200, generator=gen(8)) < 0.3
    out = TRANSFORMS[name](x, **STRONG[name], generator=gen())
    masked_out = TRANSFORMS[name](x, **STRONG[name], generator=gen(), mask=mask)
    assert torch.equal(masked_out[~mask], x[~mask])
    assert torch.equal(masked_out[mask], out[mask])  # draws do not depend on the mask
    assert not torch.equal(masked_out[mask], x[mask])


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_every_parameter_has_one_rule_and_a_default(name):
    signature = inspect.signature(TRANSFORMS[name]).parameters
    fields = TRANSFORM_PARAMS[name].model_fields
    assert set(signature) - {"x", "generator", "mask"} == set(fields)
    for field in fields.values():
        assert not field.is_required()
        assert sum(callable(getattr(m, "func", None)) for m in field.metadata) == 1


def test_bad_batch_generator_or_mask_fail_fast():
    x = batch(4)
    with pytest.raises(ValueError, match="B×C×H×W"):
        horizontal_flip(x[0], 0.5, gen())
    with pytest.raises(ValueError, match="mask"):
        horizontal_flip(x, 0.5, gen(), mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        horizontal_flip(x, 0.5, gen(), mask=torch.ones(4))
    with pytest.raises(ValueError, match="flip.p"):
        horizontal_flip(x, 2.0, gen())


# ---------------------------------------------------------------------------
# parse_transforms / apply_transforms


def test_parse_fills_defaults_and_keeps_order():
    parsed = parse_transforms(
        {"color": {"brightness": 0.1}, "flip": None, "crop": {"padding": 2}, "affine": {"scale": [0.9, 1.1]}}
    )
    assert parsed == [
        ("color", {"brightness": 0.1, "contrast": 0.2}),
        ("flip", {"p": 0.5}),
        ("crop", {"padding": 2}),
        ("affine", {"degrees": 10.0, "translate": 0.0, "scale": (0.9, 1.1)}),
    ]
    assert parse_transforms({"crop": {"padding": None}}) == [("crop", {"padding": 4})]
    assert parse_transforms({}) == []


def test_parse_unknown_transform_names_it_and_lists_valid():
    with pytest.raises(ValueError, match=r"blur: unknown transform; valid: crop, flip, affine, color"):
        parse_transforms({"crop": {}, "blur": {"sigma": 1}})


def test_parse_unknown_parameter_names_it_and_lists_valid():
    with pytest.raises(ValueError, match=r"affine\.rotate: unknown parameter; valid: degrees, translate, scale"):
        parse_transforms({"affine": {"rotate": 10}})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"flip": {"p": 1.5}}, "flip.p: got 1.5, expected a probability in [0, 1]"),
        ({"flip": {"p": -0.1}}, "flip.p: got -0.1, expected a probability in [0, 1]"),
        ({"flip": {"p": "half"}}, "flip.p: got 'half', expected a probability in [0, 1]"),
        ({"crop": {"padding": -1}}, "crop.padding: got -1, expected a whole number of pixels >= 0"),
        ({"crop": {"padding": 2.5}}, "crop.padding: got 2.5, expected a whole number of pixels >= 0"),
        ({"crop": {"padding": True}}, "crop.padding: got True, expected a whole number of pixels >= 0"),
        ({"affine": {"degrees": 181}}, "affine.degrees: got 181, expected an angle in degrees in [0, 180]"),
        ({"affine": {"translate": 1.0}}, "affine.translate: got 1.0, expected a fraction in [0, 1)"),
        ({"affine": {"scale": [0.0, 1.0]}}, "affine.scale: got [0.0, 1.0], expected a range [lo, hi]"),
        ({"affine": {"scale": [1.2, 1.1]}}, "affine.scale: got [1.2, 1.1], expected a range [lo, hi]"),
        ({"affine": {"scale": [1.0]}}, "affine.scale: got [1.0], expected a range [lo, hi]"),
        ({"color": {"brightness": 1.0}}, "color.brightness: got 1.0, expected a fraction in [0, 1)"),
        ({"color": {"contrast": -0.2}}, "color.contrast: got -0.2, expected a fraction in [0, 1)"),
        ({"flip": 0.5}, "flip: got 0.5, expected a mapping of parameter name to value"),
        ([("flip", {})], "transforms: got"),
    ],
)
def test_parse_rejects_out_of_range_values(config, message):
    with pytest.raises(TransformError) as info:
        parse_transforms(config)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SpecError)


def test_parse_accepts_range_ends():
    config = {
        "crop": {"padding": 0},
        "flip": {"p": 1},
        "affine": {"degrees": 180, "scale": [2, 2]},
        "color": {"contrast": 0},
    }
    assert [name for name, _ in parse_transforms(config)] == ["crop", "flip", "affine", "color"]


def test_apply_runs_in_order_from_one_generator():
    x = batch(32)
    transforms = parse_transforms({name: STRONG[name] for name in ["affine", "crop", "flip", "color"]})
    mask = torch.arange(32) % 2 == 0
    out = apply_transforms(x, transforms, gen(9), mask=mask)
    g, expected = gen(9), x
    for name, params in transforms:
        expected = TRANSFORMS[name](expected, **params, generator=g, mask=mask)
    assert torch.equal(out, expected)
    assert torch.equal(out[~mask], x[~mask])
    reordered = apply_transforms(x, transforms[::-1], gen(9), mask=mask)
    assert not torch.equal(reordered, out)


def test_apply_without_transforms_copies_and_unknown_names_fail_fast():
    x = batch(4)
    out = apply_transforms(x, [], gen())
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()
    with pytest.raises(ValueError, match="blur: unknown transform"):
        apply_transforms(x, [("flip", {"p": 1.0}), ("blur", {})], gen())
    with pytest.raises(ValueError, match=r"flip\.q: unknown parameter"):
        apply_transforms(x, [("flip", {"q": 1.0})], gen())
