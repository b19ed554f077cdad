"""Metrics, each defined once: accuracy, attack success rate, fooling rate, and S2's interpretation
dissimilarity and cross-correlation of perturbations."""
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


def interpretation_dissimilarity(ref: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Normalised dissimilarity of eq. 9 of S2 (000_0f31663abaa95f9e.txt), per image:
    ‖I(x) − I(x′)‖₂ / ‖I(x)‖₂ over each map (the first dimension is the batch). The table value is
    the mean over the test images."""
    if ref.shape != new.shape:
        raise ValueError(f"maps must have the same shape, got {tuple(ref.shape)} and {tuple(new.shape)}")
    num = (ref - new).flatten(1).norm(dim=1)
    return num / ref.flatten(1).norm(dim=1).clamp_min(1e-12)


def cross_correlation(vectors: torch.Tensor) -> torch.Tensor:
    """|cosine similarity| between every pair of perturbations [n, ...] → [n, n] (S2 Fig. 3–5).
    The absolute value: a perturbation and its negative are the same direction (UPI-PCA's sign is
    chosen afterwards)."""
    v = vectors.flatten(1).double()
    v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (v @ v.T).abs().float()


@torch.no_grad()
def predict_perturbed(model, x: torch.Tensor, deltas: torch.Tensor, *, max_images: int = 4096, device="cpu",
                      precision="fp32", desc: str | None = None) -> torch.Tensor:
    """Predictions for many perturbations at once: [M, N] classes.

    x: [N, C, H, W] images (uint8 or float in [0,1]). deltas: [M, C, H, W] — each perturbation is
    applied to every image (universal) — or [M, N, C, H, W] — perturbation m of image n is applied
    to image n only (per-example). The M×N (perturbation, image) pairs are evaluated as flat tensor
    batches of at most `max_images` images."""
    from .utils import progress
    device = torch.device(device)
    N = x.shape[0]
    per_image = deltas.dim() == x.dim() + 1
    if per_image and deltas.shape[1] != N:
        raise ValueError(f"per-image deltas must be [M, {N}, ...], got {tuple(deltas.shape)}")
    M = deltas.shape[0]
    total = M * N
    xd = x.to(device)
    dd = deltas.to(device)
    was = model.training
    model.eval()
    out = torch.empty(total, dtype=torch.long)
    bar = progress(total=total, desc=desc, unit="img", **({} if desc else {"disable": True}))
    try:
        for i in range(0, total, max_images):
            flat = torch.arange(i, min(i + max_images, total), device=device)
            m, n = flat // N, flat % N
            d = dd[m, n] if per_image else dd[m]
            xb = apply_perturbation(as_float(xd[n]), d)
            with autocast(device, precision):
                out[i:i + len(flat)] = model(xb.contiguous(memory_format=torch.channels_last)).argmax(1).cpu()
            bar.update(len(flat))
    finally:
        bar.close()
        model.train(was)
    return out.view(M, N)


def attack_success_outcomes(pred: torch.Tensor, target: torch.Tensor | int,
                            labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image outcomes behind `attack_success_rates`: (hit, counted), both bool like `pred`. An
    image counts unless its true label is already the target; a hit is a counted image classified as
    the target. The rate is hit.sum() / counted.sum() — kept per image so it can be bootstrapped."""
    target = torch.as_tensor(target).expand_as(pred)
    keep = torch.ones_like(pred, dtype=torch.bool) if labels is None else labels.expand_as(pred) != target
    return (pred == target) & keep, keep


def attack_success_rates(pred: torch.Tensor, target: torch.Tensor | int, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Row-wise `attack_success_rate` of a [M, N] prediction matrix: [M] rates (nan for an empty row).

    `target` broadcasts against [M, N] (an int, [M, 1] per perturbation or [N] per image); with
    `labels` ([N]), images whose true label is the row's target are left out, as in the scalar form."""
    hit, keep = attack_success_outcomes(pred, target, labels)
    hits = hit.sum(1).float()
    n = keep.sum(1).float()
    return torch.where(n > 0, hits / n.clamp_min(1), torch.full_like(n, float("nan")))


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
