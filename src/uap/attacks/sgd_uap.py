"""Untargeted classification UAP by stochastic projected gradient ascent on the mean cross-entropy
(eq. 5 of 000_0f31663abaa95f9e.txt; the SGD universal perturbation of Shafahi et al., its ref. [25]).
Labels are the model's clean predictions, so the perturbation is pushed away from what the model
says, not from the ground truth."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..threats import apply_perturbation
from ..utils import progress
from .interp_common import flat_norm, project_l2


def classification_uap(model, x: torch.Tensor, labels: torch.Tensor, *, eps: float, epochs: int, batch_size: int,
                       step_ratio: float, generator: torch.Generator | None = None, device="cpu",
                       desc: str = "classification UAP") -> torch.Tensor:
    """One ℓ2 perturbation [C, H, W] (‖δ‖₂ ≤ ε) that raises the mean loss over x [n, C, H, W]."""
    if epochs < 1 or batch_size < 1 or step_ratio <= 0 or eps <= 0:
        raise ValueError(f"epochs, batch_size >= 1 and step_ratio, eps > 0 required "
                         f"(got {epochs}, {batch_size}, {step_ratio}, {eps})")
    device = torch.device(device)
    x, labels = x.to(device), labels.to(device)
    n = x.shape[0]
    delta = torch.zeros((1, *x.shape[1:]), device=device)
    steps = -(-n // batch_size)
    bar = progress(total=epochs * steps, desc=desc, unit="step")
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator).to(device)
        for s in range(steps):
            idx = perm[s * batch_size:(s + 1) * batch_size]
            d = delta.requires_grad_(True)
            loss = F.cross_entropy(model(apply_perturbation(x[idx], d)), labels[idx])
            (g,) = torch.autograd.grad(loss, d)
            delta = project_l2(d.detach() + step_ratio * eps * g / flat_norm(g), eps)
            bar.update(1)
    bar.close()
    return delta[0].detach().cpu()
