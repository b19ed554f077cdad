"""S4 experiments (004_37ee862723438816.txt): per-layer singular vectors, fooling rate against the
number of images (vs the DeepFool UAP), dependence on q, transfer across networks."""
from __future__ import annotations

import math
import time

import pandas as pd
import torch

from .attacks import deepfool_uap, sv_uap
from .metrics import fooling_rate, predict
from .threats import make_threat

P_OF = {"linf": math.inf, "l2": 2.0}


def random_perturbation(norm: str, eps: float, shape, gen: torch.Generator) -> torch.Tensor:
    """Noise of the same norm: random signs (ℓ∞) or a random direction on the ℓ2 sphere."""
    if norm == "linf":
        return (torch.randint(0, 2, shape, generator=gen) * 2 - 1).float() * eps
    g = torch.randn(shape, generator=gen)
    return g / g.norm() * eps


def _fool(model, x_eval, clean, delta, device) -> float:
    return fooling_rate(clean, predict(model, x_eval, delta=delta, device=device))


def fool_pm(model, x_eval, clean, delta, device) -> dict:
    """Fooling rate of both signs of a singular vector on `x_eval` (its sign is arbitrary and the pixel
    clamp breaks the ± symmetry). `fooling_rate` is the larger one: optimistic when `x_eval` is the
    evaluation set, so the experiments pick the sign on the base batch instead (`signed`)."""
    plus, minus = _fool(model, x_eval, clean, delta, device), _fool(model, x_eval, clean, -delta, device)
    return {"fooling_rate": max(plus, minus), "fooling_rate_plus": plus, "fooling_rate_minus": minus,
            "images": int(x_eval.shape[0])}


def signed(model, x_base, delta, device) -> torch.Tensor:
    """±δ, whichever fools more of the base batch the singular vector was computed from (ties: +δ): the
    sign is chosen without looking at the evaluation images (004_…: the sign of a singular vector is
    arbitrary)."""
    base_clean = predict(model, x_base, device=device)
    return delta if _fool(model, x_base, base_clean, delta, device) >= \
        _fool(model, x_base, base_clean, -delta, device) else -delta


def fool_signed(model, x_base, x_eval, clean, delta, device) -> tuple[dict, torch.Tensor]:
    """Fooling rate on `x_eval` of the sign chosen on the base batch (`signed`), beside both signs'."""
    d = signed(model, x_base, delta, device)
    both = fool_pm(model, x_eval, clean, delta, device)
    fr = both["fooling_rate_plus"] if d is delta else both["fooling_rate_minus"]
    return {**both, "fooling_rate": fr, "fooling_rate_best_sign": both["fooling_rate"],
            "sign": 1 if d is delta else -1}, d


def layer_sweep(model, layers: list[str], x_base, x_eval, *, norm, eps, q, iters, gen, device, seed: int = 0,
                tol: float = 0.0):
    """Singular value and fooling rate (max over ±v) of the SV-UAP of every hidden layer (+ a noise
    baseline row); `seed` labels the rows (the caller draws x_base and gen per seed)."""
    clean = predict(model, x_eval, device=device)
    rows, deltas = [], []
    for depth, layer in enumerate(layers):
        t0 = time.time()
        r = sv_uap(model, x_base.to(device), layer, eps, p=P_OF[norm], q=q, iters=iters, generator=gen, tol=tol)
        secs = time.time() - t0
        fr, d = fool_signed(model, x_base, x_eval, clean, r.delta, device)
        rows.append({"seed": seed, "layer": layer, "depth": depth, "singular_value": float(r.singular_value), **fr,
                     "iters": len(r.history), "seconds": round(secs, 2), "seconds_per_iter": secs / len(r.history)})
        deltas.append(d.detach().cpu())
        print(f"seed {seed} {layer}: σ={float(r.singular_value):.4g} fooling rate {fr['fooling_rate']:.3f} "
              f"(+v {fr['fooling_rate_plus']:.3f}, −v {fr['fooling_rate_minus']:.3f}; {secs:.1f}s)", flush=True)
    noise = random_perturbation(norm, eps, tuple(x_base.shape[1:]), gen)
    nf = _fool(model, x_eval, clean, noise, device)
    rows.append({"seed": seed, "layer": "random noise", "depth": -1, "singular_value": float("nan"),
                 "fooling_rate": nf, "fooling_rate_plus": nf, "fooling_rate_minus": float("nan"),
                 "images": int(x_eval.shape[0]), "seconds": 0.0, "seconds_per_iter": float("nan")})
    return pd.DataFrame(rows), torch.stack(deltas)


