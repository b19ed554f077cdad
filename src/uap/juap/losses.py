"""JUAP objectives (002_0c35d062ce311dce.txt, eqs. 7–9, 13, 16)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

CLASSIFIER_LOSSES = ("ce", "least_likely", "targeted")
_EPS = 1e-12


def classifier_loss(logits: torch.Tensor, kind: str, labels: torch.Tensor, *, reduce: bool = True) -> torch.Tensor:
    """L_fool-classifier. `labels` are C_x for "ce" (eq. 7: −log CE(f(x̂), C_x)), C_min = argmin f(x)
    for "least_likely" (eq. 8: log CE(f(x̂), C_min)), C_t for "targeted" (eq. 9: log CE(f(x̂), C_t)).
    The cross-entropy is the batch mean (reduce) or per image (the image-dependent variant)."""
    if kind not in CLASSIFIER_LOSSES:
        raise KeyError(f"unknown classifier loss {kind!r}; known: {CLASSIFIER_LOSSES}")
    ce = F.cross_entropy(logits, labels, reduction="mean" if reduce else "none").clamp_min(_EPS)
    return -torch.log(ce) if kind == "ce" else torch.log(ce)


def interpretation_shift(adv_maps: torch.Tensor, clean_maps: torch.Tensor, *, reduce: bool = True) -> torch.Tensor:
    """Eq. 13: ‖I(x̂) − I(x)‖₂ per image (batch mean when reduce)."""
    d = (adv_maps - clean_maps).flatten(1).norm(dim=1)
    return d.mean() if reduce else d


def joint_loss(l_cls: torch.Tensor, l_int: torch.Tensor | float, delta: float, lam: float) -> torch.Tensor:
    """Eq. 16: max{L_cls, δ} + λ·L_int. Once the classifier loss falls below δ its term is the
    constant δ (no gradient) and only the interpretation term is optimised."""
    return torch.clamp(l_cls, min=delta) + lam * l_int
