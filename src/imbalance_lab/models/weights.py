"""Weights: published ones (timm's, through the Hugging Face Hub cache), weights files, and building a
spec's model with them.

:func:`build_model` is the one way a run gets its network: the registered
factory, then ``pretrained`` (published weights, or a file loaded into the
backbone), then ``freeze``. Offline, missing published weights are a one-line
:class:`WeightsError` naming where they were expected; nothing downloads when
the file is cached.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from imbalance_lab.errors import UserError
from imbalance_lab.models.base import MODELS, ImageClassifier

if TYPE_CHECKING:
    from imbalance_lab.spec import ModelSpec


class WeightsError(UserError):
    """Weights that cannot be found or do not fit the model."""


def _hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


@functools.cache
def published_file(arch: str) -> str:
    """The local file of timm architecture ``arch``'s published weights: from the Hugging Face Hub
    cache when it is there (no network), else downloaded into it once.

    Raises :class:`WeightsError` (one line: the weights' name, the cache directory
    and the fix) when they are neither cached nor downloadable (offline, or
    ``HF_HUB_OFFLINE=1``).
    """
    from imbalance_lab.models.backbones import pretrained_cfg

    cfg = pretrained_cfg(arch)
    hub_id = cfg.get("hf_hub_id")
    if not hub_id:
        raise WeightsError(f"model.pretrained: timm publishes no weights for {arch!r} on the Hugging Face Hub; "
                           f"give the path of a weights file instead")
    import huggingface_hub

    names = [cfg["hf_hub_filename"]] if cfg.get("hf_hub_filename") else ["model.safetensors", "pytorch_model.bin"]
    for name in names:
        cached = huggingface_hub.try_to_load_from_cache(hub_id, name)
        if isinstance(cached, str):
            return cached
    errors = []
    if _hub_unreachable():
        errors.append(f"{huggingface_hub.constants.ENDPOINT} unreachable")
    else:
        import logging

        hub_log = logging.getLogger("huggingface_hub")
        level = hub_log.level
        hub_log.setLevel(logging.ERROR)  # its retry messages: the error below says it in one line
        try:
            for name in names:
                try:
                    return str(huggingface_hub.hf_hub_download(hub_id, name))
                except huggingface_hub.errors.EntryNotFoundError:  # the Hub has no such file: try the next name
                    errors.append(f"no {name}")
                except Exception as err:  # offline, refused, timed out: the next name would fare no better
                    errors.append(type(err).__name__)
                    break
        finally:
            hub_log.setLevel(level)
    offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") else ""
    raise WeightsError(f"model.pretrained: the published weights of {arch} ({hub_id}, {' or '.join(names)}) are not "
                       f"in the Hugging Face cache at {_hub_cache()} and could not be downloaded{offline} "
                       f"({', '.join(errors)}); run once where the Hub is reachable, or set model.pretrained to the "
                       f"path of a weights file")


def _hub_unreachable() -> bool:
    """True when the Hub's host does not even resolve (no network here) and no proxy is configured: then
    a download is not tried (it would retry for about a minute before failing)."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return False
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or ""
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return True
    return False


def fetch_published(spec: ModelSpec) -> None:
    """Make sure the published weights a spec asks for are on this machine before any run starts
    (the driver calls this once; runs then read the cached file)."""
    if spec.pretrained is not True:
        return
    arch = published_arch(spec)
    if arch is not None:
        published_file(arch)


def published_arch(spec: ModelSpec) -> str | None:
    """The timm architecture behind a spec's model, if it is a timm backbone."""
    from imbalance_lab.models.backbones import NAMED

    if spec.name in NAMED:
        return NAMED[spec.name]
    if spec.name == "timm_model":
        return str(spec.params.get("arch") or "resnet18")
    return None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A weights file as a state dict: ``.safetensors``, or what ``torch.save`` wrote (a state dict, or a
    dict holding one under ``state_dict`` or ``model``); only tensors are read (no code runs)."""
    path = Path(path).expanduser()
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return dict(load_file(str(path)))
        state: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsError(f"model.pretrained: cannot read weights from {str(path)!r} ({type(err).__name__}: "
                           f"{str(err).splitlines()[0] if str(err) else ''}); give a state dict saved with "
                           f"torch.save or a .safetensors file") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"model.pretrained: {str(path)!r} holds no state dict (a mapping of names to tensors)")
    return state


def load_backbone(model: ImageClassifier, path: str | Path) -> None:
    """Load the backbone's weights from a file: a whole :class:`ImageClassifier`'s state dict (a run's
    saved ``model.pt``: its ``backbone.`` entries are taken, the old head left out) or the backbone's
    own. Every backbone tensor must be present with its shape; a mismatch names the first bad key."""
    state = read_state_dict(path)
    if any(k.startswith("backbone.") for k in state):
        state = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
    own = model.backbone.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise WeightsError(f"model.pretrained: {str(path)!r} lacks {len(missing)} of the backbone's {len(own)} tensors "
                           f"(first: {missing[0]!r}); were the weights saved from this model with these parameters?")
    for key, tensor in own.items():
        if state[key].shape != tensor.shape:
            raise WeightsError(f"model.pretrained: {key!r} in {str(path)!r} has shape {tuple(state[key].shape)}, the "
                               f"model's is {tuple(tensor.shape)}; were the weights saved from this model with "
                               f"these parameters?")
    model.backbone.load_state_dict({k: state[k] for k in own})


def build_model(spec: ModelSpec, in_channels: int, image_size: tuple[int, int], n_outputs: int,
                params: dict[str, Any] | None = None) -> ImageClassifier:
    """The spec's network for a task of ``n_outputs`` classes on ``in_channels`` × ``image_size`` images:
    initialised by the factory (under the caller's torch seed), with its published weights or a weights
    file in the backbone, and the part ``freeze`` names frozen."""
    entry = MODELS.entry(spec.name, "model.name")
    checked = MODELS.check_params(spec.name, spec.params if params is None else params, "model")
    if spec.pretrained is True:
        model = entry.factory(in_channels, image_size, n_outputs, pretrained=True, **checked)
    else:
        model = entry.factory(in_channels, image_size, n_outputs, **checked)
    if isinstance(spec.pretrained, str):
        load_backbone(model, spec.pretrained)
    try:
        model.freeze(spec.freeze)
    except ValueError as err:
        raise WeightsError(f"model.freeze: {err}") from None
    return model
