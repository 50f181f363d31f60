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
from typing import Any, Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.declarations.models import MODELS as MODELS
from imbalance_lab.declarations.models import task_defaults as task_defaults


class ModelChoice(Protocol):
    """What building a model reads of a spec's ``model`` section: the registered ``name`` and its ``params``,
    ``pretrained`` (``True``, ``False`` or a weights file's path) and ``freeze`` (the spec's ``ModelSpec`` is
    one; the models' layer names only what it reads, below the spec)."""

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def pretrained(self) -> bool | str: ...

    @property
    def freeze(self) -> str | int: ...


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


class ScaledClassifier(nn.Module):
    """A trained classifier, fixed, whose classes' scores are rescaled by learnable factors ``f_c``:
    ``f_c · (w_c · x) + b_c`` for a linear one (the bias kept as trained), ``f_c · s cos θ_c`` for a cosine
    one. LWS's classifier (Kang et al. 2020): ``w̃_c = f_c w_c`` with ``w_c`` fixed and ``f`` learned,
    starting at 1 (so it starts as the classifier it wraps)."""

    def __init__(self, base: nn.Linear | CosineClassifier) -> None:
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.scales = nn.Parameter(torch.ones(base.out_features, dtype=base.weight.dtype, device=base.weight.device))

    @property
    def weight(self) -> torch.Tensor:
        """The effective class weights ``f_c · w_c``."""
        return self.scales[:, None] * self.base.weight

    def reset_parameters(self) -> None:
        nn.init.ones_(self.scales)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if isinstance(self.base, nn.Linear):
            scores = F.linear(features, self.base.weight) * self.scales
            return scores if self.base.bias is None else scores + self.base.bias
        return self.base(features) * self.scales


class MultiHead(nn.Module):
    """K linear heads (experts) on the shared features, and how their scores combine into the model's.

    ``forward_all`` gives every head's logits (B×K×C), for per-head losses; ``forward`` gives the combined
    logits (B×C), which is what the model predicts and stores, so every metric and decision rule works on a
    multi-head model unchanged. ``combine``: ``mean_logits`` (the mean of the heads' logits: a product of
    their softmax experts, renormalised) or ``mean_probs`` (the log of the mean of their probabilities,
    whose softmax is that mean).
    """

    def __init__(
        self, heads: list[nn.Linear] | list[CosineClassifier], combine: Literal["mean_logits", "mean_probs"]
    ) -> None:
        super().__init__()
        self.in_features, self.out_features, self.combine = heads[0].in_features, heads[0].out_features, combine
        self.heads = nn.ModuleList(heads)

    @property
    def n_heads(self) -> int:
        return len(self.heads)

    def reset_parameters(self) -> None:
        for head in self.heads:
            if isinstance(head, nn.Linear | CosineClassifier):
                head.reset_parameters()

    def forward_all(self, features: torch.Tensor) -> torch.Tensor:
        return torch.stack([head(features) for head in self.heads], dim=1)

    def combined(self, head_logits: torch.Tensor) -> torch.Tensor:
        """The model's logits (B×C) from every head's (B×K×C)."""
        if self.combine == "mean_probs":
            return torch.log(torch.softmax(head_logits.float(), dim=2).mean(dim=1).clamp(min=1e-30))
        return head_logits.mean(dim=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.combined(self.forward_all(features))


Classifier = nn.Linear | CosineClassifier | ScaledClassifier | MultiHead


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
        if (
            not self.training
            or x.device.type != "cpu"
            or x.dtype != torch.float32
            or self.inplace
            or not 0 < keep < 65536
        ):
            return super().forward(x)
        n = x.numel()
        draws = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), 2**63 - 1)  # all 64 bits random
        bits = draws.view(torch.int16)[:n].to(torch.float32)  # uniform on the integers −32768 … 32767
        mask = (keep - 32768 - bits).clamp_(0, 1).mul_(65536 / keep)  # 1/P(keep) where bits < keep − 32768, else 0
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
            return x * mask.as_strided(x.shape, x.stride())  # in x's memory order, so the product keeps its layout
        return x * mask.view(x.shape)


