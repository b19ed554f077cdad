"""Universal perturbations from (p,q)-singular vectors of a hidden layer's Jacobian (S4).

For a feature map f (pixels → activations of one layer) and a batch X = {x_1..x_B}, the stacked
Jacobian J = [J_1; …; J_B] (J_i = ∂f/∂x at x_i) is never formed: only its matvec
v ↦ J v (one forward-mode jvp on the whole batch, v broadcast to every image) and its transposed
matvec w ↦ Jᵀ w (one reverse-mode vjp, summed over the images) are used.

The generalised power method (Boyd) for  max_v ||J v||_q / ||v||_p  iterates

    v ← ψ_{p'}(Jᵀ ψ_q(J v)),   v ← v / ||v||_p,

with ψ_r(z) = sign(z)|z|^{r-1} element-wise and p' the dual exponent of p (1/p + 1/p' = 1).
For p = ∞ (p' = 1) ψ_1 is the sign, so every iterate is a ±1 image (||v||_∞ = 1).
The universal perturbation is ε·v (its sign is arbitrary: −ε·v perturbs the layer equally).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

__all__ = ["PowerResult", "SVResult", "dual", "psi", "layer_fn", "make_matvecs", "power_method",
           "sv_uap"]

Tensor = torch.Tensor


# ----------------------------------------------------------------------------- ψ maps, exponents

def _check_exponent(value, name: str) -> float:
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [1, inf], got {value!r}") from None
    if math.isnan(r) or r < 1:
        raise ValueError(f"{name} must be a number in [1, inf], got {value!r}")
    return r


def dual(p: float) -> float:
    """Dual (Hölder-conjugate) exponent p' = p/(p-1): dual(inf) = 1, dual(1) = inf, dual(2) = 2."""
    p = _check_exponent(p, "p")
    if math.isinf(p):
        return 1.0
    if p == 1.0:
        return math.inf
    return p / (p - 1.0)


def psi(x: Tensor, r: float) -> Tensor:
    """ψ_r(x) = sign(x)·|x|^{r-1}, element-wise (ψ_1 = sign, ψ_2 = identity).

    For r = ∞ the formula has no finite value; the limit *direction* of ψ_r(x) (what the power
    method needs, since it rescales right after) is used instead: sign(x) on the entries of maximal
    magnitude over the whole tensor, 0 elsewhere. For finite r and its dual r',
    ψ_{r'}(ψ_r(x)) = x.
    """
    r = _check_exponent(r, "r")
    if math.isinf(r):
        a = x.abs()
        return torch.sign(x) * (a == a.max()).to(x.dtype) if x.numel() else x.clone()
    if r == 1.0:
        return torch.sign(x)
    if r == 2.0:
        return x.clone()
    return torch.sign(x) * x.abs().pow(r - 1.0)


def _psi_direction(z: Tensor, r: float) -> Tensor:
    """ψ_r(z) up to a positive factor, computed on z/max|z| so that |z|^{r-1} cannot over/underflow
    (ψ_r is positively homogeneous, and every use of it is followed by a normalisation)."""
    if math.isinf(r) or r == 1.0:
        return psi(z, r)
    m = z.abs().max()
    if not torch.isfinite(m) or m == 0:
        return psi(z, r)
    return psi(z / m, r)


def _norm(x: Tensor, p: float) -> Tensor:
    """ℓp norm computed as m·||x/m||_p (m = max |x|), so large p cannot overflow float32."""
    x = x.reshape(-1)
    m = x.abs().max()
    if not torch.isfinite(m) or m == 0 or math.isinf(p):
        return torch.linalg.vector_norm(x, ord=p)
    return m * torch.linalg.vector_norm(x / m, ord=p)


# ----------------------------------------------------------------------------- layer map, matvecs

class _StopForward(Exception):
    """Raised by the forward hook once the requested layer has run (the rest is not needed)."""


