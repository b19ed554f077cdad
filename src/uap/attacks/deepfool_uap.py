"""Universal perturbation of Moosavi-Dezfooli et al. (DeepFool-based), the baseline of S4.

Passes over the data (in a fresh random order each pass). Every image that the current universal
perturbation v does not fool yet (its prediction on clip(x+v) equals the model's *clean* prediction)
gets a minimal DeepFool increment Δv that sends x+v across the nearest (linearised) decision
boundary, and v ← Proj_{p,ξ}(v + Δv) (projection onto the ℓp ball of radius ξ). Δv is the change
DeepFool made to the clipped image, clip(x' + r) − x' with x' = clip(x+v): the part of DeepFool's
step r that clipping undoes (pixels already at 0 or 1) moves nothing and is left out of v. The loop
stops once the fooling rate on the data reaches 1 − δ, or after `max_passes` passes.

Batching: the not-yet-fooled images are taken `batch_size` at a time; the DeepFool increments of a
minibatch are computed in one batched computation at the current v, then folded into v one by one
(cheap), skipping an image once the updated v already fools it (`recheck`). batch_size = 1 is the
original, fully sequential algorithm.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ..metrics import as_float, fooling_rate, predict
from ..threats import apply_perturbation, make_threat

__all__ = ["DeepFoolUAPResult", "deepfool_batch", "deepfool_uap", "fooling_rate"]

Tensor = torch.Tensor


def _norm_name(p) -> str:
    if isinstance(p, str):
        key = p.lower()
        if key in ("l2", "2"):
            return "l2"
        if key in ("linf", "inf", "l_inf"):
            return "linf"
    elif not isinstance(p, bool) and isinstance(p, (int, float)):
        if p == 2:
            return "l2"
        if math.isinf(p) and p > 0:
            return "linf"
    raise ValueError(f"p must be 2 or inf ('l2'/'linf'), got {p!r}")


def deepfool_batch(model: nn.Module, x: Tensor, *, num_classes_considered: int = 10,
                   overshoot: float = 0.02, max_iter: int = 50) -> tuple[Tensor, Tensor]:
    """Batched ℓ2 DeepFool on [0,1] pixels: for every image of x ([B, ...]) the perturbation
    r_i = (1+overshoot)·Σ(steps) that moves clip(x_i + r_i) off the class predicted at x_i, among the
    top-`num_classes_considered` classes of x_i's logits. Images are independent (model in eval
    mode); those already across stop moving. Returns (r [B, ...], crossed [B] bool)."""
    x = x.detach()
    B = x.shape[0]
    with torch.no_grad():
        logits0 = model(x)
    k = min(int(num_classes_considered), logits0.shape[1])
    cand = logits0.topk(k, dim=1).indices                # [B, k]; column 0 = predicted class
    label = cand[:, 0]
    r_tot = torch.zeros_like(x)
    active = torch.ones(B, dtype=torch.bool, device=x.device)
    view = (-1,) + (1,) * (x.dim() - 1)
    if k < 2:
        return r_tot, torch.zeros(B, dtype=torch.bool, device=x.device)
    for _ in range(max_iter):
        xa = apply_perturbation(x[active], (1 + overshoot) * r_tot[active]).requires_grad_(True)
        logits = model(xa)
        still = logits.argmax(1) == label[active]
        if not still.any():
            active[active.clone()] = False
            break
        g = logits.gather(1, cand[active])                # [b, k]
        grads = []
        for j in range(k):
            (gj,) = torch.autograd.grad(g[:, j].sum(), xa, retain_graph=j < k - 1)
            grads.append(gj)
        grads = torch.stack(grads, 1)                     # [b, k, ...]
        w = grads[:, 1:] - grads[:, :1]                   # [b, k-1, ...]
        fdiff = (g[:, 1:] - g[:, :1]).detach()            # [b, k-1]
        wn = w.flatten(2).norm(dim=2).clamp_min(1e-12)    # [b, k-1]
        dist = fdiff.abs() / wn
        best = dist.argmin(1)
        ar = torch.arange(best.shape[0], device=x.device)
        w_best = w[ar, best]
        step = ((dist[ar, best] + 1e-4) / wn[ar, best]).view(view) * w_best
        idx = active.nonzero().squeeze(1)
        # images already across get no further step; the rest move by their step
        moving = idx[still]
        r_tot[moving] = r_tot[moving] + step[still]
        active[idx[~still]] = False
        if not active.any():
            break
    with torch.no_grad():
        crossed = model(apply_perturbation(x, (1 + overshoot) * r_tot)).argmax(1) != label
    return ((1 + overshoot) * r_tot).detach(), crossed


@dataclass
class DeepFoolUAPResult:
    delta: Tensor                                         # shape of one image, ||delta||_p ≤ xi
    fooling_history: list[float] = field(default_factory=list)  # fooling rate on x after each pass
    passes: int = 0
    deepfool_calls: int = 0                               # images for which a DeepFool increment was computed
    updates: int = 0                                      # increments folded into v
    p: str = "linf"
    xi: float = 0.0


def deepfool_uap(model: nn.Module, x: Tensor, xi: float, *, delta: float = 0.2, p=math.inf,
                 max_iter_df: int = 50, overshoot: float = 0.02, max_passes: int = 10,
                 num_classes_considered: int = 10, batch_size: int = 16, recheck: bool = True,
                 generator: torch.Generator | None = None, device="cpu",
                 eval_batch_size: int = 1024) -> DeepFoolUAPResult:
    """Universal perturbation (Moosavi-Dezfooli et al.) with ||v||_p ≤ xi from the images x
    ([N, C, H, W], [0,1] floats or uint8; not modified). Stops when the fooling rate on x reaches
    1 − delta or after max_passes passes. See the module docstring for the batching."""
    norm = _norm_name(p)
    if not (isinstance(xi, (int, float)) and not isinstance(xi, bool) and xi > 0 and math.isfinite(xi)):
        raise ValueError(f"xi must be a finite number > 0, got {xi!r}")
    if not (isinstance(delta, (int, float)) and 0 <= delta <= 1):
        raise ValueError(f"delta must be in [0, 1], got {delta!r}")
    for name, val in (("max_iter_df", max_iter_df), ("max_passes", max_passes),
                      ("num_classes_considered", num_classes_considered), ("batch_size", batch_size),
                      ("eval_batch_size", eval_batch_size)):
        if isinstance(val, bool) or not isinstance(val, int) or val < 1:
            raise ValueError(f"{name} must be an int >= 1, got {val!r}")
    if num_classes_considered < 2:
        raise ValueError(f"num_classes_considered must be >= 2, got {num_classes_considered!r}")
    if not (isinstance(overshoot, (int, float)) and overshoot >= 0):
        raise ValueError(f"overshoot must be a number >= 0, got {overshoot!r}")
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a tensor [N, ...] with N >= 1, got {getattr(x, 'shape', type(x).__name__)}")

    device = torch.device(device)
    threat = make_threat(norm, float(xi))
    was = model.training
    model.eval()
    try:
        clean = predict(model, x, batch_size=eval_batch_size, device=device)
        v = torch.zeros(x.shape[1:], dtype=torch.float32, device=device)
        hist: list[float] = []
        calls = updates = passes = 0
        n = x.shape[0]
        for passes in range(1, max_passes + 1):
            order = torch.randperm(n, generator=generator)
            for s in range(0, n, batch_size):
                idx = order[s:s + batch_size]
                xb = as_float(x[idx].to(device))
                cb = clean[idx].to(device)
                with torch.no_grad():
                    fooled = model(apply_perturbation(xb, v)).argmax(1) != cb
                if fooled.all():
                    continue
                xb, cb = xb[~fooled], cb[~fooled]
                # increments at the current v, one batched DeepFool on clip(x + v)
                xv = apply_perturbation(xb, v)
                r, _ = deepfool_batch(model, xv, overshoot=overshoot,
                                      num_classes_considered=num_classes_considered, max_iter=max_iter_df)
                # the increment is what moved the image: DeepFool's step also pushes saturated pixels
                # (black background, white) out of [0,1], where clipping undoes it; folded into v as is,
                # that part would only spend v's budget
                r = apply_perturbation(xv, r) - xv
                calls += xb.shape[0]
                pending = torch.ones(xb.shape[0], dtype=torch.bool, device=device)
                for i in range(xb.shape[0]):
                    if not pending[i]:
                        continue
                    v = threat.project((v + r[i])[None])[0]
                    updates += 1
                    pending[i] = False
                    if recheck and pending.any():
                        with torch.no_grad():
                            left = pending.nonzero().squeeze(1)
                            now = model(apply_perturbation(xb[left], v)).argmax(1) != cb[left]
                        pending[left[now]] = False
            adv = predict(model, x, batch_size=eval_batch_size, device=device, delta=v)
            hist.append(fooling_rate(clean, adv))
            if hist[-1] >= 1 - delta:
                break
    finally:
        model.train(was)
    return DeepFoolUAPResult(delta=v.detach().cpu(), fooling_history=hist, passes=passes,
                             deepfool_calls=calls, updates=updates, p=norm, xi=float(xi))