class InputNorm(nn.Module):
    """A model's own input transform: the trainer hands images in [0, 1]; this maps them to what the
    network was built or pretrained for, ``(x − mean) / std`` per channel.

    ``repeat`` copies a grey channel to the 3 a pretrained network expects (before
    normalising with its 3-channel statistics); ``size`` resizes (bilinear, with
    antialiasing when shrinking) to the input size pretrained weights expect.
    """

    mean: torch.Tensor  # buffers (1×C×1×1), registered in __init__
    std: torch.Tensor

    def __init__(
        self, mean: tuple[float, ...], std: tuple[float, ...], repeat: int = 1, size: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.repeat, self.size = repeat, size

    @classmethod
    def signed(cls, channels: int) -> InputNorm:
        """[0, 1] to [−1, 1] (mean and std 0.5): the seeds' scaling for networks trained from scratch."""
        return cls((0.5,) * channels, (0.5,) * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size is not None and tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(
                x,
                size=self.size,
                mode="bilinear",
                align_corners=False,
                antialias=x.shape[-1] > self.size[-1] or x.shape[-2] > self.size[-2],
            )
        if self.repeat > 1:
            x = x.expand(-1, self.repeat, -1, -1)
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        mean = [round(v, 4) for v in self.mean.flatten().tolist()]
        std = [round(v, 4) for v in self.std.flatten().tolist()]
        return f"mean={mean}, std={std}, repeat={self.repeat}, size={self.size}"


Freeze = Literal["none", "backbone"] | int


class ImageClassifier(nn.Module):
    """``backbone`` → features (B×``num_features``) → dropout → ``classifier`` → logits (B×``n_outputs``).

    The backbone starts with the model's own :class:`InputNorm` (the trainer hands
    images in [0, 1]). ``stages`` are the backbone's stages in order (the stem
    first), for freezing the first N of them.
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_features: int,
        n_outputs: int,
        head_dropout: float = 0.0,
        stages: tuple[nn.Module | list[nn.Module], ...] = (),
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_features = num_features
        self.head_dropout = Dropout(head_dropout) if head_dropout > 0 else nn.Identity()
        self.classifier: Classifier = nn.Linear(num_features, n_outputs)
        # each stage as the modules it consists of (plain lists: the modules are registered once, in the backbone)
        self._stages = [list(stage.modules()) if isinstance(stage, nn.Module) else list(stage) for stage in stages]
        self._frozen: list[nn.Module] = []
        self._frozen_as: str | int = "none"

    @property
    def n_stages(self) -> int:
        return len(self._stages)

    def freeze(self, what: Freeze) -> None:
        """Stop training part of the backbone: ``backbone`` (all of it), ``none``, or the first N stages
        (the stem counts as the first; ``N`` at most :attr:`n_stages`). Frozen parameters stop requiring
        gradients and frozen modules stay in eval mode (batch-norm statistics and dropout fixed) whatever
        mode the model is put in."""
        if what == "backbone":
            frozen = list(self.backbone.modules())
        elif what == "none" or what == 0:
            frozen = []
        elif isinstance(what, int) and not isinstance(what, bool) and 0 < what <= len(self._stages):
            frozen = [m for stage in self._stages[:what] for m in stage]
        else:
            raise ValueError(
                f"freeze: {what!r}, but this model has {len(self._stages)} stages (the stem first); "
                f"use none, backbone or a number of stages from 1 to {len(self._stages)}"
            )
        for module in self._frozen:
            for p in module.parameters(recurse=False):
                p.requires_grad_(True)
        self._frozen, self._frozen_as = frozen, ("none" if not frozen else what)
        for module in frozen:
            for p in module.parameters(recurse=False):
                p.requires_grad_(False)
        self.train(self.training)

    @property
    def frozen(self) -> str | int:
        """What :meth:`freeze` froze: ``none``, ``backbone`` or a number of stages."""
        return self._frozen_as

    def train(self, mode: bool = True) -> ImageClassifier:
        super().train(mode)
        for module in self._frozen:
            module.training = False
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters training updates: all but the frozen ones."""
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def n_outputs(self) -> int:
        return int(self.classifier.out_features)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head_dropout(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    @property
    def multi_head(self) -> bool:
        """Whether the classifier is a :class:`MultiHead` (trained through every head's logits)."""
        return isinstance(self.classifier, MultiHead)

    @property
    def n_heads(self) -> int:
        """How many heads score the features (1 unless the classifier is a :class:`MultiHead`)."""
        return self.classifier.n_heads if isinstance(self.classifier, MultiHead) else 1

    def forward_heads(self, features: torch.Tensor) -> torch.Tensor:
        """Every head's logits (B×K×C) of a multi-head model; :meth:`combine_heads` gives the model's."""
        if not isinstance(self.classifier, MultiHead):
            raise TypeError("forward_heads needs a multi-head classifier (MultiHead)")
        return self.classifier.forward_all(self.head_dropout(features))

    def combine_heads(self, head_logits: torch.Tensor) -> torch.Tensor:
        if not isinstance(self.classifier, MultiHead):
            raise TypeError("combine_heads needs a multi-head classifier (MultiHead)")
        return self.classifier.combined(head_logits)

    def get_classifier(self) -> Classifier:
        return self.classifier

    def set_classifier(self, classifier: Classifier) -> None:
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
        """The parameters a classifier-only stage trains (the classifier's that are not fixed)."""
        return [p for p in self.classifier.parameters() if p.requires_grad]

    def learn_class_scales(self) -> None:
        """Fix the classifier as trained and learn one scale per class on top of it (LWS)."""
        if isinstance(self.classifier, MultiHead):
            raise TypeError("lws needs a single classifier; this model has several heads")
        if not isinstance(self.classifier, ScaledClassifier):
            self.classifier = ScaledClassifier(self.classifier)

    def train_head_only(self) -> None:
        """Training mode for the head alone: the backbone in eval mode, so its batch-norm
        statistics and dropout stay fixed while the classifier trains."""
        self.train()
        self.backbone.eval()
