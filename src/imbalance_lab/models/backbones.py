"""Backbones from timm, by name, under a new head sized to the task.

``resnet18``, ``resnet50``, ``efficientnet_b0``, ``mobilenetv3_large_100``,
``convnext_tiny`` and ``xception`` (seed 002's network: timm's port of Keras'
Xception, ``legacy_xception``) are declared under their names
(:mod:`imbalance_lab.declarations.models.backbones`); ``timm_model`` takes any
other timm architecture as ``arch``. Each is timm's network without its classifier
(``num_classes=0``: pooled features) and our :class:`ImageClassifier` head. Its
input transform comes from the weights' metadata (``pretrained_cfg``: mean, std,
input size): grey images are copied to the 3 channels a pretrained network
expects, and images are resized to its input size unless ``input_size`` says
otherwise.

Published weights (``pretrained: true`` in the spec) come through timm from the
Hugging Face Hub into its cache (``HF_HOME``, default ``~/.cache/huggingface``); a
run reads the cached file, and a missing one is fetched once by the driver before
any run starts (:func:`imbalance_lab.models.hub.fetch_published`).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from imbalance_lab.declarations.models.backbones import MIN_SIDE, NAMED
from imbalance_lab.models.base import MODELS, ImageClassifier, InputNorm
from imbalance_lab.models.hub import pretrained_cfg, published_file, timm_module


def _stages(net: nn.Module) -> list[list[nn.Module]]:
    """The network's stages from timm's ``feature_info`` (the stem first): stage k is every module,
    in registration order, after stage k − 1's last module up to the last module inside the k-th
    feature module, counting only modules that lie wholly in that range."""
    order = list(net.modules())
    index = {id(m): i for i, m in enumerate(order)}
    spans = {id(m): max(index[id(d)] for d in m.modules()) for m in order}
    ends = []
    for info in getattr(net, "feature_info", []):
        module = net.get_submodule(info["module"])
        ends.append(spans[id(module)])
    stages, start = [], 1  # order[0] is the network itself
    for end in ends:
        stages.append([m for m in order[start : end + 1] if spans[id(m)] <= end])
        start = end + 1
    return stages


def timm_backbone(
    arch: str,
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    pretrained: bool,
    input_size: int | None,
    head_dropout: float,
) -> ImageClassifier:
    """timm's ``arch`` without its classifier, under a new linear head of ``n_outputs``; with
    ``pretrained``, its published weights, read from the local cache (:func:`~imbalance_lab.models.hub.published_file`)."""

    timm = timm_module()
    cfg = pretrained_cfg(arch)
    mean, std = tuple(cfg.get("mean", (0.485, 0.456, 0.406))), tuple(cfg.get("std", (0.229, 0.224, 0.225)))
    # pretrained: the network keeps its input channels and grey images are copied to them; from scratch
    # it is built for the data's channels
    net_channels = len(mean) if pretrained else in_channels
    if in_channels not in (1, net_channels):
        raise ValueError(
            f"model {arch}: images have {in_channels} channels but the pretrained network takes "
            f"{net_channels}; use grey (1) or RGB (3) images, or train it from scratch"
        )
    kwargs: dict[str, Any] = {"num_classes": 0, "in_chans": net_channels}
    if pretrained:
        kwargs["pretrained_cfg_overlay"] = {"file": published_file(arch)}
    net = timm.create_model(arch, pretrained=pretrained, **kwargs)
    if input_size is not None:
        size: tuple[int, int] | None = (input_size, input_size)
    elif pretrained:
        size = tuple(cfg.get("input_size", (3, 224, 224))[-2:])
    elif min(image_size) < MIN_SIDE:  # these networks downsample 32×: smaller images are enlarged
        size = (max(image_size[0], MIN_SIDE), max(image_size[1], MIN_SIDE))
    else:
        size = None
    if size == tuple(image_size):
        size = None
    if net_channels != len(mean):  # from scratch on other channels: the weights' statistics, averaged
        mean, std = (sum(mean) / len(mean),) * net_channels, (sum(std) / len(std),) * net_channels
    norm = InputNorm(mean, std, repeat=net_channels if in_channels == 1 < net_channels else 1, size=size)
    backbone = nn.Sequential(norm, net)
    # the width of what the network returns without its classifier (after a conv head, where it has one)
    width = int(getattr(net, "head_hidden_size", None) or net.num_features)
    return ImageClassifier(backbone, width, n_outputs, head_dropout, stages=tuple(_stages(net)))


def _register(name: str, arch: str) -> None:
    def factory(
        in_channels: int,
        image_size: tuple[int, int],
        n_outputs: int,
        pretrained: bool,
        input_size: int | None,
        head_dropout: float,
    ) -> ImageClassifier:
        return timm_backbone(arch, in_channels, image_size, n_outputs, pretrained, input_size, head_dropout)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (
        f"``{name}`` (declared in :mod:`imbalance_lab.declarations.models.backbones`): "
        f":func:`timm_backbone` of timm's {arch}."
    )
    MODELS.implement(factory)


for _name, _arch in NAMED.items():
    _register(_name, _arch)


@MODELS.implement
def timm_model(
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    arch: str,
    pretrained: bool,
    input_size: int | None,
    head_dropout: float,
) -> ImageClassifier:
    """``timm_model`` (:func:`~imbalance_lab.declarations.models.backbones.timm_model`): :func:`timm_backbone`
    of timm's ``arch``."""
    return timm_backbone(arch, in_channels, image_size, n_outputs, pretrained, input_size, head_dropout)