def layer_fn(model: nn.Module, layer_name: str) -> Callable[[Tensor], Tensor]:
    """f(x) = flattened output of `model.get_submodule(layer_name)` for a batch x of [0,1] pixels.

    The model is run from its input (so a `Normalized` wrapper normalises first) and stops once
    the layer has produced its output. f(x) has shape [B, m]. The model is evaluated in eval mode
    (batch-norm with running statistics, so that images do not interact; the per-image Jacobians
    are then independent); its previous training flag is restored afterwards.
    `layer_name=""` is the model itself (its logits).
    """
    if not isinstance(layer_name, str):
        raise ValueError(f"layer_name must be a str, got {layer_name!r}")
    try:
        layer = model.get_submodule(layer_name)
    except AttributeError as e:
        names = [n for n, _ in model.named_modules() if n]
        raise ValueError(f"layer_name {layer_name!r} is not a sub-module of the model; "
                         f"some known names: {names[:20]}") from e

    if layer_name in getattr(model, "folded_convs", ()):
        raise ValueError(f"layer {layer_name!r} has its batch norm folded into it (its output is the batch "
                         "norm's): load the model with keep= naming it (train.load_model)")

    def f(x: Tensor) -> Tensor:
        box: list[Tensor] = []

        def hook(_mod, _inp, out):
            if isinstance(out, (tuple, list)):
                out = out[0]
            if not isinstance(out, torch.Tensor):
                raise TypeError(f"layer {layer_name!r} returned {type(out).__name__}, not a tensor")
            box.append(out)
            raise _StopForward

        was = model.training
        model.eval()
        handle = layer.register_forward_hook(hook)
        try:
            out = model(x)
            box.append(out)  # the hook did not fire before the end (layer is the model itself)
        except _StopForward:
            pass
        finally:
            handle.remove()
            model.train(was)
        if not box:
            raise RuntimeError(f"layer {layer_name!r} was not executed by the model's forward pass")
        return box[0].reshape(x.shape[0], -1)

    f.layer_name = layer_name  # type: ignore[attr-defined]
    return f


def make_matvecs(f: Callable[[Tensor], Tensor], x_batch: Tensor):
    """Matvecs of the stacked Jacobian J = [J_1; …; J_B] of f at the images of `x_batch`.

    Returns (matvec, rmatvec, out):
      matvec(v)  : v of one image's shape → J v, shape f(x_batch).shape (the B blocks J_i v);
                   one torch.func.jvp on the whole batch with v broadcast.
      rmatvec(w) : w of shape f(x_batch).shape → Jᵀ w = Σ_i J_iᵀ w_i, one image's shape;
                   the reverse-mode graph is built once and reused by every call.
      out        : f(x_batch) (detached).
    f must treat the images independently (e.g. a model in eval mode).
    """
    from torch.func import jvp, vjp

    x = x_batch.detach()
    out, vjp_fn = vjp(f, x)

    def matvec(v: Tensor) -> Tensor:
        if v.shape != x.shape[1:]:
            raise ValueError(f"v must have the shape of one image {tuple(x.shape[1:])}, got {tuple(v.shape)}")
        tangent = v.to(dtype=x.dtype, device=x.device).unsqueeze(0).expand_as(x)
        _, jv = jvp(f, (x,), (tangent,))
        return jv.detach()

    def rmatvec(w: Tensor) -> Tensor:
        if w.shape != out.shape:
            raise ValueError(f"w must have the shape of f(x_batch) {tuple(out.shape)}, got {tuple(w.shape)}")
        (g,) = vjp_fn(w.to(dtype=out.dtype, device=out.device))
        return g.detach().sum(0)

    return matvec, rmatvec, out.detach()


# ----------------------------------------------------------------------------- power method

@dataclass
class PowerResult:
    v: Tensor                     # singular vector, shape of one image, ||v||_p = 1
    singular_value: float         # ||J v||_q / ||v||_p
    history: list[float] = field(default_factory=list)  # singular-value estimate after each iteration
    iters: int = 0                # iterations actually run


