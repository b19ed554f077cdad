"""Learning dynamics of universal PGD (S1 App. B.2.2, Fig. 9): accuracy on the base set (the fraction
classified as the target) after every epoch, over learning rates, batch sizes and base-set sizes K.

For each K the same base sets (one per target) are used at every lr and batch size, so curves
differ only in the optimiser's settings. A batch size ≥ K is full-batch (footnote 12: batch size
only matters below K); such points are computed once and reported with their effective batch size.
"""
from __future__ import annotations

import pandas as pd
import torch

from ..attacks import universal_pgd
from ..threats import Threat


def learning_dynamics(model, x: torch.Tensor, threat: Threat, *, lrs: list[float], batch_sizes: list[int],
                      Ks: list[int], targets: list[int], epochs: int, gen: torch.Generator, device="cpu",
                      precision: str = "fp32", max_images: int = 4096) -> pd.DataFrame:
    """x: training images [N, C, H, W] in [0,1]. One row per (K, lr, batch size, target, epoch)."""
    rows = []
    T = len(targets)
    tgt = torch.as_tensor(targets, dtype=torch.long)
    for K in Ks:
        if K > x.shape[0]:
            raise ValueError(f"K={K} exceeds the {x.shape[0]} available images")
        base_idx = torch.stack([torch.randperm(x.shape[0], generator=gen)[:K] for _ in range(T)])   # [T, K]
        base = x[base_idx]
        for bs in sorted({min(b, K) for b in batch_sizes}):
            for lr in lrs:
                res = universal_pgd(model, base, tgt, threat, lr=lr, epochs=epochs, batch_size=bs, generator=gen,
                                    device=device, precision=precision, max_images=max_images,
                                    desc=f"dynamics K={K} bs={bs} lr={lr:g}")
                for e in range(epochs):
                    for j, t in enumerate(targets):
                        rows.append({"K": K, "batch_size": bs, "lr": lr, "target": int(t), "epoch": e + 1,
                                     "base_acc": float(res.acc_curve[e, j]), "loss": float(res.loss_curve[e, j])})
    return pd.DataFrame(rows)
