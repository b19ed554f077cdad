"""UPI-PCA (Algorithm 2 and Prop. 2 of 000_0f31663abaa95f9e.txt): a stochastic power method for
the top right singular vector of the matrix G whose rows are first-order per-image perturbations
of the interpretation.

Rows G_i, at a Gaussian point x_i + Z (the gradient of D vanishes at Z = 0):
- variant "fgm": the fast-gradient-method direction ∇_z D(x_i, x_i + z) / ‖·‖₂;
- variant "pgd": the direction of a per-image projected-gradient perturbation on D
  (`pgd_steps` normalised steps of pgd_step_ratio·ε from z, projected onto the ε-ball).
rows = "raw" (default): the rows as they are, G of Prop. 2 (an image whose map moves more weighs
more); rows = "unit" (an earlier variant of ours): every row scaled to norm 1, so that every image
weighs the same.
Two updates (`alpha`):
- alpha = None (default), the accumulated power method: the second moment C = Σ G_iᵀG_i of every row
  seen so far (d×d; every minibatch, every noise draw) is kept, one warm-started power step
  δ ← ε·Cδ/‖Cδ‖ follows each minibatch, and power steps on the final C run to convergence, so δ is
  the top right singular vector of the whole sampled G (Prop. 2), not of the last minibatch.
  C costs d² floats: 9.4 M for CIFAR-10 (38 MB), 151 M for Tiny-ImageNet's 64x64x3 (604 MB).
- alpha > 0, Algorithm 2 as written (an Oja step): δ ← δ + α/|B| Σ (δᵀG_i) G_i, then δ is put back
  on the ε-sphere. Each step only rotates δ by a fraction of its own size, so the estimate forgets old
  minibatches at a rate set by α and needs many minibatches to converge.
The sign is then chosen as the one (±δ) that perturbs the maps more.
"""
from __future__ import annotations

import torch

from ..utils import progress
from .interp_common import MapDistance, flat_norm, noise_sigma, pick_sign, project_l2
from .upi_grad import UPIResult


ROWS = ("raw", "unit")


def gradient_rows(dist: MapDistance, x, target, z, *, variant: str, eps: float, pgd_steps: int,
                  pgd_step_ratio: float, rows: str = "raw") -> torch.Tensor:
    """Rows G_i [B, d] of one minibatch, raw or unit-scaled (see the module docstring)."""
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {ROWS}, got {rows!r}")
    ref = dist.reference(x, target)
    if variant == "fgm":
        g, _ = dist.per_image_grad(x, target, ref, z)
        out = g
    elif variant == "pgd":
        pert = z.expand_as(x).clone()
        for _ in range(pgd_steps):
            g, _ = dist.per_image_grad(x, target, ref, pert)
            pert = project_l2(pert + pgd_step_ratio * eps * g / flat_norm(g), eps)
        out = pert
    else:
        raise ValueError(f"variant must be 'fgm' or 'pgd', got {variant!r}")
    out = out.flatten(1)
    return out if rows == "raw" else out / out.norm(dim=1, keepdim=True).clamp_min(1e-12)


def power_step(delta: torch.Tensor, rows: torch.Tensor, eps: float, alpha: float) -> tuple[torch.Tensor, float]:
    """One Oja step of Algorithm 2 on M = GᵀG/|B| for the flat direction delta [d], back on the
    ε-sphere; returns (δ, δᵀMδ/‖δ‖²)."""
    v = delta / delta.norm().clamp_min(1e-12)
    u = rows.T @ (rows @ v) / rows.shape[0]            # M v = 1/|B| Σ (vᵀG_i) G_i
    new = v + alpha * u
    return eps * new / new.norm().clamp_min(1e-12), float(v @ u)


