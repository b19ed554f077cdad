"""Locality (S1 Sec. 3.1, Fig. 3/14/15): random square patches of a perturbation evaluated alone.

A patch keeps the perturbation inside a box and zeros it elsewhere. For ℓ2 the patches of one
perturbation differ widely in norm, so each is rescaled to the norm of the largest of them (the
paper's correction); ℓ∞ patches are left as they are.
"""
from __future__ import annotations

import torch

from ..metrics import attack_success_outcomes, attack_success_rates, predict_perturbed


def random_boxes(n: int, size: int, height: int, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """[n, 2] (top, left) corners of n random size×size boxes that lie inside the image."""
    if not 0 < size <= min(height, width):
        raise ValueError(f"patch size must be in [1, {min(height, width)}], got {size}")
    top = torch.randint(0, height - size + 1, (n,), generator=generator)
    left = torch.randint(0, width - size + 1, (n,), generator=generator)
    return torch.stack([top, left], dim=1)


def box_masks(boxes: torch.Tensor, size: int, height: int, width: int) -> torch.Tensor:
    """[n, 1, H, W] float masks, 1 inside each box."""
    rows = torch.arange(height)
    cols = torch.arange(width)
    top, left = boxes[:, 0, None], boxes[:, 1, None]
    in_r = (rows[None] >= top) & (rows[None] < top + size)          # [n, H]
    in_c = (cols[None] >= left) & (cols[None] < left + size)        # [n, W]
    return (in_r[:, :, None] & in_c[:, None, :]).float()[:, None]


def isolate_patches(delta: torch.Tensor, masks: torch.Tensor, *, rescale: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Patches of `delta` ([..., C, H, W]: one perturbation, one per image or one per target) under
    `masks`: [P, 1, H, W] (the same P boxes for every perturbation) or [P, ..., 1, H, W] (boxes per
    perturbation). Returns (patches [P, ..., C, H, W], ℓ2 norm of each patch before any rescaling
    [P, ...]). With `rescale`, every patch is scaled to the largest of the P patch norms of the same
    perturbation (a patch of norm 0 stays 0)."""
    while masks.dim() < delta.dim() + 1:
        masks = masks.unsqueeze(1)
    patches = masks * delta[None]
    norms = patches.flatten(-3).norm(dim=-1)                          # [P, ...]
    if rescale:
        top = norms.amax(dim=0, keepdim=True)
        factor = torch.where(norms > 0, top / norms.clamp_min(1e-12), torch.zeros_like(norms))
        patches = patches * factor[..., None, None, None]
    return patches, norms


def universal_patch_asr(model, x: torch.Tensor, labels: torch.Tensor, deltas: torch.Tensor, targets: torch.Tensor,
                        boxes: torch.Tensor, size: int, *, rescale: bool, device="cpu", precision="fp32",
                        max_images: int = 4096) -> dict:
    """Every patch of every universal perturbation evaluated alone on all images.

    deltas: [T, C, H, W], one per target in `targets` [T]; boxes: [T, P, 2] (P boxes per target).
    Returns asr [T, P] (images whose label is the target are left out), norm [T, P] (ℓ2 norm of the
    patch before rescaling), patches [T, P, C, H, W] (as evaluated) and the per-image outcomes hit,
    counted [T, P, N] (bool)."""
    T, P = boxes.shape[:2]
    H, W = deltas.shape[-2:]
    masks = box_masks(boxes.flatten(0, 1), size, H, W).view(T, P, 1, H, W)
    patches, norms = isolate_patches(deltas, masks.transpose(0, 1), rescale=rescale)   # [P, T, ...]
    patches, norms = patches.transpose(0, 1), norms.transpose(0, 1)                     # [T, P, ...]
    pred = predict_perturbed(model, x, patches.flatten(0, 1), device=device, precision=precision,
                             max_images=max_images, desc="locality (universal)")          # [T*P, N]
    target = targets.repeat_interleave(P)[:, None]
    asr = attack_success_rates(pred, target, labels).view(T, P)
    hit, keep = attack_success_outcomes(pred, target, labels)
    return {"asr": asr, "norm": norms, "patches": patches, "hit": hit.view(T, P, -1), "counted": keep.view(T, P, -1)}


def per_example_patch_asr(model, x: torch.Tensor, labels: torch.Tensor, deltas: torch.Tensor, targets: torch.Tensor,
                          boxes: torch.Tensor, size: int, *, rescale: bool, device="cpu", precision="fp32",
                          max_images: int = 4096) -> dict:
    """The same P boxes cut from each image's own perturbation, each evaluated on its own image.

    deltas: [N, C, H, W], targets: [N]; boxes: [P, 2]. Returns asr [P] (over the images whose label
    is not their target) and norm [P, N] (patch norms before rescaling)."""
    H, W = deltas.shape[-2:]
    patches, norms = isolate_patches(deltas, box_masks(boxes, size, H, W), rescale=rescale)   # [P, N, ...]
    pred = predict_perturbed(model, x, patches, device=device, precision=precision, max_images=max_images,
                             desc="locality (per-example)")                                   # [P, N]
    return {"asr": attack_success_rates(pred, targets, labels), "norm": norms}
