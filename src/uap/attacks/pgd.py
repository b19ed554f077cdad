"""Per-example targeted PGD (S1 App. B.2.2): `steps` steps of size `step_ratio`·ε, no restarts."""
from __future__ import annotations

import torch

from ..threats import Threat
from .core import PGDResult, grouped_targeted_pgd


def targeted_pgd(model, x: torch.Tensor, target: torch.Tensor, threat: Threat, *, steps: int = 10,
                 step_ratio: float = 1 / 3, device="cpu", precision="fp32", max_images: int = 4096,
                 desc: str = "per-example PGD") -> PGDResult:
    """x: [N, C, H, W]; target: [N]. Returns one perturbation per image (delta: [N, C, H, W])."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not 0 < step_ratio:
        raise ValueError(f"step_ratio must be > 0, got {step_ratio}")
    return grouped_targeted_pgd(model, x[:, None], target, threat, step_size=step_ratio * threat.eps,
                                epochs=steps, batch_size=1, max_images=max_images, device=device,
                                precision=precision, desc=desc)
