"""One (model, interpretation) experiment of S2: every perturbation of Table 1, evaluated on the same
test images by the normalised dissimilarity (eq. 9) and the fooling rate (Table 2)."""
from __future__ import annotations

import time
from functools import partial

import pandas as pd
import torch

from ..attacks import classification_uap, interpretation_fgm, interpretation_pgd, upi_grad, upi_pca
from ..interpret import get_interpreter
from ..metrics import fooling_rate, interpretation_dissimilarity, predict
from ..threats import apply_perturbation

# (method, attack group, type) in the order of the paper's Table 1
METHODS = [("random_per_image", "random", "per_image"), ("random_universal", "random", "universal"),
           ("per_image_pgd", "interpretation", "per_image"), ("per_image_fgm", "interpretation", "per_image"),
           ("upi_pca_pgd", "interpretation", "universal"), ("upi_pca_fgm", "interpretation", "universal"),
           ("upi_grad", "interpretation", "universal"), ("classification_uap", "classification", "universal")]
UNIVERSAL = [m for m, _, t in METHODS if t == "universal" and m != "random_universal"]
UPIS = ["upi_pca_pgd", "upi_pca_fgm", "upi_grad"]


def interp_options(u: dict, interpreter: str) -> dict:
    """Options of the interpreter from config.upi (IG: steps M and the reference x⁰)."""
    return {"steps": u["ig"]["steps"], "reference": u["ig"]["reference"]} if interpreter == "ig" else {}


def maps_of(model, interp, x: torch.Tensor, target: torch.Tensor, batch_size: int, device) -> torch.Tensor:
    """Interpretation maps of a dataset, in batches, without graphs; [N, H, W] on the CPU."""
    out = []
    for i in range(0, x.shape[0], batch_size):
        xb = x[i:i + batch_size].to(device)
        out.append(interp(model, xb, target[i:i + batch_size].to(device)).detach().cpu())
    return torch.cat(out)


def gaussian_directions(n: int, shape, eps: float, gen: torch.Generator) -> torch.Tensor:
    """n Gaussian perturbations, each rescaled to ℓ2 norm ε (the random baselines of Table 1)."""
    g = torch.randn((n, *shape), generator=gen)
    return eps * g / g.flatten(1).norm(dim=1).view(-1, *([1] * len(shape)))


def to_norm(delta: torch.Tensor, eps: float) -> torch.Tensor:
    """The paper scales every universal perturbation to ‖δ‖₂ = ε before evaluating it."""
    return eps * delta / delta.norm().clamp_min(1e-12)


