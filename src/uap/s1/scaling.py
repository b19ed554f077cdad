"""Scaling analysis (S1 Sec. 4, Fig. 5): ASR of t·δ over a range of t.

If a universal perturbation worked mainly by nudging robust features, amplifying it should
eventually fool a robust model too; the paper finds that the natural model reacts to t and the
robust one does not. t·δ is added to the image and clipped to [0,1] like any perturbation.
"""
from __future__ import annotations

import torch

from ..metrics import attack_success_rates, predict_perturbed


def scaled_stack(delta: torch.Tensor, scales: torch.Tensor | list[float]) -> torch.Tensor:
    """[S, *delta.shape]: t·δ for every t in `scales`."""
    t = torch.as_tensor(scales, dtype=delta.dtype)
    return t.view(-1, *([1] * delta.dim())) * delta[None]


def scaling_asr(model, x: torch.Tensor, labels: torch.Tensor, deltas: torch.Tensor, targets: torch.Tensor,
                scales, *, device="cpu", precision="fp32", max_images: int = 4096) -> torch.Tensor:
    """ASR [T, S] of t·δ_i (deltas [T, C, H, W] toward targets [T]) for every t, over every image
    whose label is not the target."""
    S = len(scales)
    T = deltas.shape[0]
    stack = scaled_stack(deltas, scales).transpose(0, 1)               # [T, S, C, H, W]
    pred = predict_perturbed(model, x, stack.flatten(0, 1), device=device, precision=precision,
                             max_images=max_images, desc="scaling")                    # [T*S, N]
    return attack_success_rates(pred, targets.repeat_interleave(S)[:, None], labels).view(T, S)
