"""Grouped targeted PGD: one perturbation per *group* of images, all groups optimised at once.

This single batched routine is both attacks of S1:
- per-example targeted PGD is the case of groups of one image (`attacks.pgd`);
- a universal perturbation over a base set of K images is one group of K (`attacks.universal`),
  and D_univ's "one universal perturbation per batch" is many groups optimised side by side.
The loss of each group is the mean cross-entropy towards its target over its images (eq. 1 of S1);
summing the group losses keeps the gradients of different groups separate.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..threats import Threat, apply_perturbation
from ..utils import autocast, progress


def box_active_set(grad: torch.Tensor, x_adv: torch.Tensor, ascent: bool = False) -> torch.Tensor:
    """Zero the gradient where the step along it (descent: −grad, ascent: +grad) would push a pixel
    of x_adv that is already at 0 or 1 out of [0,1].

    Without this, the normalised ℓ2 direction spends much of its length on pixels that are then
    clipped back (e.g. the black background of Fashion-MNIST), and the step is shorter than asked."""
    up = grad > 0 if ascent else grad < 0
    blocked = ((x_adv <= 0.0) & ~up & (grad != 0)) | ((x_adv >= 1.0) & up)
    return grad.masked_fill(blocked, 0.0)


@dataclass
class PGDResult:
    delta: torch.Tensor            # [G, C, H, W] on the CPU
    success: torch.Tensor          # [G, K] bool: base image classified as its group's target at the end
    loss_curve: torch.Tensor       # [epochs, G] mean loss per epoch (before each step)
    acc_curve: torch.Tensor        # [epochs, G] fraction of the base set at the target, per epoch
    info: dict = field(default_factory=dict)

    @property
    def asr(self) -> float:
        return float(self.success.float().mean())


def grouped_targeted_pgd(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    threat: Threat,
    *,
    step_size: float,
    epochs: int,
    batch_size: int | None = None,
    max_images: int = 4096,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    desc: str = "pgd",
) -> PGDResult:
    """Minimise the mean targeted cross-entropy of each group over its own perturbation.

    x: [G, K, C, H, W] images in [0,1] (K images per group); target: [G] target class per group.
    Each epoch visits every image of each group once, in minibatches of `batch_size` per group
    (one step per minibatch). Groups are processed in chunks of at most `max_images` images.
    After each step the perturbation is projected onto the ε-ball; with one image per group it is
    also projected onto the pixel box (x + δ ∈ [0,1]), which a shared perturbation cannot be.
    The input tensor is never modified.
    """
    if x.dim() != 5:
        raise ValueError(f"x must be [groups, K, C, H, W], got shape {tuple(x.shape)}")
    G, K = x.shape[:2]
    if G == 0 or K == 0:
        raise ValueError(f"nothing to attack: {G} groups of {K} images")
    if target.shape != (G,):
        raise ValueError(f"target must have shape ({G},), got {tuple(target.shape)}")
    if epochs < 1 or step_size <= 0:
        raise ValueError(f"epochs must be >= 1 and step_size > 0 (got {epochs}, {step_size})")
    device = torch.device(device)
    b = K if not batch_size else min(int(batch_size), K)
    steps_per_epoch = -(-K // b)
    groups_per_chunk = max(1, max_images // b)
    was_training = model.training
    model.eval()
    deltas, successes, losses, accs = [], [], [], []
    bar = progress(total=G * epochs * steps_per_epoch, desc=desc, unit="grp-step")
    try:
        for g0 in range(0, G, groups_per_chunk):
            xs = x[g0:g0 + groups_per_chunk].to(device, non_blocking=True)
            ts = target[g0:g0 + groups_per_chunk].to(device)
            n = xs.shape[0]
            delta = torch.zeros((n, *x.shape[2:]), device=device)
            loss_c = torch.zeros(epochs, n)
            acc_c = torch.zeros(epochs, n)
            rows = torch.arange(n, device=device)[:, None]
            for ep in range(epochs):
                if steps_per_epoch > 1:
                    perm = torch.rand(n, K, generator=generator).argsort(dim=1).to(device)
                else:
                    perm = torch.arange(K, device=device).expand(n, K)
                ep_loss = torch.zeros(n, device=device)
                ep_hit = torch.zeros(n, device=device)
                for s in range(steps_per_epoch):
                    idx = perm[:, s * b:(s + 1) * b]
                    xb = xs[rows, idx]                                   # [n, b', C, H, W]
                    delta.requires_grad_(True)
                    if K == 1:  # x + δ stays in the box (below), so no clamp: its gradient is 0 at 0 and 1,
                        inp = (xb + delta[:, None]).flatten(0, 1)   # which would freeze every black pixel
                    else:  # shared δ: the clamp's zero gradient at the bounds helps (measured: higher ASR)
                        inp = apply_perturbation(xb, delta[:, None]).flatten(0, 1)
                    with autocast(device, precision):
                        logits = model(inp.contiguous(memory_format=torch.channels_last))
                    tgt = ts[:, None].expand(-1, idx.shape[1]).reshape(-1)
                    ce = F.cross_entropy(logits.float(), tgt, reduction="none").view(n, -1)
                    (grad,) = torch.autograd.grad(ce.mean(1).sum(), delta)
                    with torch.no_grad():
                        if K == 1:  # per-example: drop components that push a pixel already at 0 or 1
                            grad = box_active_set(grad, xs[:, 0] + delta)  # out of the box (they would be clipped)
                        ep_loss += ce.sum(1).detach()
                        ep_hit += (logits.argmax(1) == tgt).view(n, -1).sum(1)
                        delta = threat.project(delta.detach() - step_size * threat.direction(grad))
                        if K == 1:  # per-example: also keep x + δ inside the pixel box (standard PGD)
                            delta = (xs[:, 0] + delta).clamp_(0.0, 1.0) - xs[:, 0]
                    bar.update(n)
                loss_c[ep] = (ep_loss / K).cpu()
                acc_c[ep] = (ep_hit / K).cpu()
            with torch.no_grad(), autocast(device, precision):
                pred = model(apply_perturbation(xs, delta[:, None]).flatten(0, 1)
                             .contiguous(memory_format=torch.channels_last)).argmax(1).view(n, K)
            deltas.append(delta.detach().cpu())
            successes.append((pred == ts[:, None]).cpu())
            losses.append(loss_c)
            accs.append(acc_c)
    finally:
        bar.close()
        model.train(was_training)
    return PGDResult(
        delta=torch.cat(deltas),
        success=torch.cat(successes),
        loss_curve=torch.cat(losses, dim=1),
        acc_curve=torch.cat(accs, dim=1),
        info={"groups": G, "K": K, "batch_size": b, "epochs": epochs, "step_size": step_size,
              "norm": threat.name, "eps": threat.eps},
    )
