"""``model``: the network by name with its parameters, its pretrained weights and what is frozen."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from imbalance_lab.errors import SpecError
from imbalance_lab.spec.base import Component, is_stored, named_params, relative_to_cwd

MODEL_SETTINGS = ("pretrained", "freeze", "weights_sha256")  # a model's keys that are not its factory's parameters


def model_entry(value: Any) -> Any:
    """A spec's ``model``: as :func:`named_params` (name key ``name``), with ``pretrained`` and ``freeze``
    kept beside the name rather than among the parameters."""
    if not isinstance(value, dict):
        return named_params(value, "model", name_key="name")
    settings = {k: value[k] for k in MODEL_SETTINGS if k in value}
    rest = {k: v for k, v in value.items() if k not in MODEL_SETTINGS}
    return {**named_params(rest, "model", name_key="name"), **settings}


class ModelSpec(Component):
    """The network: a registered model by ``name`` with its ``params``; ``pretrained``: ``false`` (trained
    from its initialisation), ``true`` (the architecture's published weights, for models that have them)
    or the path of a weights file (a state dict saved by ``torch.save``, or ``.safetensors``; a relative
    path is read from the current directory, like every path in a spec), loaded into the backbone;
    ``freeze``: ``none``, ``backbone`` (only the new head trains) or the number of the backbone's first
    stages (the stem counting as one) that do not train.

    ``weights_sha256``: the weights file's SHA-256, read from the file when the spec is read (other
    weights, other runs: it is hashed). A results directory's ``spec.yaml`` records it, so its runs stay
    readable when the file moves or changes; given in a spec to train with, the file must match it.
    """

    name: str = "simple_cnn"
    pretrained: bool | str = False
    freeze: Literal["none", "backbone"] | Annotated[int, Field(ge=0)] = "none"
    weights_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    @field_validator("pretrained")
    @classmethod
    def _weights_file(cls, value: bool | str, info: ValidationInfo) -> bool | str:
        if isinstance(value, str):
            if value.lower() in ("true", "false", "yes", "no"):
                raise ValueError(
                    f"write pretrained: {value.lower() in ('true', 'yes')} without quotes "
                    f"(a quoted {value!r} would be a file name)"
                )
            if not Path(value).expanduser().is_file() and not is_stored(info):
                raise ValueError(
                    f"no weights file at {value!r}{relative_to_cwd(value)}; give the path of a state "
                    f"dict saved with torch.save or a .safetensors file, true for the published "
                    f"weights, or false"
                )
        return value

    @model_validator(mode="before")
    @classmethod
    def _digest_weights(cls, data: Any, info: ValidationInfo) -> Any:
        """The weights file's SHA-256, read once when the spec is read (every run hash needs it). In a
        results directory's spec the recorded digest stands, whatever the file is now."""
        if not isinstance(data, dict):
            return data
        path, given = data.get("pretrained"), data.get("weights_sha256")
        if not isinstance(path, str):
            if given is not None:
                raise SpecError(
                    "model.weights_sha256",
                    "is the digest of a weights file; give it only with pretrained: <path>, or leave it out",
                )
            return data
        if given is not None and is_stored(info):
            return data
        actual = weights_file_digest(path)
        if actual is not None and given is not None and given != actual:
            raise SpecError(
                "model.weights_sha256",
                f"the weights file {path} has SHA-256 {actual[:12]}…, not "
                f"{str(given)[:12]}… as given: it is another file or it "
                f"changed; leave weights_sha256 out to train with the file "
                f"as it is now",
            )
        return {**data, "weights_sha256": actual} if actual is not None else data

    def weights_digest(self) -> str | None:
        """SHA-256 of the weights file when ``pretrained`` is a path (hashed with the spec: other weights,
        other runs), else None; read when the spec was read."""
        return self.weights_sha256

    def weights_file_status(self) -> str | None:
        """What is wrong with the weights file now, against the digest the spec recorded (``None``: as recorded,
        or no file at all): it is missing, or it has changed."""
        if not isinstance(self.pretrained, str) or self.weights_sha256 is None:
            return None
        actual = weights_file_digest(self.pretrained)
        if actual is None:
            return (
                f"the weights file {self.pretrained}{relative_to_cwd(self.pretrained)} is missing (moved or "
                f"deleted); the runs were made with SHA-256 {self.weights_sha256[:12]}…"
            )
        if actual != self.weights_sha256:
            return (
                f"the weights file {self.pretrained} has changed (SHA-256 {actual[:12]}…, the runs were made "
                f"with {self.weights_sha256[:12]}…)"
            )
        return None


def weights_file_digest(path: str) -> str | None:
    """SHA-256 of the file at ``path`` (``~`` expanded), or ``None`` where there is no file."""
    file = Path(path).expanduser()
    if not file.is_file():
        return None
    digest = hashlib.sha256()
    with file.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
