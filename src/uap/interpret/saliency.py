"""Simple gradient I_SG (S2 = 000_0f31663abaa95f9e.txt, eq. 1).

I_SG(x) = ∇_x S_c(x) / ‖∇_x S_c(x)‖₁, with S_c the logit of class `target` and the ℓ1 norm taken
over the whole input (all channels and pixels), as eq. 1 defines it. The map returned is that
signed, ℓ1-normalised gradient *summed over channels* (for one-channel data, e.g. MNIST, it is the
gradient itself); `channels="abs_sum"` sums absolute values instead (the usual display of a
saliency map for colour images).
"""
from __future__ import annotations

import torch

from . import register


def reduce_channels(attr: torch.Tensor, channels: str) -> torch.Tensor:
    """[B, C, H, W] → [B, H, W]: 'sum' (signed) or 'abs_sum'."""
    if channels == "sum":
        return attr.sum(1)
    if channels == "abs_sum":
        return attr.abs().sum(1)
    raise ValueError(f"channels must be 'sum' or 'abs_sum', got {channels!r}")


def l1_normalize(attr: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Divide each item of a batch by its ℓ1 norm over all remaining dimensions."""
    return attr / attr.flatten(1).abs().sum(1).clamp_min(eps).view(-1, *([1] * (attr.dim() - 1)))


def class_score_gradient(model, x: torch.Tensor, target: torch.Tensor, *, create_graph: bool) -> torch.Tensor:
    """∇_x S_target(x) for a batch; differentiable in x when create_graph (x need not require grad)."""
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    logits = model(x)
    score = logits.gather(1, target.view(-1, 1).to(logits.device)).sum()
    (grad,) = torch.autograd.grad(score, x, create_graph=create_graph)
    return grad


@register("sg")
def simple_gradient(model, x: torch.Tensor, target: torch.Tensor, *, create_graph: bool = False,
                    normalize: bool = True, channels: str = "sum") -> torch.Tensor:
    """I_SG of eq. 1 for a batch x [B, C, H, W] in [0,1] pixels → [B, H, W]."""
    grad = class_score_gradient(model, x, target, create_graph=create_graph)
    return reduce_channels(l1_normalize(grad) if normalize else grad, channels)
