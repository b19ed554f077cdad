"""Targeted universal perturbations by PGD on eq. (1) of S1 over a base set of K images."""
from __future__ import annotations

import torch

from ..threats import Threat
from .core import PGDResult, grouped_targeted_pgd


def universal_pgd(model, base: torch.Tensor, target: torch.Tensor | int, threat: Threat, *, lr: float,
                  epochs: int, batch_size: int, generator: torch.Generator | None = None, device="cpu",
                  precision="fp32", max_images: int = 4096, desc: str = "universal PGD") -> PGDResult:
    """One perturbation per base set.

    base: [K, C, H, W] (one base set) or [G, K, C, H, W] (G base sets optimised side by side);
    target: an int / [1] tensor for one base set, or [G] for G base sets.
    `lr` is the step size along the norm's steepest-descent direction (ℓ2: normalised gradient,
    ℓ∞: its sign); the perturbation is projected onto the ε-ball after every step.
    """
    if base.dim() == 4:
        base = base[None]
    target = torch.as_tensor(target, dtype=torch.long).reshape(-1)
    if target.numel() == 1 and base.shape[0] > 1:
        target = target.expand(base.shape[0]).clone()
    return grouped_targeted_pgd(model, base, target, threat, step_size=lr, epochs=epochs,
                                batch_size=batch_size, generator=generator, device=device,
                                precision=precision, max_images=max_images, desc=desc)
