"""Spatial invariance (S1 Sec. 3.2, Fig. 4/16): ASR of translated perturbations, with wrap-around.

A shift by (dy, dx) moves the perturbation dy pixels down and dx pixels right; what leaves one
edge comes back at the other (torch.roll), so a shift never changes the perturbation's norm.
Per-example perturbations are evaluated only on their own image; universal ones on every image.
"""
from __future__ import annotations

import torch

from ..metrics import attack_success_rates, predict_perturbed


def shift_offsets(size: int, stride: int) -> list[int]:
    """Offsets k·stride centred on 0 covering one period of a `size`-pixel axis, each distinct
    modulo `size` (28 px, stride 4: −12, −8, …, 12; 32 px, stride 4: −16, …, 12)."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    half = size // 2
    out: list[int] = []
    for off in range(-(half // stride) * stride, half + 1, stride):
        if off % size not in {o % size for o in out}:
            out.append(off)
    return out


def shift_grid(height: int, width: int, stride: int) -> torch.Tensor:
    """[S, 2] (dy, dx) pairs of the whole grid."""
    dy, dx = torch.meshgrid(torch.tensor(shift_offsets(height, stride)), torch.tensor(shift_offsets(width, stride)),
                            indexing="ij")
    return torch.stack([dy.flatten(), dx.flatten()], dim=1)


def shift(delta: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Wrap-around translation of [..., H, W] by dy rows down and dx columns right."""
    return torch.roll(delta, shifts=(int(dy), int(dx)), dims=(-2, -1))


def shifted_stack(delta: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """All translations of `delta` ([..., H, W]) as one tensor [S, ..., H, W], by gathering with
    modular indices (row i of the shifted image is row (i − dy) mod H of the original)."""
    H, W = delta.shape[-2:]
    rows = (torch.arange(H)[None] - offsets[:, 0, None]) % H           # [S, H]
    cols = (torch.arange(W)[None] - offsets[:, 1, None]) % W           # [S, W]
    S = offsets.shape[0]
    lead = delta.shape[:-2]
    d = delta.reshape(-1, H, W)                                        # [B, H, W]
    out = d[:, rows[:, :, None], cols[:, None, :]]                     # [B, S, H, W]
    return out.transpose(0, 1).reshape(S, *lead, H, W)


def _chunks(n_shifts: int, per_shift_elems: int, max_elems: int):
    step = max(1, max_elems // max(per_shift_elems, 1))
    for s0 in range(0, n_shifts, step):
        yield slice(s0, min(s0 + step, n_shifts))


def per_example_shift_pred(model, x: torch.Tensor, deltas: torch.Tensor, offsets: torch.Tensor, *, device="cpu",
                           precision="fp32", max_images: int = 4096, max_elems: int = 2 ** 28) -> torch.Tensor:
    """Predictions [S, N] under each shift of per-example perturbations (deltas [N, C, H, W]), each
    on its own image; the grid is stacked into [S, N, C, H, W] tensors (in chunks of shifts that fit
    in `max_elems` floats)."""
    out = []
    for sl in _chunks(offsets.shape[0], deltas.numel(), max_elems):
        stack = shifted_stack(deltas, offsets[sl])
        out.append(predict_perturbed(model, x, stack, device=device, precision=precision, max_images=max_images,
                                     desc="shifts (per-example)"))
    return torch.cat(out)


def universal_shift_pred(model, x: torch.Tensor, deltas: torch.Tensor, offsets: torch.Tensor, *, device="cpu",
                         precision="fp32", max_images: int = 4096, max_elems: int = 2 ** 28) -> torch.Tensor:
    """Predictions [S, T, N] under each shift of each universal perturbation (deltas [T, C, H, W]) on
    every image."""
    T = deltas.shape[0]
    out = []
    for sl in _chunks(offsets.shape[0], deltas.numel(), max_elems):
        stack = shifted_stack(deltas, offsets[sl])                     # [s, T, C, H, W]
        pred = predict_perturbed(model, x, stack.flatten(0, 1), device=device, precision=precision,
                                 max_images=max_images, desc="shifts (universal)")        # [s*T, N]
        out.append(pred.view(stack.shape[0], T, -1))
    return torch.cat(out)


def per_example_shift_asr(model, x: torch.Tensor, labels: torch.Tensor, deltas: torch.Tensor, targets: torch.Tensor,
                          offsets: torch.Tensor, **kw) -> torch.Tensor:
    """ASR [S] of each shift of per-example perturbations toward their targets [N]."""
    return attack_success_rates(per_example_shift_pred(model, x, deltas, offsets, **kw), targets, labels)


def universal_shift_asr(model, x: torch.Tensor, labels: torch.Tensor, deltas: torch.Tensor, targets: torch.Tensor,
                        offsets: torch.Tensor, **kw) -> torch.Tensor:
    """ASR [S, T] of each shift of each universal perturbation (toward targets [T]) over all images
    whose label is not the target."""
    pred = universal_shift_pred(model, x, deltas, offsets, **kw)                           # [S, T, N]
    return attack_success_rates(pred.flatten(0, 1), targets.repeat(pred.shape[0])[:, None], labels).view(pred.shape[:2])


def same_norm_noise(deltas: torch.Tensor, norm: str, draws: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """[draws, C, H, W] random perturbations of the perturbations' mean norm: ℓ2 — Gaussian directions
    scaled to the mean ℓ2 norm of `deltas`; ℓ∞ — random signs times their mean ℓ∞ norm. The
    empirical floor of a targeted ASR: the same metric on a perturbation with no target in it."""
    shape = (draws, *deltas.shape[1:])
    flat = deltas.flatten(1)
    if norm == "l2":
        z = torch.randn(shape, generator=generator)
        return z * (flat.norm(dim=1).mean() / z.flatten(1).norm(dim=1)).view(-1, *([1] * (z.dim() - 1)))
    if norm == "linf":
        return (torch.randint(0, 2, shape, generator=generator).float() * 2 - 1) * flat.abs().amax(1).mean()
    raise ValueError(f"norm must be 'l2' or 'linf', got {norm!r}")


def kept_norm(x: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """‖clip(x + δ) − x‖₂ / ‖δ‖₂ per (perturbation, image): the share of a perturbation that survives
    the clamp to [0,1]. On Fashion-MNIST about half the pixels are 0, where only δ > 0 survives, so
    a shift that moves the perturbation between the black border and the object changes its
    effective size. x: [N, C, H, W] in [0,1]; deltas [M, C, H, W] → [M, N]."""
    out = torch.empty(deltas.shape[0], x.shape[0])
    for m in range(deltas.shape[0]):
        applied = (x + deltas[m]).clamp(0, 1) - x
        out[m] = applied.flatten(1).norm(dim=1) / deltas[m].norm().clamp_min(1e-12)
    return out