def run_experiment(model, interpreter: str, x_train: torch.Tensor, x_eval: torch.Tensor, u: dict, *,
                   gen: torch.Generator, device) -> tuple[pd.DataFrame, dict, dict]:
    """Returns (rows of Tables 1–2 for this pair, tensors to save, timings/diagnostics)."""
    opts = interp_options(u, interpreter)
    interp = partial(get_interpreter(interpreter), **opts)
    eps, bs, beta, nr = u["eps"], u["batch_size"], u["softplus_beta"], u["noise_ratio"]
    common = dict(interpreter=interpreter, eps=eps, noise_ratio=nr, interp_options=opts, softplus_beta=beta,
                  generator=gen, device=device)
    clean_train = predict(model, x_train, device=device)
    clean_eval = predict(model, x_eval, device=device)
    ref = maps_of(model, interp, x_eval, clean_eval, bs, device)

    def evaluate(delta: torch.Tensor, k: int | None = None) -> tuple[torch.Tensor, float]:
        """Per-image eq. 9 and the fooling rate of one universal δ [C,H,W] or per-image δ [N,C,H,W],
        on the first k evaluation images (all by default)."""
        k = x_eval.shape[0] if k is None else k
        xp = apply_perturbation(x_eval[:k], delta)
        d = interpretation_dissimilarity(ref[:k], maps_of(model, interp, xp, clean_eval[:k], bs, device))
        return d, fooling_rate(clean_eval[:k], predict(model, xp, device=device))

    deltas, secs, info, scores = {}, {}, {}, {}
    t0 = time.time()
    pca = u["upi_pca"]
    r = upi_pca(model, x_train, clean_train, epochs=pca["epochs"], batch_size=bs, variant="pgd", alpha=pca["alpha"],
                pgd_steps=pca["pgd_steps"], pgd_step_ratio=pca["pgd_step_ratio"], rows=pca["rows"],
                desc=f"UPI-PCA-PGD {interpreter}", **common)
    deltas["upi_pca_pgd"], secs["upi_pca_pgd"], info["upi_pca_pgd"] = r.delta, time.time() - t0, r.info
    t0 = time.time()
    r = upi_pca(model, x_train, clean_train, epochs=pca["epochs"], batch_size=bs, variant="fgm", alpha=pca["alpha"],
                rows=pca["rows"], desc=f"UPI-PCA-FGM {interpreter}", **common)
    deltas["upi_pca_fgm"], secs["upi_pca_fgm"], info["upi_pca_fgm"] = r.delta, time.time() - t0, r.info
    t0 = time.time()
    ug = u["upi_grad"]
    r = upi_grad(model, x_train, clean_train, epochs=ug["epochs"], batch_size=bs, step=ug["step"], alpha=ug["alpha"],
                 step_ratio=ug["step_ratio"], sign_flip=ug["sign_flip"], desc=f"UPI-Grad {interpreter}", **common)
    deltas["upi_grad"], secs["upi_grad"], info["upi_grad"] = to_norm(r.delta, eps), time.time() - t0, r.info
    info["upi_grad"]["norm_before_scaling"] = float(r.delta.norm())
    t0 = time.time()
    c = u["classification_uap"]
    deltas["classification_uap"] = to_norm(classification_uap(
        model, x_train, clean_train, eps=eps, epochs=c["epochs"], batch_size=bs, step_ratio=c["step_ratio"],
        generator=gen, device=device), eps)
    secs["classification_uap"] = time.time() - t0
    for m in UNIVERSAL:
        scores[m] = evaluate(deltas[m])

    # per-image attacks on the first `per_image.images` evaluation images (all when null): 150 PGD steps
    # (the paper's count) on every image would cost 15x the rest of the experiment
    p = u["per_image"]
    k = min(p["images"] or x_eval.shape[0], x_eval.shape[0])
    t0 = time.time()
    per_pgd = interpretation_pgd(model, x_eval[:k], clean_eval[:k], steps=p["steps"], step_ratio=p["step_ratio"],
                                 batch_size=bs, desc=f"per-image PGD {interpreter}", **common)
    secs["per_image_pgd"] = time.time() - t0
    scores["per_image_pgd"] = evaluate(per_pgd, k)
    t0 = time.time()
    per_fgm = interpretation_fgm(model, x_eval[:k], clean_eval[:k], batch_size=bs,
                                 desc=f"per-image FGM {interpreter}", **common)
    secs["per_image_fgm"] = time.time() - t0
    scores["per_image_fgm"] = evaluate(per_fgm, k)

    # Random baselines: Gaussian directions of norm ε, averaged over `random_seeds` draws.
    shape = tuple(x_eval.shape[1:])
    for m, n_each in (("random_universal", 1), ("random_per_image", x_eval.shape[0])):
        t0 = time.time()
        runs = []
        for _ in range(u["random_seeds"]):
            d = gaussian_directions(n_each, shape, eps, gen)
            runs.append(evaluate(d[0] if n_each == 1 else d))
        scores[m] = (torch.stack([r[0] for r in runs]).mean(0), sum(r[1] for r in runs) / len(runs))
        secs[m] = time.time() - t0
        if m == "random_universal":
            deltas[m] = d[0]

    norms = {m: float(d.norm()) for m, d in deltas.items()}
    norms.update(per_image_pgd=float(per_pgd.flatten(1).norm(dim=1).mean()),
                 per_image_fgm=float(per_fgm.flatten(1).norm(dim=1).mean()), random_per_image=float(eps))
    rows = []
    for m, group, kind in METHODS:
        d, fr = scores[m]
        rows.append({"interpreter": interpreter, "method": m, "attack": group, "type": kind, "images": len(d),
                     "dissimilarity": float(d.mean()), "dissimilarity_sd": float(d.std()),
                     "fooling_rate": fr, "delta_norm": norms[m], "seconds": round(secs[m], 2)})
    k = min(u["examples"], x_eval.shape[0])
    ex = x_eval[:k]
    tensors = {f"delta_{m}": deltas[m] for m in deltas}
    # per-image eq. 9 of every method (image i = evaluation image i): the claims' bootstrap resamples these
    tensors.update({f"dissimilarity_{m}": scores[m][0].float() for m, _, _ in METHODS})
    tensors["examples"] = ex
    tensors["maps_clean"] = ref[:k]
    for m in UNIVERSAL + ["random_universal"]:
        tensors[f"maps_{m}"] = maps_of(model, interp, apply_perturbation(ex, deltas[m]), clean_eval[:k], bs, device)
    tensors["maps_per_image_pgd"] = maps_of(model, interp, apply_perturbation(ex, per_pgd[:k]), clean_eval[:k], bs,
                                            device)
    return pd.DataFrame(rows), tensors, {"attack_info": info, "clean_train_pred": clean_train.bincount().tolist()}