def power_iterate(cov: torch.Tensor, delta: torch.Tensor, eps: float, iters: int = 1,
                  tol: float = 0.0) -> tuple[torch.Tensor, float]:
    """`iters` power steps δ ← ε·Cδ/‖Cδ‖ on a symmetric PSD C [d, d] (stops early once consecutive
    unit directions agree to 1 − tol); returns (δ, Rayleigh quotient of the last direction)."""
    v = delta / delta.norm().clamp_min(1e-12)
    rayleigh = 0.0
    for _ in range(iters):
        u = cov @ v
        rayleigh = float(v @ u)
        un = u.norm()
        if un == 0:        # v in C's null space (C = 0: no gradient signal): every direction is as good
            break
        # divide by the exact norm: raw gradient rows can be ~1e-7, so ‖Cv‖ falls far below any floor
        # (a clamp_min(1e-12) here shrank v a little more each step until it underflowed to 0)
        new = u / un
        done = tol > 0 and float(new @ v) > 1 - tol
        v = new
        if done:
            break
    return eps * v, rayleigh


def upi_pca(model, x: torch.Tensor, target: torch.Tensor, *, interpreter: str, eps: float, epochs: int,
            batch_size: int, noise_ratio: float, variant: str = "fgm", alpha: float | None = None,
            pgd_steps: int = 5, pgd_step_ratio: float = 0.5, rows: str = "raw", interp_options: dict | None = None,
            softplus_beta: float | None = None, fixed_noise: torch.Tensor | None = None,
            generator: torch.Generator | None = None, device="cpu", desc: str | None = None) -> UPIResult:
    """x: [n, C, H, W] in [0,1]; target: [n]. Returns δ with ‖δ‖₂ = ε. `curve`: the mean Rayleigh
    quotient per epoch (and, with alpha None, the top eigenvalue of the final C/rows as last entry).

    fixed_noise: a Z [C, H, W] used at every step instead of fresh draws; with a full batch G is
    then one fixed matrix and the method is the exact power method (the test against an SVD)."""
    if epochs < 1 or batch_size < 1 or eps <= 0 or (alpha is not None and alpha <= 0):
        raise ValueError(f"UPI-PCA needs epochs, batch_size >= 1, eps > 0, alpha > 0 or None "
                         f"(got {epochs}, {batch_size}, {eps}, {alpha})")
    device = torch.device(device)
    x, target = x.to(device), target.to(device)
    dist = MapDistance(model, interpreter, interp_options, softplus_beta)
    n, shape = x.shape[0], x.shape[1:]
    sigma = noise_sigma(eps, noise_ratio, x[0].numel())
    delta = torch.randn(x[0].numel(), generator=generator).to(device)
    delta = eps * delta / delta.norm()
    steps = -(-n // batch_size)
    cov = torch.zeros(delta.numel(), delta.numel(), device=device) if alpha is None else None
    seen = 0
    curve = []
    bar = progress(total=epochs * steps, desc=desc or f"UPI-PCA-{variant.upper()}", unit="step")
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator).to(device) if steps > 1 else torch.arange(n, device=device)
        rq = 0.0
        for s in range(steps):
            idx = perm[s * batch_size:(s + 1) * batch_size]
            if fixed_noise is None:
                z = (sigma * torch.randn((1, *shape), generator=generator)).to(device)
            else:
                z = fixed_noise.view(1, *shape).to(device)
            g = gradient_rows(dist, x[idx], target[idx], z, variant=variant, eps=eps, pgd_steps=pgd_steps,
                              pgd_step_ratio=pgd_step_ratio, rows=rows).detach()
            if cov is None:
                delta, r = power_step(delta, g, eps, alpha)
            else:
                cov += g.T @ g
                seen += g.shape[0]
                delta, _ = power_iterate(cov, delta, eps)
                r = float((g @ (delta / eps)).pow(2).mean())   # this minibatch's δᵀMδ/‖δ‖²
            rq += r * len(idx)
            bar.update(1)
        curve.append(rq / n)
    bar.close()
    if cov is not None:   # converge on everything seen (the warm start makes this a few steps)
        delta, top = power_iterate(cov / seen, delta, eps, iters=500, tol=1e-10)
        curve.append(top)
    d4 = project_l2(delta.view(1, *shape), eps)
    d4, sign = pick_sign(model, dist, x[:batch_size], target[:batch_size], d4)
    return UPIResult(d4[0].cpu(), torch.tensor(curve),
                     {"method": f"upi_pca_{variant}", "sigma": sigma, "epochs": epochs, "alpha": alpha,
                      "pgd_steps": pgd_steps if variant == "pgd" else 0, "rows": rows, **sign})
