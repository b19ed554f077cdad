"""UPI-Grad (Algorithm 1 of 000_0f31663abaa95f9e.txt): projected stochastic gradient ascent on the
Gaussian-smoothed mean map distance E_Z[(1/n) Σ D(x_i, x_i + δ + Z)] (eq. 6) over ‖δ‖₂ ≤ ε."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..utils import progress
from .interp_common import MapDistance, flat_norm, noise_sigma, pick_sign, project_l2


@dataclass
class UPIResult:
    delta: torch.Tensor                 # [C, H, W] on the CPU, ‖δ‖₂ ≤ ε
    curve: torch.Tensor                 # per epoch: mean D on the training images (grad) / Rayleigh quotient (pca)
    info: dict = field(default_factory=dict)


STEPS = ("raw", "normalised")


def grad_step(delta: torch.Tensor, grad: torch.Tensor, *, step: str, alpha: float, step_ratio: float,
              eps: float) -> torch.Tensor:
    """One update of δ from the gradient of the minibatch mean of D, then the projection on the ε-ball.
    "raw" is Algorithm 1 as written: δ ← δ + α·(1/|B|) Σ ∇_δ D (the gradient of the mean);
    "normalised" (an earlier variant of ours): a step of step_ratio·ε along ∇/‖∇‖."""
    if step == "raw":
        new = delta + alpha * grad
    elif step == "normalised":
        new = delta + step_ratio * eps * grad / flat_norm(grad)
    else:
        raise ValueError(f"step must be one of {STEPS}, got {step!r}")
    return project_l2(new, eps)


def upi_grad(model, x: torch.Tensor, target: torch.Tensor, *, interpreter: str, eps: float, epochs: int,
             batch_size: int, noise_ratio: float, step: str = "raw", alpha: float | None = None, step_ratio: float = 0.2,
             sign_flip: bool = False, interp_options: dict | None = None, softplus_beta: float | None = None,
             generator: torch.Generator | None = None, device="cpu", desc: str = "UPI-Grad") -> UPIResult:
    """x: [n, C, H, W] images in [0,1]; target: [n] classes explained (the clean predictions).

    Each minibatch draws one Z ~ N(0, σ²I) (σ from noise_ratio: E‖Z‖ ≈ noise_ratio·ε) and updates δ
    by `grad_step` (default "raw": Algorithm 1's step α times the mean gradient), then projects onto
    the ε-ball. Algorithm 1 returns δ as it is; `sign_flip` (our earlier variant) keeps whichever of
    ±δ changes the maps more.

    alpha None: α is fixed once, at the first minibatch, so that the first raw step has length
    step_ratio·ε (α = step_ratio·ε/‖ḡ₀‖), and kept for every later step. The paper gives no α for
    Algorithm 1, and the raw gradient of D is ~1e-6–1e-4 here (it varies 100x between models and
    interpretations): a fixed α such as 0.5 leaves δ at its Gaussian start."""
    if epochs < 1 or batch_size < 1 or step_ratio <= 0 or (alpha is not None and alpha <= 0) or eps <= 0:
        raise ValueError(f"UPI-Grad needs epochs, batch_size >= 1 and alpha, step_ratio, eps > 0 "
                         f"(got {epochs}, {batch_size}, {alpha}, {step_ratio}, {eps})")
    if step not in STEPS:
        raise ValueError(f"step must be one of {STEPS}, got {step!r}")
    device = torch.device(device)
    x, target = x.to(device), target.to(device)
    dist = MapDistance(model, interpreter, interp_options, softplus_beta)
    n, shape = x.shape[0], x.shape[1:]
    sigma = noise_sigma(eps, noise_ratio, x[0].numel())
    delta = (sigma * torch.randn((1, *shape), generator=generator)).to(device)
    curve = []
    steps = -(-n // batch_size)
    bar = progress(total=epochs * steps, desc=desc, unit="step")
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator).to(device)
        tot = 0.0
        for s in range(steps):
            idx = perm[s * batch_size:(s + 1) * batch_size]
            xb, tb = x[idx], target[idx]
            ref = dist.reference(xb, tb)
            z = (sigma * torch.randn((1, *shape), generator=generator)).to(device)
            d = delta.detach().requires_grad_(True)
            loss = dist(xb, tb, ref, d + z).mean()
            (g,) = torch.autograd.grad(loss, d)
            if alpha is None:
                alpha = step_ratio * eps / float(g.norm().clamp_min(1e-30))
            delta = grad_step(d.detach(), g, step=step, alpha=alpha, step_ratio=step_ratio, eps=eps)
            tot += float(loss.detach()) * len(idx)
            bar.update(1)
        curve.append(tot / n)
    bar.close()
    sign = {}
    if sign_flip:
        delta, sign = pick_sign(model, dist, x[:batch_size], target[:batch_size], delta)
    return UPIResult(delta[0].cpu(), torch.tensor(curve),
                     {"method": "upi_grad", "sigma": sigma, "epochs": epochs, "step": step, "alpha": alpha,
                      "step_ratio": step_ratio, "sign_flip": sign_flip, **sign})
