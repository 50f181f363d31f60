"""The model registry and the one model contract the trainer and strategies rely on.

Factories are ``(in_channels, image_size, n_outputs, **params) -> ImageClassifier``.
An :class:`ImageClassifier` is a backbone that yields features and a head (an
optional dropout and a classifier) that maps them to one logit per class, with
timm's names for the seams: ``forward_features``, ``forward_head``,
``get_classifier`` and ``reset_classifier``. Strategies use them to replace the
classifier (LDAM's cosine classifier), re-train it alone (cRT) or rescale its
weights (τ-normalisation).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.registry import Registry

MODELS: Registry = Registry("model", fixed=("in_channels", "image_size", "n_outputs"))


def task_defaults(name: str, has_positive: bool) -> dict[str, object]:
    """Defaults of model ``name`` that depend on the task (a factory's ``task_defaults`` attribute), or none.

    A spec's model parameters are these, overridden by what the spec gives, so
    the stored spec names them and they are part of the run hash.
    """
    factory = MODELS.entry(name).factory if name in MODELS.names() else None
    rule = getattr(factory, "task_defaults", None)
    return dict(rule(has_positive)) if rule is not None else {}


class CosineClassifier(nn.Module):
    """Logits ``s · cos(θ)`` between L2-normalised features and class weights.

    The classifier of LDAM (Cao et al. 2019, arXiv:1906.07413), whose margins are
    set on cosines; ``scale`` is their ``s``.
    """

    def __init__(self, in_features: int, out_features: int, scale: float) -> None:
        super().__init__()
        self.in_features, self.out_features, self.scale = in_features, out_features, scale
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.scale * F.linear(F.normalize(features, dim=1), F.normalize(self.weight, dim=1))


class Dropout(nn.Dropout):
    """``nn.Dropout``, with the mask drawn 16 random bits an element when training in float32 on a CPU.

    PyTorch's CPU dropout draws a double per element from a serial Mersenne
    Twister (``bernoulli_``): about a tenth of the seed CNN's training step. Here
    one 64-bit draw of the same generator (so ``torch.manual_seed`` and saved RNG
    states govern it as before) gives four elements 16 bits each; an element is
    kept when its bits fall below ``round((1 − p) · 2¹⁶)``, so the drop probability
    is ``p`` to within 2⁻¹⁷, and kept elements are scaled by the exact inverse of
    the keep probability (the expectation is unchanged). The mask is made with
    vectorised float arithmetic (comparisons to bool are not vectorised on CPU):
    forward and backward about 2.5× as fast as ``nn.Dropout`` on the seed CNN's
    first block (docs/benchmarks.md). Elsewhere (GPU, other dtypes, in place) it is
    ``nn.Dropout``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = round((1.0 - self.p) * 65536)
        if not self.training or x.device.type != "cpu" or x.dtype != torch.float32 or self.inplace or not 0 < keep < 65536:
            return super().forward(x)
        n = x.numel()
        draws = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-2**63, 2**63 - 1)  # all 64 bits random
        bits = draws.view(torch.int16)[:n].to(torch.float32)  # uniform on the integers −32768 … 32767
        mask = (keep - 32768 - bits).clamp_(0, 1).mul_(65536 / keep)  # 1/P(keep) where bits < keep − 32768, else 0
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
            return x * mask.as_strided(x.shape, x.stride())  # in x's memory order, so the product keeps its layout
        return x * mask.view(x.shape)


class ImageClassifier(nn.Module):
    """``backbone`` → features (B×``num_features``) → dropout → ``classifier`` → logits (B×``n_outputs``)."""

    def __init__(self, backbone: nn.Module, num_features: int, n_outputs: int, head_dropout: float = 0.0) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_features = num_features
        self.head_dropout = Dropout(head_dropout) if head_dropout > 0 else nn.Identity()
        self.classifier: nn.Module = nn.Linear(num_features, n_outputs)

    @property
    def n_outputs(self) -> int:
        return int(self.classifier.out_features)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head_dropout(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.classifier

    def set_classifier(self, classifier: nn.Module) -> None:
        """Replace the classifier (its input size must be ``num_features``)."""
        self.classifier = classifier

    def reset_classifier(self, zero: bool = False) -> None:
        """Fresh classifier weights: PyTorch's default initialisation of its kind, or all zeros.

        ``zero`` applies to a linear classifier (every class scores 0: uniform
        predictions); a cosine classifier, whose weights are normalised, is always
        drawn afresh.
        """
        if zero and isinstance(self.classifier, nn.Linear):
            nn.init.zeros_(self.classifier.weight)
            if self.classifier.bias is not None:
                nn.init.zeros_(self.classifier.bias)
        else:
            self.classifier.reset_parameters()

    def head_parameters(self) -> list[nn.Parameter]:
        """The parameters a classifier-only stage trains (the classifier's)."""
        return list(self.classifier.parameters())

    def train_head_only(self) -> None:
        """Training mode for the head alone: the backbone in eval mode, so its batch-norm
        statistics and dropout stay fixed while the classifier trains."""
        self.train()
        self.backbone.eval()
