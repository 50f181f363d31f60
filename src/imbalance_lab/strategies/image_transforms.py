"""Batched, seeded image augmentation: random crop, horizontal flip, affine warp, brightness/contrast.

Every transform works on a whole ``B×C×H×W`` float batch in ``[0, 1]`` at once, on
whatever device the batch lives (airbench's habit: data stay resident, no
per-sample Python). Each sample gets its own random draw from the ``generator``
passed in, so a run is deterministic under its seed. An optional boolean
``mask`` (shape ``B``) picks the samples to augment, which is how "augment the
minority class only" is applied; the others come back bit-identical.

Draws are made for every sample whether masked or not, so how much of the
random stream a call consumes depends only on the batch size, never on the mask.

A spec names transforms in a mapping such as
``{"crop": {"padding": 4}, "flip": {"p": 0.5}}``; :func:`parse_transforms`
validates it against one parameter model per transform (the single source of
truth for each rule and default; both live, without torch, in
:mod:`imbalance_lab.declarations.strategies.transforms` and are importable from here)
and :func:`apply_transforms` runs the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from imbalance_lab.declarations.strategies.transforms import (
    TRANSFORM_PARAMS,
    TransformError,
    checked_transform,
    parse_transforms,
)

__all__ = [
    "TRANSFORMS",
    "TRANSFORM_PARAMS",
    "TransformError",
    "affine_with",
    "apply_transforms",
    "brightness_contrast",
    "horizontal_flip",
    "parse_transforms",
    "random_affine",
    "random_crop",
]


# ---------------------------------------------------------------------------
# Batch helpers.


def _check_batch(x: torch.Tensor, generator: torch.Generator, mask: torch.Tensor | None) -> None:
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"expected a float batch of shape B×C×H×W, got {x.dtype} of shape {tuple(x.shape)}")
    if generator.device.type != x.device.type:
        raise ValueError(f"the generator is on {generator.device} but the batch is on {x.device}")
    if mask is not None and (mask.dtype != torch.bool or mask.shape != x.shape[:1] or mask.device != x.device):
        raise ValueError(
            f"mask must be a bool tensor of shape ({x.shape[0]},) on {x.device}, "
            f"got {mask.dtype} of shape {tuple(mask.shape)} on {mask.device}"
        )


def _uniform(generator: torch.Generator, x: torch.Tensor, low: Any, high: Any, rows: int = 1) -> torch.Tensor:
    """``rows × B`` draws uniform in ``[low, high)``, one column per sample."""
    u = torch.rand(rows, x.shape[0], generator=generator, device=x.device, dtype=x.dtype)
    return low + (high - low) * u


def _where(mask: torch.Tensor | None, augmented: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Keep ``augmented`` where ``mask`` is set and ``x`` elsewhere (all of ``augmented`` without a mask)."""
    if mask is None:
        return augmented
    return torch.where(mask[:, None, None, None], augmented, x)


# ---------------------------------------------------------------------------
# Transforms.