def power_method(f: Callable[[Tensor], Tensor], x_batch: Tensor, p: float = math.inf, q: float = 10.0,
                 iters: int = 30, init: Tensor | None = None, generator: torch.Generator | None = None,
                 tol: float = 0.0) -> PowerResult:
    """(p,q)-singular vector of the stacked Jacobian of f at `x_batch` (stochastic power method).

    f: batched map [B, *img] → [B, m] (e.g. `layer_fn(model, name)`); x_batch: [B, *img].
    p, q ∈ [1, ∞]; iters ≥ 1 iterations (each: one jvp and one vjp on the batch).
    init: starting vector of one image's shape (default: a Gaussian vector from `generator`).
    tol: stop early once the relative change of the singular-value estimate is ≤ tol (0: never).
    """
    p = _check_exponent(p, "p")
    q = _check_exponent(q, "q")
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters must be an int >= 1, got {iters!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if not isinstance(x_batch, torch.Tensor) or x_batch.dim() < 2 or x_batch.shape[0] == 0:
        raise ValueError(f"x_batch must be a tensor [B, ...] with B >= 1, got "
                         f"{getattr(x_batch, 'shape', type(x_batch).__name__)}")
    if not x_batch.is_floating_point():
        raise ValueError(f"x_batch must be a floating-point tensor ([0,1] pixels), got {x_batch.dtype}")
    shape = x_batch.shape[1:]
    if init is None:
        v = torch.randn(shape, generator=generator, dtype=x_batch.dtype).to(x_batch.device)
    else:
        if not isinstance(init, torch.Tensor) or init.shape != shape:
            raise ValueError(f"init must be a tensor of one image's shape {tuple(shape)}, got "
                             f"{getattr(init, 'shape', type(init).__name__)}")
        v = init.detach().to(dtype=x_batch.dtype, device=x_batch.device).clone()
    n = _norm(v, p)
    if not torch.isfinite(n) or n == 0:
        raise ValueError("init must be a finite, non-zero vector")
    v = v / n

    matvec, rmatvec, _ = make_matvecs(f, x_batch)
    pd = dual(p)
    z = matvec(v)
    history: list[float] = []
    sigma = float(_norm(z, q))
    it = 0
    for it in range(1, iters + 1):
        s = _psi_direction(rmatvec(_psi_direction(z, q)), pd)
        ns = _norm(s, p)
        if ns == 0 or not torch.isfinite(ns):  # J v = 0 (or Jᵀ vanishes): v is as good as any
            history.append(sigma)
            break
        v = s / ns
        z = matvec(v)
        new = float(_norm(z, q))  # ||v||_p = 1
        history.append(new)
        done = tol > 0 and abs(new - sigma) <= tol * max(abs(new), 1e-30)
        sigma = new
        if done:
            break
    return PowerResult(v=v.detach(), singular_value=sigma, history=history, iters=it)


# ----------------------------------------------------------------------------- the attack

@dataclass
class SVResult:
    delta: Tensor                 # eps · v, shape of one image (−delta is as good)
    singular_value: float
    history: list[float]
    layer: str
    p: float
    q: float
    eps: float


def sv_uap(model: nn.Module, x_batch: Tensor, layer: str, eps: float, p: float = math.inf,
           q: float = 10.0, iters: int = 30, init: Tensor | None = None,
           generator: torch.Generator | None = None, tol: float = 0.0) -> SVResult:
    """Universal perturbation ε·v from the (p,q)-singular vector v (||v||_p = 1) of the Jacobian of
    `layer` stacked over the images of `x_batch` ([B, C, H, W] pixels in [0,1] or uint8).
    ||delta||_p = eps; for p = ∞, delta = ±eps per pixel."""
    if not (isinstance(eps, (int, float)) and not isinstance(eps, bool) and eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    if isinstance(x_batch, torch.Tensor) and x_batch.dtype == torch.uint8:
        x_batch = x_batch.float().div(255.0)
    f = layer_fn(model, layer)
    res = power_method(f, x_batch, p=p, q=q, iters=iters, init=init, generator=generator, tol=tol)
    return SVResult(delta=float(eps) * res.v, singular_value=res.singular_value, history=res.history,
                    layer=layer, p=float(p), q=float(q), eps=float(eps))
