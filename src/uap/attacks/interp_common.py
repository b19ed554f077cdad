"""What the interpretation attacks of S2 share: the squared map distance they ascend, per-image
gradients of it, the ℓ2 ball, and the choice of sign of a universal direction.

D(x, x′) = ‖I(x) − I(x′)‖₂² (Algorithms 1 and 2 of 000_0f31663abaa95f9e.txt), with I explaining the
class `target` (the model's clean prediction c) at both points. Gradients are taken on
`smooth_copy(model, β)` (see uap.models.smooth); all perturbations live in [0,1] pixel space and
are added with `apply_perturbation` (add, then clip to the pixel box).
"""
from __future__ import annotations

from functools import partial
from typing import Callable

import torch

from ..interpret import get_interpreter
from ..models.smooth import smooth_copy
from ..threats import apply_perturbation


def flat_norm(x: torch.Tensor) -> torch.Tensor:
    """ℓ2 norm of each item of a batch, shaped to broadcast against it."""
    return x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))


def project_l2(delta: torch.Tensor, eps: float) -> torch.Tensor:
    """δ / max{1, ‖δ‖/ε}, per item."""
    return delta * torch.clamp(eps / flat_norm(delta), max=1.0)


def noise_sigma(eps: float, noise_ratio: float, dim: int) -> float:
    """σ of Z ~ N(0, σ²I) such that E‖Z‖₂ ≈ noise_ratio·ε (σ ≪ ε, as the paper asks)."""
    return float(noise_ratio) * float(eps) / dim ** 0.5


class MapDistance:
    """Squared distance between the maps of x and of x + perturbation, differentiable in the
    perturbation. Reference maps I(x) are computed once per batch, without a graph."""

    def __init__(self, model, interpreter: str, options: dict | None = None, softplus_beta: float | None = None):
        self.model = model
        self.smooth = smooth_copy(model, softplus_beta)
        self.interp: Callable = partial(get_interpreter(interpreter), **(options or {}))

    def reference(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.interp(self.smooth, x, target).detach()

    def __call__(self, x, target, ref, pert) -> torch.Tensor:
        """Per-image D [B]; `pert` is [B, C, H, W] or broadcastable [1, C, H, W]."""
        m = self.interp(self.smooth, apply_perturbation(x, pert), target, create_graph=True)
        return (m - ref).flatten(1).pow(2).sum(1)

    def per_image_grad(self, x, target, ref, pert) -> tuple[torch.Tensor, torch.Tensor]:
        """(∇ of D_i with respect to image i's own copy of `pert` [B, C, H, W], D [B])."""
        p = pert.detach().expand_as(x).clone().requires_grad_(True)
        d = self(x, target, ref, p)
        (g,) = torch.autograd.grad(d.sum(), p)
        return g, d.detach()


@torch.no_grad()
def _eval_maps(model, interp, x, target):
    with torch.enable_grad():
        return interp(model, x, target).detach()


def pick_sign(model, dist: MapDistance, x: torch.Tensor, target: torch.Tensor, delta: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Keep +δ or −δ, whichever changes the maps of the *original* model more on x (mean D)."""
    ref = _eval_maps(model, dist.interp, x, target)
    score = {}
    for s in (1.0, -1.0):
        m = _eval_maps(model, dist.interp, apply_perturbation(x, s * delta), target)
        score[s] = float((m - ref).flatten(1).pow(2).sum(1).mean())
    best = max(score, key=score.get)
    return best * delta, {"sign": best, "d_plus": score[1.0], "d_minus": score[-1.0]}
