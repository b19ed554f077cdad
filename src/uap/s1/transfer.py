"""Transferability (S1 Sec. 5.2, Fig. 6) of per-example vs universal perturbations.

A perturbed image counts only when the attack worked on the source model (the source predicts the
target) and its true label differs from the target; the transfer rate is the fraction of those
images that the other model also classifies as the target.
"""
from __future__ import annotations

import torch


def transfer_outcomes(source_pred: torch.Tensor, target_pred: torch.Tensor, target: torch.Tensor | int,
                      labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (transferred, counted), bool like the predictions: the outcomes behind `transfer_rate`."""
    target = torch.as_tensor(target).expand_as(source_pred)
    keep = (source_pred == target) & (labels.expand_as(source_pred) != target)
    return keep & (target_pred == target), keep


def transfer_rate(source_pred: torch.Tensor, target_pred: torch.Tensor, target: torch.Tensor | int,
                  labels: torch.Tensor) -> tuple[float, int]:
    """(rate, number of counted images). Predictions are [N] (per-example) or [T, N] (one row per
    universal perturbation, `target` [T, 1]); labels [N]."""
    target = torch.as_tensor(target).expand_as(source_pred)
    keep = (source_pred == target) & (labels.expand_as(source_pred) != target)
    n = int(keep.sum())
    if n == 0:
        return float("nan"), 0
    return float((target_pred[keep] == target[keep]).float().mean()), n
