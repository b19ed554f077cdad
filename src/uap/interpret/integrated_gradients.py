"""Integrated gradients I_IG (S2 = 000_0f31663abaa95f9e.txt, eq. 2).

I_IG^unnorm(x) = (x − x⁰)/M · Σ_{k=1..M} ∇_x S_c(x⁰ + k/M · (x − x⁰)) — the right Riemann sum over
M points of the straight path from the reference x⁰ to x — then ℓ1-normalised over the whole
input and, like I_SG, summed over channels (see `saliency`). All M·B path points go through the
model in one batch (chunked by `max_batch`), so the map is differentiable in x when
create_graph=True: the path points depend on x, and so does the factor (x − x⁰).
"""
from __future__ import annotations

import torch

from . import register
from .saliency import class_score_gradient, l1_normalize, reduce_channels


def reference_like(x: torch.Tensor, reference: str | float | torch.Tensor) -> torch.Tensor:
    """x⁰: 'zeros' (black image, the default), 'mean' (each image's mean value), a constant or a tensor."""
    if isinstance(reference, torch.Tensor):
        return reference.to(x.device, x.dtype).expand_as(x)
    if reference == "zeros":
        return torch.zeros_like(x)
    if reference == "mean":
        return x.mean(dim=(1, 2, 3), keepdim=True).expand_as(x)
    if isinstance(reference, (int, float)):
        return torch.full_like(x, float(reference))
    raise ValueError(f"reference must be 'zeros', 'mean', a number or a tensor, got {reference!r}")


def integrated_gradients_attr(model, x: torch.Tensor, target: torch.Tensor, *, steps: int = 16,
                              reference: str | float | torch.Tensor = "zeros", create_graph: bool = False,
                              max_batch: int = 4096) -> torch.Tensor:
    """Unnormalised IG attribution [B, C, H, W] (eq. 2 before the ℓ1 normalisation)."""
    if steps < 1:
        raise ValueError(f"steps (M) must be >= 1, got {steps}")
    x0 = reference_like(x, reference)
    dx = x - x0
    alphas = torch.arange(1, steps + 1, device=x.device, dtype=x.dtype) / steps          # k/M, k = 1..M
    path = x0[None] + alphas.view(-1, 1, 1, 1, 1) * dx[None]                            # [M, B, C, H, W]
    tgt = target.to(x.device).expand(steps, -1).reshape(-1)
    flat = path.flatten(0, 1)
    if not create_graph:
        flat = flat.detach()
    chunk = max(1, max_batch)
    grads = [class_score_gradient(model, flat[i:i + chunk], tgt[i:i + chunk], create_graph=create_graph)
             for i in range(0, flat.shape[0], chunk)]
    grad = torch.cat(grads).view(steps, *x.shape)
    return dx * grad.mean(0)


@register("ig")
def integrated_gradients(model, x: torch.Tensor, target: torch.Tensor, *, create_graph: bool = False,
                         steps: int = 16, reference: str | float | torch.Tensor = "zeros", normalize: bool = True,
                         channels: str = "sum", max_batch: int = 4096) -> torch.Tensor:
    """I_IG of eq. 2 for a batch x [B, C, H, W] in [0,1] pixels → [B, H, W]."""
    attr = integrated_gradients_attr(model, x, target, steps=steps, reference=reference,
                                     create_graph=create_graph, max_batch=max_batch)
    return reduce_channels(l1_normalize(attr) if normalize else attr, channels)
