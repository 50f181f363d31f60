"""``cifar10``, ``cifar100``, ``mnist`` and ``fashion_mnist`` declared: the standard image sets by name, in
the folders torchvision downloads them into, read by :mod:`imbalance_lab.data.torchvision_sets`.

(The references are in each declaration's docstring.)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels

Root = Annotated[str, Field(min_length=1, description="folder holding the data set files ('~' is expanded)")]
Split = Annotated[Literal["train", "test", "all"], Field(description="which split; 'all' is train followed by test")]
Download = Annotated[bool, Field(description="fetch the standard files with torchvision when they are missing")]

DEFAULT_ROOT = "~/.cache/imbalance-lab/datasets"


@SOURCES.declare
def cifar10(root: Root = DEFAULT_ROOT, split: Split = "train", download: Download = False) -> SourceLabels | None:
    """CIFAR-10: 60,000 32×32 colour images in 10 classes (50,000 train, 10,000 test), via torchvision's files.

    Reads the python batches in ``ROOT/cifar-10-batches-py`` (``data_batch_1`` ..
    ``data_batch_5``, ``test_batch``, ``batches.meta``), the folder
    ``torchvision.datasets.CIFAR10`` downloads. Class names come from
    ``batches.meta``: airplane, automobile, bird, cat, deer, dog, frog, horse,
    ship, truck.

    Parameters
    ----------
    root : str
        Folder holding ``cifar-10-batches-py``; ``~`` is expanded.
    split : {"train", "test", "all"}
        The published split; ``"all"`` is the training images followed by the test images.
    download : bool
        When the files are missing, download and unpack the published archive
        with torchvision; without network this is a :class:`DataError`.

    Returns
    -------
    ImageSet
        ``uint8`` images ``N×3×32×32`` (RGB), ``int64`` labels, 10 class names.

    References
    ----------
    Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny
    Images. Technical report, University of Toronto.
    """
    return None


@SOURCES.declare
def cifar100(root: Root = DEFAULT_ROOT, split: Split = "train", download: Download = False) -> SourceLabels | None:
    """CIFAR-100: 60,000 32×32 colour images in 100 fine classes (50,000 train, 10,000 test), via torchvision's files.

    Reads ``ROOT/cifar-100-python/{train,test,meta}``, the folder
    ``torchvision.datasets.CIFAR100`` downloads; labels are the fine labels and
    class names the 100 ``fine_label_names`` of ``meta`` (apple, aquarium_fish, ...).

    Parameters
    ----------
    root : str
        Folder holding ``cifar-100-python``; ``~`` is expanded.
    split : {"train", "test", "all"}
        The published split; ``"all"`` is the training images followed by the test images.
    download : bool
        When the files are missing, download and unpack the published archive
        with torchvision; without network this is a :class:`DataError`.

    Returns
    -------
    ImageSet
        ``uint8`` images ``N×3×32×32`` (RGB), ``int64`` fine labels, 100 class names.

    References
    ----------
    Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny
    Images. Technical report, University of Toronto.
    """
    return None


@SOURCES.declare
def mnist(root: Root = DEFAULT_ROOT, split: Split = "train", download: Download = False) -> SourceLabels | None:
    """MNIST: 70,000 28×28 grayscale handwritten digits (60,000 train, 10,000 test), read by torchvision.

    Reads the uncompressed idx files in ``ROOT/MNIST/raw``
    (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``) with
    ``torchvision.datasets.MNIST``, which wants all four whatever the split.
    Class names are ``"0"`` .. ``"9"``.

    Parameters
    ----------
    root : str
        Folder holding ``MNIST/raw``; ``~`` is expanded.
    split : {"train", "test", "all"}
        The published split; ``"all"`` is the training images followed by the test images.
    download : bool
        When the files are missing, download and unpack them with torchvision;
        without network this is a :class:`DataError`.

    Returns
    -------
    ImageSet
        ``uint8`` images ``N×1×28×28``, ``int64`` labels, class names ``"0"`` .. ``"9"``.

    References
    ----------
    LeCun, Y., Bottou, L., Bengio, Y., & Haffner, P. (1998). Gradient-based
    learning applied to document recognition. Proceedings of the IEEE, 86(11),
    2278-2324.
    """
    return None


@SOURCES.declare
def fashion_mnist(root: Root = DEFAULT_ROOT, split: Split = "train", download: Download = False) -> SourceLabels | None:
    """Fashion-MNIST: 70,000 28×28 grayscale clothing images in 10 classes (60,000 train, 10,000 test), read by torchvision.

    Reads the uncompressed idx files in ``ROOT/FashionMNIST/raw`` (the MNIST
    file names) with ``torchvision.datasets.FashionMNIST``. Class names:
    T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
    Ankle boot.

    Parameters
    ----------
    root : str
        Folder holding ``FashionMNIST/raw``; ``~`` is expanded.
    split : {"train", "test", "all"}
        The published split; ``"all"`` is the training images followed by the test images.
    download : bool
        When the files are missing, download and unpack them with torchvision;
        without network this is a :class:`DataError`.

    Returns
    -------
    ImageSet
        ``uint8`` images ``N×1×28×28``, ``int64`` labels, 10 class names.

    References
    ----------
    Xiao, H., Rasul, K., & Vollgraf, R. (2017). Fashion-MNIST: a Novel Image
    Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
    """
    return None
