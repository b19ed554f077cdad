"""Per-image attacks on an interpretation (the baselines of S2's Table 1, after Ghorbani et al.):
maximise D(x, x + δ) = ‖I(x) − I(x + δ)‖₂² for each image separately over ‖δ‖₂ ≤ ε.

PGD: a random Gaussian start z (σ from noise_ratio; D has zero gradient at δ = 0), then `steps`
steps of step_ratio·ε along each image's normalised gradient, projected onto the ε-ball and the
pixel box after every step. FGM is one step of size ε from z (steps=1, step_ratio=1).
Images are processed in chunks of `batch_size`, all images of a chunk at once.
"""
from __future__ import annotations

import torch

from ..utils import progress
from .interp_common import MapDistance, flat_norm, noise_sigma, project_l2


def interpretation_pgd(model, x: torch.Tensor, target: torch.Tensor, *, interpreter: str, eps: float, steps: int,
                       step_ratio: float, noise_ratio: float, batch_size: int = 256,
                       interp_options: dict | None = None, softplus_beta: float | None = None,
                       generator: torch.Generator | None = None, device="cpu", desc: str = "per-image PGD") -> torch.Tensor:
    """Returns one perturbation per image, [N, C, H, W] on the CPU."""
    if steps < 1 or step_ratio <= 0 or eps <= 0:
        raise ValueError(f"steps >= 1, step_ratio > 0 and eps > 0 required (got {steps}, {step_ratio}, {eps})")
    device = torch.device(device)
    dist = MapDistance(model, interpreter, interp_options, softplus_beta)
    sigma = noise_sigma(eps, noise_ratio, x[0].numel())
    out = []
    bar = progress(total=-(-x.shape[0] // batch_size) * steps, desc=desc, unit="step")
    for i in range(0, x.shape[0], batch_size):
        xb, tb = x[i:i + batch_size].to(device), target[i:i + batch_size].to(device)
        ref = dist.reference(xb, tb)
        pert = (sigma * torch.randn(xb.shape, generator=generator)).to(device)
        for _ in range(steps):
            g, _ = dist.per_image_grad(xb, tb, ref, pert)
            pert = project_l2(pert + step_ratio * eps * g / flat_norm(g), eps)
            pert = (xb + pert).clamp(0.0, 1.0) - xb
            bar.update(1)
        out.append(pert.detach().cpu())
    bar.close()
    return torch.cat(out)


def interpretation_fgm(model, x, target, *, interpreter: str, eps: float, noise_ratio: float, **kw) -> torch.Tensor:
    """Fast gradient method on the interpretation: one step of size ε."""
    return interpretation_pgd(model, x, target, interpreter=interpreter, eps=eps, steps=1, step_ratio=1.0,
                              noise_ratio=noise_ratio, desc=kw.pop("desc", "per-image FGM"), **kw)
