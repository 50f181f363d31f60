"""Weights files, and building a spec's model with its weights (published ones come from
:mod:`imbalance_lab.models.hub`).

:func:`build_model` is the one way a run gets its network: the registered
factory, then ``pretrained`` (published weights, or a file loaded into the
backbone), then ``freeze``. Offline, missing published weights are a one-line
:class:`WeightsError` naming where they were expected; nothing downloads when
the file is cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from imbalance_lab.models.base import MODELS, ImageClassifier
from imbalance_lab.models.hub import WeightsError

if TYPE_CHECKING:
    from imbalance_lab.models.base import ModelChoice


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
        raise WeightsError(
            f"model.pretrained: cannot read weights from {str(path)!r} ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); give a state dict saved with "
            f"torch.save or a .safetensors file"
        ) from None
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
        raise WeightsError(
            f"model.pretrained: {str(path)!r} lacks {len(missing)} of the backbone's {len(own)} tensors "
            f"(first: {missing[0]!r}); were the weights saved from this model with these parameters?"
        )
    for key, tensor in own.items():
        if state[key].shape != tensor.shape:
            raise WeightsError(
                f"model.pretrained: {key!r} in {str(path)!r} has shape {tuple(state[key].shape)}, the "
                f"model's is {tuple(tensor.shape)}; were the weights saved from this model with "
                f"these parameters?"
            )
    model.backbone.load_state_dict({k: state[k] for k in own})


def build_model(
    spec: ModelChoice,
    in_channels: int,
    image_size: tuple[int, int],
    n_outputs: int,
    params: dict[str, Any] | None = None,
) -> ImageClassifier:
    """The spec's network for a task of ``n_outputs`` classes on ``in_channels`` × ``image_size`` images:
    initialised by the factory (under the caller's torch seed), with its published weights or a weights
    file in the backbone, and the part ``freeze`` names frozen."""
    entry = MODELS.entry(spec.name, "model.name")
    checked = MODELS.check_params(spec.name, spec.params if params is None else params, "model")
    if spec.pretrained is True:
        model = entry.build(in_channels, image_size, n_outputs, pretrained=True, **checked)
    else:
        model = entry.build(in_channels, image_size, n_outputs, **checked)
    if isinstance(spec.pretrained, str):
        load_backbone(model, spec.pretrained)
    try:
        model.freeze(spec.freeze)
    except ValueError as err:
        raise WeightsError(f"model.freeze: {err}") from None
    return model