def random_crop(
    x: torch.Tensor, padding: int, generator: torch.Generator, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Zero-pad each side by ``padding`` pixels and crop back to ``H×W`` at a random offset per sample.

    The CIFAR training crop (torchvision's ``RandomCrop(32, padding=4)``): the
    top-left corner of the crop is drawn uniformly from ``{0, …, 2·padding}²``
    for each sample, so the content moves by up to ``padding`` pixels in each
    direction and zeros enter from the border it moves away from. All channels
    of a sample share its offset. One advanced-indexing gather over the padded
    batch, no per-sample loop.

    Parameters
    ----------
    x : Tensor
        Float batch ``B×C×H×W`` with values in ``[0, 1]``.
    padding : int >= 0
        Zero padding on each side; ``0`` returns an unchanged copy.
    generator : torch.Generator
        On the same device as ``x``; two draws per sample (row, column offset).
    mask : bool Tensor of shape ``B``, optional
        Samples to crop; the others are returned unchanged.

    Returns
    -------
    Tensor
        A new batch of the same shape, dtype and device.

    References
    ----------
    Krizhevsky, A., Sutskever, I. and Hinton, G. E. (2012). ImageNet
    classification with deep convolutional neural networks. NeurIPS 25.
    DeVries, T. and Taylor, G. W. (2017). Improved regularization of
    convolutional neural networks with cutout. arXiv:1708.04552 (the standard
    CIFAR crop-and-flip baseline).

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(8, 3, 32, 32)
    >>> random_crop(x, 4, torch.Generator().manual_seed(0)).shape
    torch.Size([8, 3, 32, 32])
    """
    padding = checked_transform("crop", {"padding": padding})["padding"]
    _check_batch(x, generator, mask)
    B, C, H, W = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, B), generator=generator, device=x.device)
    if padding == 0:
        return x.clone()
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = offsets[0, :, None] + torch.arange(H, device=x.device)  # B×H
    cols = offsets[1, :, None] + torch.arange(W, device=x.device)  # B×W
    batch = torch.arange(B, device=x.device)[:, None, None, None]
    channel = torch.arange(C, device=x.device)[None, :, None, None]
    cropped = padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
    return _where(mask, cropped, x)


def horizontal_flip(
    x: torch.Tensor, p: float, generator: torch.Generator, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mirror each sample left-right with probability ``p`` (one ``torch.where`` over the batch).

    Parameters
    ----------
    x : Tensor
        Float batch ``B×C×H×W`` with values in ``[0, 1]``.
    p : float in [0, 1]
        Probability that a sample is flipped; ``1`` flips all, ``0`` none.
    generator : torch.Generator
        On the same device as ``x``; one draw per sample.
    mask : bool Tensor of shape ``B``, optional
        Samples that may be flipped; the others are returned unchanged.

    Returns
    -------
    Tensor
        A new batch of the same shape, dtype and device.

    References
    ----------
    Krizhevsky, A., Sutskever, I. and Hinton, G. E. (2012). ImageNet
    classification with deep convolutional neural networks. NeurIPS 25.
    DeVries, T. and Taylor, G. W. (2017). Improved regularization of
    convolutional neural networks with cutout. arXiv:1708.04552.
    """
    p = checked_transform("flip", {"p": p})["p"]
    _check_batch(x, generator, mask)
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < p
    if mask is not None:
        flip &= mask
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def affine_with(
    x: torch.Tensor, angle: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Warp each sample by its own rotation, translation and isotropic scale (no randomness).

    The content of sample ``i`` is scaled by ``scale[i]`` and rotated by
    ``angle[i]`` degrees about the image centre, **counter-clockwise as the
    image is displayed** (row 0 at the top; ``angle=90`` equals
    ``torch.rot90(x, 1, dims=(-2, -1))`` on a square image), then moved right
    by ``tx[i]·W`` and down by ``ty[i]·H`` pixels. Rotation is done in pixel
    units, so it stays a rotation on non-square images. One batched
    ``F.affine_grid`` + ``F.grid_sample`` (bilinear, zeros outside the image,
    ``align_corners=False``); the result is clamped to ``[0, 1]``.

    Parameters
    ----------
    x : Tensor
        Float batch ``B×C×H×W``.
    angle, tx, ty, scale : Tensor of shape ``B``
        Per-sample rotation in degrees, translation as fractions of width and
        height, and scale factor (> 0), on the device of ``x``.

    Returns
    -------
    Tensor
        A new batch of the same shape, dtype and device.
    """
    B, _, H, W = x.shape
    radians = torch.deg2rad(angle.to(x.dtype))
    cos, sin = torch.cos(radians) / scale, torch.sin(radians) / scale
    # affine_grid maps *output* to *input* coordinates (x right, y down, each in [-1, 1]),
    # so theta is the inverse warp: undo the shift, then rotate by -angle and divide by scale.
    # In pixel units (y down) that inverse is [[cos, -sin], [sin, cos]] / scale; the H/W factors
    # convert it to normalised units, where a pixel is 2/W wide and 2/H high.
    a00, a01 = cos, -sin * (H / W)
    a10, a11 = sin * (W / H), cos
    shift_x, shift_y = 2 * tx.to(x.dtype), 2 * ty.to(x.dtype)
    theta = torch.stack(
        [
            torch.stack([a00, a01, -(a00 * shift_x + a01 * shift_y)], dim=-1),
            torch.stack([a10, a11, -(a10 * shift_x + a11 * shift_y)], dim=-1),
        ],
        dim=-2,
    )  # B×2×3
    grid = F.affine_grid(theta, [B, x.shape[1], H, W], align_corners=False)
    warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return warped.clamp_(0.0, 1.0)


def random_affine(
    x: torch.Tensor,
    degrees: float,
    translate: float,
    scale: tuple[float, float],
    generator: torch.Generator,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rotate, shift and scale each sample by its own random draw (via :func:`affine_with`).

    Per sample: angle uniform in ``[-degrees, degrees]`` (positive is
    counter-clockwise), horizontal and vertical shift each uniform in
    ``[-translate, translate]`` as a fraction of width and height, and scale
    uniform in ``[scale[0], scale[1]]``; areas that come from outside the image
    are zero (torchvision's ``RandomAffine`` with ``fill=0``, but per sample).

    Parameters
    ----------
    x : Tensor
        Float batch ``B×C×H×W`` with values in ``[0, 1]``.
    degrees : float in [0, 180]
    translate : float in [0, 1)
    scale : (lo, hi) with 0 < lo <= hi
    generator : torch.Generator
        On the same device as ``x``; four draws per sample (angle, tx, ty, scale).
    mask : bool Tensor of shape ``B``, optional
        Samples to warp; the others are returned unchanged.

    Returns
    -------
    Tensor
        A new batch of the same shape, dtype and device.
    """
    params = checked_transform("affine", {"degrees": degrees, "translate": translate, "scale": scale})
    _check_batch(x, generator, mask)
    u = _uniform(generator, x, 0.0, 1.0, rows=4)
    degrees, translate, (lo, hi) = params["degrees"], params["translate"], params["scale"]
    angle = degrees * (2 * u[0] - 1)
    tx, ty = translate * (2 * u[1] - 1), translate * (2 * u[2] - 1)
    factor = lo + (hi - lo) * u[3]
    return _where(mask, affine_with(x, angle, tx, ty, factor), x)


_GRAY = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale weights


def brightness_contrast(
    x: torch.Tensor, brightness: float, contrast: float, generator: torch.Generator, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Scale brightness, then contrast, of each sample by its own random factor.

    Brightness multiplies the image by a factor uniform in ``[1-b, 1+b]``;
    contrast blends it with its own mean gray level, ``f·x + (1-f)·mean``, with
    ``f`` uniform in ``[1-c, 1+c]``; each step is clamped to ``[0, 1]``. These
    are torchvision's ``adjust_brightness`` and ``adjust_contrast`` applied per
    sample (the mean gray uses ITU-R 601 weights for 3 channels and the plain
    mean otherwise), in a fixed order rather than ``ColorJitter``'s random one.

    Parameters
    ----------
    x : Tensor
        Float batch ``B×C×H×W`` with values in ``[0, 1]``.
    brightness, contrast : float in [0, 1)
        Half-widths of the factor ranges; ``0`` leaves that property unchanged.
    generator : torch.Generator
        On the same device as ``x``; two draws per sample (brightness, contrast).
    mask : bool Tensor of shape ``B``, optional
        Samples to change; the others are returned unchanged.

    Returns
    -------
    Tensor
        A new batch of the same shape, dtype and device.

    References
    ----------
    torchvision.transforms.functional.adjust_brightness / adjust_contrast
    (https://pytorch.org/vision/stable/transforms.html).
    """
    params = checked_transform("color", {"brightness": brightness, "contrast": contrast})
    _check_batch(x, generator, mask)
    b, c = params["brightness"], params["contrast"]
    u = _uniform(generator, x, -1.0, 1.0, rows=2)[:, :, None, None, None]  # 2×B×1×1×1
    brightness_factor, contrast_factor = 1 + b * u[0], 1 + c * u[1]
    out = (brightness_factor * x).clamp_(0.0, 1.0)
    if x.shape[1] == 3:
        gray = torch.tensordot(torch.tensor(_GRAY, dtype=x.dtype, device=x.device), out, dims=([0], [1]))
        mean = gray.mean(dim=(-2, -1))[:, None, None, None]
    else:
        mean = out.mean(dim=(-3, -2, -1), keepdim=True)
    out = (contrast_factor * out + (1 - contrast_factor) * mean).clamp_(0.0, 1.0)
    return _where(mask, out, x)


TRANSFORMS: dict[str, Callable[..., torch.Tensor]] = {
    "crop": random_crop,
    "flip": horizontal_flip,
    "affine": random_affine,
    "color": brightness_contrast,
}


def apply_transforms(
    x: torch.Tensor,
    transforms: list[tuple[str, dict[str, Any]]],
    generator: torch.Generator,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply parsed transforms in order, all drawing from one generator, to the samples in ``mask``.

    ``transforms`` is what :func:`parse_transforms` returns; an unknown name or
    parameter raises :class:`TransformError` before anything runs. With no
    transforms the result is an unchanged copy.
    """
    checked = [(name, checked_transform(name, params)) for name, params in transforms]
    out = x.clone() if not checked else x
    for name, params in checked:
        out = TRANSFORMS[name](out, **params, generator=generator, mask=mask)
    return out
