"""Metrics, each defined once: accuracy, attack success rate."""
from __future__ import annotations

import torch

from .threats import apply_perturbation
from .utils import autocast


def as_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images → float [0,1]; float images pass through."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


@torch.no_grad()
def predict(model, x: torch.Tensor, *, batch_size: int = 1024, device="cpu", precision="fp32",
            delta: torch.Tensor | None = None) -> torch.Tensor:
    """Predicted classes of `x` (optionally of apply_perturbation(x, delta), delta broadcast or per image)."""
    device = torch.device(device)
    was = model.training
    model.eval()
    out = []
    for i in range(0, x.shape[0], batch_size):
        xb = as_float(x[i:i + batch_size].to(device))
        if delta is not None:
            d = delta if delta.dim() == 3 or delta.shape[0] == 1 else delta[i:i + batch_size]
            xb = apply_perturbation(xb, d.to(device))
        with autocast(device, precision):
            out.append(model(xb.contiguous(memory_format=torch.channels_last)).argmax(1).cpu())
    model.train(was)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def accuracy(pred: torch.Tensor, labels: torch.Tensor) -> float:
    return float((pred == labels).float().mean()) if len(labels) else float("nan")


def attack_success_rate(pred: torch.Tensor, target: torch.Tensor | int, labels: torch.Tensor | None = None) -> float:
    """Targeted ASR: fraction classified as the target. With `labels`, images whose true label is
    already the target are left out (they say nothing about the attack)."""
    target = torch.as_tensor(target).expand_as(pred)
    keep = torch.ones_like(pred, dtype=torch.bool) if labels is None else labels != target
    if keep.sum() == 0:
        return float("nan")
    return float((pred[keep] == target[keep]).float().mean())


def fooling_rate(clean_pred: torch.Tensor, adv_pred: torch.Tensor) -> float:
    """Untargeted fooling rate: fraction of images whose prediction changed, measured against the
    model's *clean predictions* (not the labels)."""
    clean_pred = torch.as_tensor(clean_pred)
    adv_pred = torch.as_tensor(adv_pred)
    if clean_pred.shape != adv_pred.shape:
        raise ValueError(f"clean_pred and adv_pred must have the same shape, got "
                         f"{tuple(clean_pred.shape)} and {tuple(adv_pred.shape)}")
    if clean_pred.numel() == 0:
        return float("nan")
    return float((clean_pred != adv_pred).float().mean())


def normalize_maps(m: torch.Tensor) -> torch.Tensor:
    """Per-image min–max scaling of attribution maps [B, H, W] to [0, 1] (constant maps → 0), so
    that maps of different interpreters and models are compared on one scale."""
    flat = m.detach().float().flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - lo) / (hi - lo).clamp_min(1e-12)).view_as(m)


def map_l1(clean_maps: torch.Tensor, adv_maps: torch.Tensor) -> torch.Tensor:
    """ℓ1 discrepancy of attribution maps (eq. 19 of 002_0c35d062ce311dce.txt), per image [B]:
    ‖I(x̂) − I(x)‖₁ of the min–max normalised maps, divided by the number of pixels (so 0…1)."""
    a, b = normalize_maps(clean_maps), normalize_maps(adv_maps)
    return (a - b).abs().flatten(1).mean(1)


def map_iou(clean_maps: torch.Tensor, adv_maps: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """IoU of binarised attribution maps (eq. 20), per image [B]: O(I) = normalised map ≥ threshold.
    Two empty masks count as IoU 1."""
    a = normalize_maps(clean_maps).flatten(1) >= threshold
    b = normalize_maps(adv_maps).flatten(1) >= threshold
    inter = (a & b).sum(1).float()
    union = (a | b).sum(1).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))
