"""Diversity of universal perturbations (S1 App. F, Fig. 17/18).

Several perturbations for the same target and base set are optimised side by side from different
random starts in the ε-ball. With `ortho_weight` > 0 a penalty pushes their effects on the
representation apart: for every base image x, the changes of the penultimate representation
Δφ_p = φ(x + δ_p) − φ(x) of different perturbations p ≠ q should be orthogonal; the penalty is the
mean squared cosine between them. (The paper regularises "perturbed representations at different
layers"; we use the penultimate layer, the one whose features the rest of S1 probes.)
Similarity is measured both in input space (cosine of δ_p, δ_q) and in representation space
(cosine of the mean Δφ over test images), since footnote 14 doubts that input-space inner
products measure similarity of signal.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..metrics import as_float
from ..threats import Threat, apply_perturbation
from ..utils import progress


def _head(model):
    net = getattr(model, "net", model)
    if not hasattr(net, "linear"):
        raise ValueError(f"{type(net).__name__} has no linear head `linear` after its penultimate features")
    return net.linear


def orthogonality_penalty(d: torch.Tensor) -> torch.Tensor:
    """d: [P, B, D] representation changes of P perturbations on B images → mean over images and pairs
    p ≠ q of cos²(d_p, d_q) (0: mutually orthogonal, 1: parallel)."""
    P = d.shape[0]
    if P < 2:
        return d.new_zeros(())
    u = F.normalize(d, dim=2, eps=1e-8).transpose(0, 1)        # [B, P, D]
    cos = u @ u.transpose(1, 2)                                # [B, P, P]
    off = ~torch.eye(P, dtype=torch.bool, device=d.device)
    return cos[:, off].pow(2).mean()


def diverse_universal(model, base: torch.Tensor, target: int, threat: Threat, *, n: int, lr: float, epochs: int,
                      batch_size: int, ortho_weight: float, gen: torch.Generator, device="cpu",
                      desc: str = "diverse universal PGD") -> dict:
    """`n` universal perturbations towards `target` over one base set [K, C, H, W], random starts.

    Loss: the sum over perturbations of the mean targeted cross-entropy (eq. 1 of S1), plus
    ortho_weight · orthogonality_penalty of their representation changes. Steps follow the norm's
    steepest-descent direction per perturbation, then project onto the ε-ball."""
    device = torch.device(device)
    base = as_float(base)
    K = base.shape[0]
    b = min(batch_size, K)
    head = _head(model)
    was = model.training
    model.eval()
    delta = threat.project(threat.random((n, *base.shape[1:]), generator=gen)).to(device)
    curve = []
    bar = progress(total=epochs, desc=desc, unit="epoch")
    try:
        for _ in range(epochs):
            perm = torch.randperm(K, generator=gen)
            tot_ce, tot_pen = 0.0, 0.0
            for i in range(0, K, b):
                xb = base[perm[i:i + b]].to(device)
                delta.requires_grad_(True)
                inp = apply_perturbation(xb[None], delta[:, None]).flatten(0, 1)        # [n·b, C, H, W]
                feats = model.features(inp.contiguous(memory_format=torch.channels_last))
                logits = head(feats)
                tgt = torch.full((logits.shape[0],), int(target), device=device)
                ce = F.cross_entropy(logits, tgt, reduction="none").view(n, -1).mean(1).sum()
                loss = ce
                if ortho_weight > 0:
                    with torch.no_grad():
                        clean = model.features(xb.contiguous(memory_format=torch.channels_last))
                    change = feats.view(n, xb.shape[0], -1) - clean[None]
                    pen = orthogonality_penalty(change)
                    loss = ce + ortho_weight * pen
                    tot_pen += float(pen.detach())
                (grad,) = torch.autograd.grad(loss, delta)
                with torch.no_grad():
                    delta = threat.project(delta.detach() - lr * threat.direction(grad))
                tot_ce += float(ce.detach()) / n
            curve.append({"ce": tot_ce / -(-K // b), "penalty": tot_pen / -(-K // b)})
            bar.update(1)
    finally:
        bar.close()
        model.train(was)
    return {"delta": delta.detach().cpu(), "curve": curve}


def cosine_matrix(v: torch.Tensor) -> torch.Tensor:
    """[P, ...] → [P, P] cosine similarity of the flattened vectors."""
    u = F.normalize(v.flatten(1).float(), dim=1, eps=1e-12)
    return u @ u.T


@torch.no_grad()
def representation_changes(model, deltas: torch.Tensor, x: torch.Tensor, device="cpu") -> torch.Tensor:
    """Mean over images of φ(x + δ_p) − φ(x), one row per perturbation: [P, D]."""
    device = torch.device(device)
    xs = as_float(x).to(device).contiguous(memory_format=torch.channels_last)
    clean = model.features(xs)
    return torch.stack([(model.features(apply_perturbation(xs, d.to(device))) - clean).mean(0).cpu()
                        for d in deltas])


def subclass_targets(y: torch.Tensor, y_fine: torch.Tensor, coarse: int) -> list[int]:
    """The fine labels that occur inside coarse class `coarse` (App. F: one target per sub-class)."""
    return sorted(int(v) for v in torch.unique(y_fine[y == coarse]))
