"""Published weights: which timm architecture a model is, timm's metadata of its weights, and their file in
the Hugging Face Hub cache (downloaded once when online). Offline, missing published weights are a one-line
:class:`WeightsError` naming where they were expected; nothing downloads when the file is cached.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from imbalance_lab.declarations.models.backbones import NAMED as NAMED  # our name -> timm's architecture name
from imbalance_lab.errors import UserError

if TYPE_CHECKING:
    from imbalance_lab.models.base import ModelChoice


def timm_module() -> Any:
    try:
        import timm
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise ValueError("timm backbones need the timm package: pip install timm") from err
    return timm


def pretrained_cfg(arch: str) -> dict[str, Any]:
    """timm's metadata of ``arch``'s default weights (mean, std, input size, where they are published)."""
    timm = timm_module()
    if not timm.is_model(arch):
        raise ValueError(f"timm has no architecture {arch!r}; see timm.list_models() for the names")
    cfg = timm.models.get_pretrained_cfg(arch)
    return cfg.to_dict() if cfg is not None else {}


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
    cfg = pretrained_cfg(arch)
    hub_id = cfg.get("hf_hub_id")
    if not hub_id:
        raise WeightsError(
            f"model.pretrained: timm publishes no weights for {arch!r} on the Hugging Face Hub; "
            f"give the path of a weights file instead"
        )
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
    raise WeightsError(
        f"model.pretrained: the published weights of {arch} ({hub_id}, {' or '.join(names)}) are not "
        f"in the Hugging Face cache at {_hub_cache()} and could not be downloaded{offline} "
        f"({', '.join(errors)}); run once where the Hub is reachable, or set model.pretrained to the "
        f"path of a weights file"
    )


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


def fetch_published(spec: ModelChoice) -> None:
    """Make sure the published weights a spec asks for are on this machine before any run starts
    (the driver calls this once; runs then read the cached file)."""
    if spec.pretrained is not True:
        return
    arch = published_arch(spec)
    if arch is not None:
        published_file(arch)


def published_arch(spec: ModelChoice) -> str | None:
    """The timm architecture behind a spec's model, if it is a timm backbone."""
    if spec.name in NAMED:
        return NAMED[spec.name]
    if spec.name == "timm_model":
        return str(spec.params.get("arch") or "resnet18")
    return None
