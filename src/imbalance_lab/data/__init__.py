"""Data sources (registered by name) and the decoded images they yield."""

from imbalance_lab.data import (  # noqa: F401  (registers the sources)
    animal_mnist,
    hf_dataset,
    image_folder,
    image_list,
    medmnist,
    offline_sets,
    synthetic,
    torchvision_sets,
)
from imbalance_lab.data.base import SOURCES, ImageSet

__all__ = ["SOURCES", "ImageSet"]
