"""Helpers shared by the activation-based interpreters (CAM, Grad-CAM)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def upsample(maps: torch.Tensor, size) -> torch.Tensor:
    """[B, h, w] → [B, H, W], bilinear (the maps are shown over the input image)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]


def check_head(model) -> None:
    if not (hasattr(model, "feature_maps") and hasattr(model, "logits_from_maps")):
        raise TypeError(f"{type(model).__name__} has no feature_maps/logits_from_maps: CAM and Grad-CAM need a "
                        "model of the registry (global-average-pool + linear head, wrapped in Normalized)")
