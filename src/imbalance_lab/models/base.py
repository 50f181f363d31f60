"""The model registry: factories ``(in_channels, image_size, n_outputs, **params) -> nn.Module``."""

from imbalance_lab.registry import Registry

MODELS: Registry = Registry("model", fixed=("in_channels", "image_size", "n_outputs"))
