"""S1 App. C visualisation rule for perturbations."""
from __future__ import annotations

import torch


def visualize(delta: torch.Tensor) -> torch.Tensor:
    """delta: [..., C, H, W]. Per perturbation: σ = std over all channels and pixels; each channel is
    clipped to [-3σ, 3σ], then shifted and rescaled to [0, 1]."""
    flat = delta.flatten(-3)
    sigma = flat.std(dim=-1, unbiased=False).clamp_min(1e-12)[..., None, None, None]
    clipped = torch.maximum(torch.minimum(delta, 3 * sigma), -3 * sigma)
    lo = clipped.amin(dim=(-2, -1), keepdim=True)
    hi = clipped.amax(dim=(-2, -1), keepdim=True)
    return (clipped - lo) / (hi - lo).clamp_min(1e-12)
