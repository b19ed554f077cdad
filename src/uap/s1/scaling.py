"""Scaling analysis (S1 Sec. 4, Fig. 5): ASR of t·δ over a range of t.

If a universal perturbation worked mainly by nudging robust features, amplifying it should
eventually fool a robust model too; the paper finds that the natural model reacts to t and the
robust one does not. t·δ is added to the image and clipped to [0,1] like any perturbation.
"""
from __future__ import annotations

import torch

from ..metrics import attack_success_outcomes, predict_perturbed


def scaled_stack(delta: torch.Tensor, scales: torch.Tensor | list[float]) -> torch.Tensor:
    """[S, *delta.shape]: t·δ for every t in `scales`."""
    t = torch.as_tensor(scales, dtype=delta.dtype)
    return t.view(-1, *([1] * delta.dim())) * delta[None]


def scaling_outcomes(model, x: torch.Tensor, labels: torch.Tensor, deltas: torch.Tensor, targets: torch.Tensor,
                     scales, *, device="cpu", precision="fp32", max_images: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (hit, counted) [T, S, N] of t·δ_i (deltas [T, C, H, W] toward targets [T]) for every t."""
    S = len(scales)
    T = deltas.shape[0]
    stack = scaled_stack(deltas, scales).transpose(0, 1)               # [T, S, C, H, W]
    pred = predict_perturbed(model, x, stack.flatten(0, 1), device=device, precision=precision,
                             max_images=max_images, desc="scaling")                    # [T*S, N]
    hit, keep = attack_success_outcomes(pred, targets.repeat_interleave(S)[:, None], labels)
    return hit.view(T, S, -1), keep.view(T, S, -1)


def scaling_asr(model, x: torch.Tensor, labels: torch.Tensor, deltas: torch.Tensor, targets: torch.Tensor,
                scales, **kw) -> torch.Tensor:
    """ASR [T, S] of t·δ_i (deltas [T, C, H, W] toward targets [T]) for every t, over every image
    whose label is not the target."""
    hit, keep = scaling_outcomes(model, x, labels, deltas, targets, scales, **kw)
    n = keep.sum(-1).float()
    return torch.where(n > 0, hit.sum(-1) / n.clamp_min(1), torch.full_like(n, float("nan")))