def best_layer(table: pd.DataFrame) -> str:
    """The layer of highest fooling rate (mean over seeds)."""
    real = table[table.depth >= 0]
    return str(real.groupby("layer").fooling_rate.mean().idxmax())


def images_sweep(model, layer: str, x_train, x_eval, n_images: list[int], *, norm, eps, q, iters, df_cfg, gen,
                 device, tol: float = 0.0, batches: int = 1):
    """Fooling rate against the number of images the perturbation is computed from: SV-UAP vs DeepFool
    UAP, on `batches` independent draws of the images (each batch b: its own images, nested over the
    counts, and its own power-method start), so the claims' intervals are over base batches."""
    clean = predict(model, x_eval, device=device)
    rows = []
    for b in range(batches):
        perm = torch.randperm(x_train.shape[0], generator=gen)
        for n in n_images:
            base = x_train[perm[:n]]
            t0 = time.time()
            r = sv_uap(model, base.to(device), layer, eps, p=P_OF[norm], q=q, iters=iters, generator=gen, tol=tol)
            fr, _ = fool_signed(model, base, x_eval, clean, r.delta, device)
            rows.append({"batch": b, "method": "sv_uap", "n_images": n, **fr, "seconds": round(time.time() - t0, 2)})
            t0 = time.time()
            d = deepfool_uap(model, base, eps, p=P_OF[norm], delta=df_cfg["delta"], max_passes=df_cfg["max_passes"],
                             max_iter_df=df_cfg["max_iter"], overshoot=df_cfg["overshoot"],
                             batch_size=df_cfg["batch_size"], generator=gen, device=device)
            f = _fool(model, x_eval, clean, d.delta, device)    # DeepFool's δ has a sign: no ± here
            rows.append({"batch": b, "method": "deepfool_uap", "n_images": n, "fooling_rate": f, "fooling_rate_plus": f,
                         "fooling_rate_minus": float("nan"), "images": int(x_eval.shape[0]),
                         "seconds": round(time.time() - t0, 2)})
            print(f"batch {b} n={n}: sv {rows[-2]['fooling_rate']:.3f}, deepfool {rows[-1]['fooling_rate']:.3f}", flush=True)
    return pd.DataFrame(rows)


def q_sweep(model, layer, x_base, x_eval, q_values, *, norm, eps, iters, gen, device, tol: float = 0.0):
    clean = predict(model, x_eval, device=device)
    rows = []
    for q in q_values:
        r = sv_uap(model, x_base.to(device), layer, eps, p=P_OF[norm], q=q, iters=iters, generator=gen, tol=tol)
        rows.append({"q": q, "singular_value": float(r.singular_value),
                     **fool_signed(model, x_base, x_eval, clean, r.delta, device)[0]})
    return pd.DataFrame(rows)


def transfer_matrix(models: dict, deltas: dict, x_eval, device, norm: str, eps: float, gen) -> pd.DataFrame:
    """Fooling rate of each source model's perturbation on every target model (+ noise baseline); each
    singular vector with the sign its source chose on its own base batch (`signed`, in the layer sweep)."""
    noise = random_perturbation(norm, eps, tuple(x_eval.shape[1:]), gen)
    threat = make_threat(norm, eps)
    rows = []
    for tgt, model in models.items():
        clean = predict(model, x_eval, device=device)
        for src, d in {**deltas, "random noise": noise}.items():
            assert float(threat.norm(d[None])) <= eps * (1 + 1e-4)
            fr = {"fooling_rate": _fool(model, x_eval, clean, d, device), "images": int(x_eval.shape[0])}
            rows.append({"source": src, "target": tgt, **fr})
    return pd.DataFrame(rows)
