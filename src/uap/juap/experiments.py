"""S3 experiments (002_0c35d062ce311dce.txt): the runs behind the Tables II–VI analogues.

run_universal  one (model, norm): DeepFool UAP, generative UAP (λ = 0) per generator, JUAP per
               generator × interpreter; every perturbation evaluated under every interpreter
run_losses     Table VI: R-JUAP-CAM with the least-likely (eq. 8) and targeted (eq. 9) losses, GUAP-C_t
run_jap        Table IV: per-image PGD vs the image-dependent JAP under one interpreter
tables         Tables II–VI from those CSVs
"""
from __future__ import annotations

import math
import time

import pandas as pd
import torch

from ..attacks import deepfool_uap
from ..metrics import as_float, attack_success_rate, predict
from ..threats import make_threat
from ..train import untargeted_pgd
from .evaluate import Evaluator
from .jap import train_jap
from .juap import train_juap

GEN_PREFIX = {"resnet": "R", "unet": "U"}
INTERP_NAME = {"cam": "CAM", "gradcam": "GradCAM", "rts": "RTS"}


def _juap_kwargs(s3: dict, interpreter: str | None, masker, device) -> dict:
    g, j = s3["generator"], s3["joint"]
    lam = j["lam"][interpreter] if interpreter else 0.0
    return dict(zeta=None, interpreter=interpreter, lam=lam, delta=j["delta"], steps=g["steps"],
                batch_size=g["batch_size"], lr=g["lr"], width=g["width"], blocks=g["blocks"],
                smooth_relu=j["smooth_relu"], masker=masker, encoder_weight=j["rts_encoder_weight"], device=device)


LOSS_TAG = {"ce": "CE", "least_likely": "Cmin", "targeted": "Ct"}


def _generator_run(model, xtr, ytr, s3, *, arch, norm, interpreter, masker, gen, device, loss=None,
                   target_class=None):
    loss = loss or s3["joint"]["loss"]
    kw = _juap_kwargs(s3, interpreter, masker, device)
    kw["zeta"] = s3["norms"][norm]
    name = f"{GEN_PREFIX[arch]}-{'JUAP-' + INTERP_NAME[interpreter] if interpreter else 'GUAP'}"
    res = train_juap(model, xtr, ytr, generator_arch=arch, norm=norm, loss=loss, target_class=target_class, gen=gen,
                     desc=name, **kw)
    last = res.history[-10:]
    print(f"{name} {norm} loss={loss}: {res.seconds:.1f}s, last l_cls {sum(h['l_cls'] for h in last) / len(last):.3f}, "
          f"l_int {sum(h['l_int'] for h in last) / len(last):.4g}", flush=True)
    return name, res


def run_universal(model, xtr, ytr, xev, s3: dict, *, norm: str, masker, gen, device, n_panel: int):
    """Returns (table, tensors): one row per perturbation with FR and ℓ1/IoU under every interpreter."""
    interps = s3["interpreters"]
    ev = Evaluator(model, xev, interps, masker=masker, device=device, iou_threshold=s3["iou_threshold"])
    rows, deltas, names = [], [], []
    tensors = {"x": ev.x[:n_panel].cpu()}
    for i in interps:
        tensors[f"maps.benign.{i}"] = ev.clean_maps[i][:n_panel]

    def record(name, method, generator, attacked, delta, secs, seed=0):
        r = {"method": name, "kind": method, "generator": generator, "attacked_interpreter": attacked,
             "norm": norm, "zeta": s3["norms"][norm], "seed": seed, **ev(delta), "seconds": round(secs, 1)}
        rows.append(r)
        if seed == 0:                   # perturbations and panels of the first seed only
            deltas.append(delta.cpu())
            names.append(name)
            for i, m in ev.example_maps(delta, n_panel).items():
                tensors[f"maps.{name}.{i}"] = m
        print(f"  {name} (seed {seed}): " + ", ".join(f"{k}={v:.3f}" for k, v in r.items() if isinstance(v, float)),
              flush=True)

    u = s3["uap"]
    t0 = time.time()
    # the baseline draws from a copy of the stream, so the generator runs below get the same random
    # numbers however many passes it takes
    uap_gen = torch.Generator(device=gen.device)
    uap_gen.set_state(gen.get_state())
    res = deepfool_uap(model, xtr[:u["images"]], s3["norms"][norm], delta=u["delta"],
                       p=math.inf if norm == "linf" else 2, max_iter_df=u["max_iter"], overshoot=u["overshoot"],
                       max_passes=u["max_passes"], num_classes_considered=u["num_classes"],
                       batch_size=u["batch_size"], generator=uap_gen, device=device)
    record("UAP", "UAP", "-", "-", res.delta, time.time() - t0)
    seeds = s3["seeds"] if norm == s3["main_norm"] else 1
    for seed in range(seeds):           # each seed: the next generator initialisation, noise and minibatches
        for arch in s3["generators"]:
            for interp in [None] + interps:
                name, r = _generator_run(model, xtr, ytr, s3, arch=arch, norm=norm, interpreter=interp,
                                         masker=masker, gen=gen, device=device)
                record(name, "JUAP" if interp else "GUAP", arch, interp or "-", r.delta, r.seconds, seed)
    tensors["delta"] = torch.stack(deltas)
    return pd.DataFrame(rows), tensors, names


def run_losses(model, xtr, ytr, xev, s3: dict, *, norm: str, masker, gen, device):
    """Table VI: R-JUAP-CAM (the paper's setting) with the untargeted loss the main runs do not use
    (eq. 7 or 8), the targeted eq. 9, and the targeted generative UAP."""
    arch, interp = s3["generators"][0], "cam" if "cam" in s3["interpreters"] else s3["interpreters"][0]
    ev = Evaluator(model, xev, [interp], masker=masker, device=device, iou_threshold=s3["iou_threshold"])
    t = s3["losses"]["target_class"]
    other = "ce" if s3["joint"]["loss"] == "least_likely" else "least_likely"
    rows = []
    for loss, attacked in ((other, interp), ("targeted", interp), ("targeted", None)):
        name, r = _generator_run(model, xtr, ytr, s3, arch=arch, norm=norm, interpreter=attacked, masker=masker,
                                 gen=gen, device=device, loss=loss, target_class=t)
        m = ev(r.delta)
        adv = predict(model, ev.x, device=device, delta=r.delta)
        rows.append({"method": f"{name}-{LOSS_TAG[loss]}", "loss": loss,
                     "attacked_interpreter": attacked or "-", "eval_interpreter": interp, "norm": norm,
                     "fooling_ratio": m["fooling_ratio"], "l1": m[f"l1_{interp}"], "iou": m[f"iou_{interp}"],
                     "target_success": attack_success_rate(adv, t) if loss == "targeted" else float("nan"),
                     "seconds": round(r.seconds, 1)})
    return pd.DataFrame(rows)


def run_jap(model, x, y, s3: dict, *, norm: str, masker, gen, device, n_panel: int):
    """Table IV: per-image untargeted PGD vs JAP (eq. 17), both in the ζ-ball of `norm`."""
    j = s3["jap"]
    interp = j["interpreter"]
    ev = Evaluator(model, x, [interp], masker=masker, device=device, iou_threshold=s3["iou_threshold"])
    zeta = s3["norms"][norm]
    t0 = time.time()
    threat = make_threat(norm, zeta)
    xf = as_float(x).to(device)
    x_pgd = torch.cat([untargeted_pgd(model, xf[i:i + 256], y[i:i + 256].to(device), threat, s3["pgd"]["steps"],
                                      s3["pgd"]["step_ratio"], gen) for i in range(0, len(xf), 256)])
    d_pgd = (x_pgd - xf).cpu()
    t_pgd = time.time() - t0
    t0 = time.time()
    d_jap = train_jap(model, x, y, norm=norm, zeta=zeta, interpreter=interp, lam=s3["joint"]["lam"][interp],
                      delta=s3["joint"]["delta"], steps=j["steps"], lr=j["lr"], width=j["width"], chunk=j["chunk"],
                      smooth_relu=s3["joint"]["smooth_relu"], masker=masker, gen=gen, device=device)
    t_jap = time.time() - t0
    rows, tensors = [], {"x": ev.x[:n_panel].cpu(), f"maps.benign.{interp}": ev.clean_maps[interp][:n_panel]}
    for name, d, secs in (("PGD", d_pgd, t_pgd), ("JAP", d_jap, t_jap)):
        m = ev(d)
        rows.append({"method": name, "interpreter": interp, "norm": norm, "zeta": zeta,
                     "fooling_ratio": m["fooling_ratio"], "l1": m[f"l1_{interp}"], "iou": m[f"iou_{interp}"],
                     "max_norm": float(threat.norm(d).max()), "seconds": round(secs, 1), "images": len(x)})
        tensors[f"maps.{name}.{interp}"] = ev.example_maps(d, n_panel)[interp]
        tensors[f"delta.{name}"] = d[:n_panel]
        print(f"  {name}: " + ", ".join(f"{k}={v:.3f}" for k, v in rows[-1].items() if isinstance(v, float)),
              flush=True)
    return pd.DataFrame(rows), tensors


# --------------------------------------------------------------------------------------------- tables
def _long(universal: pd.DataFrame, interps: list[str]) -> pd.DataFrame:
    """One row per (perturbation, evaluated interpreter)."""
    out = []
    for i in interps:
        t = universal[["model", "method", "kind", "generator", "attacked_interpreter", "norm", "zeta",
                       "fooling_ratio"]].copy()
        t["eval_interpreter"] = i
        t["l1"], t["iou"] = universal[f"l1_{i}"], universal[f"iou_{i}"]
        t["l1_fooled"], t["iou_fooled"] = universal[f"l1_fooled_{i}"], universal[f"iou_fooled_{i}"]
        out.append(t)
    return pd.concat(out, ignore_index=True)


def tables(universal: pd.DataFrame, losses: pd.DataFrame, jap: pd.DataFrame, *, main_norm: str,
           interps: list[str], main_loss: str = "least_likely") -> dict[str, pd.DataFrame]:
    """Tables II–VI analogues (first seed; the claims use every seed). JUAP rows are evaluated under the
    interpreter they attacked; UAP and GUAP rows (interpretation-blind) under every interpreter."""
    if "seed" in universal:
        universal = universal[universal.seed == 0]
    long = _long(universal, interps)
    relevant = long[(long.attacked_interpreter == "-") | (long.attacked_interpreter == long.eval_interpreter)]
    main = universal[universal.norm == main_norm]
    t2 = main[["model", "norm", "zeta", "method", "fooling_ratio"]].reset_index(drop=True)
    t3 = relevant[relevant.norm == main_norm][["model", "norm", "eval_interpreter", "method", "fooling_ratio", "l1",
                                               "iou", "l1_fooled", "iou_fooled"]].sort_values(["model", "eval_interpreter", "method"])
    t5 = relevant[relevant.kind == "JUAP"][["model", "norm", "zeta", "method", "fooling_ratio", "l1", "iou"]]
    ce = relevant[(relevant.norm == main_norm) & (relevant.eval_interpreter == losses.eval_interpreter.iloc[0])
                  & (relevant.generator.isin([losses_generator(losses)]))]
    ce = ce[ce.model == losses.model.iloc[0]]
    ce = ce.assign(loss=main_loss, method=ce.method + f"-{LOSS_TAG[main_loss]}", target_success=float("nan"))
    t6 = pd.concat([ce[["model", "method", "loss", "norm", "fooling_ratio", "l1", "iou", "target_success"]],
                    losses[["model", "method", "loss", "norm", "fooling_ratio", "l1", "iou", "target_success"]]],
                   ignore_index=True)
    t4 = jap[["model", "method", "interpreter", "norm", "zeta", "fooling_ratio", "l1", "iou", "max_norm", "seconds"]]
    return {"table2_fooling": t2, "table3_discrepancy": t3.reset_index(drop=True), "table4_image_dependent": t4,
            "table5_norms": t5.reset_index(drop=True), "table6_losses": t6}


def losses_generator(losses: pd.DataFrame) -> str:
    first = str(losses.method.iloc[0])
    return {v: k for k, v in GEN_PREFIX.items()}[first.split("-")[0]]


def juap_vs_plain(universal: pd.DataFrame, norm: str) -> pd.DataFrame:
    """JUAP against the generative UAP of the same model, generator and seed, under the attacked interpreter."""
    u = universal[universal.norm == norm]
    if "seed" not in u:
        u = u.assign(seed=0)
    rows = []
    for _, j in u[u.kind == "JUAP"].iterrows():
        g = u[(u.kind == "GUAP") & (u.model == j.model) & (u.generator == j.generator) & (u.seed == j.seed)].iloc[0]
        i = j.attacked_interpreter
        rows.append({"model": j.model, "generator": j.generator, "seed": j.seed, "interpreter": i,
                     "fr_juap": j.fooling_ratio, "fr_plain": g.fooling_ratio, "l1_juap": j[f"l1_{i}"],
                     "l1_plain": g[f"l1_{i}"], "iou_juap": j[f"iou_{i}"], "iou_plain": g[f"iou_{i}"],
                     "l1_fooled_juap": j[f"l1_fooled_{i}"], "l1_fooled_plain": g[f"l1_fooled_{i}"],
                     "iou_fooled_juap": j[f"iou_fooled_{i}"], "iou_fooled_plain": g[f"iou_fooled_{i}"]})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ λ rule
def pick_lambda(sweep: pd.DataFrame, tol: float) -> dict[str, float]:
    """The λ rule of S3, fixed before any sweep: per interpreter, the largest λ of the grid whose JUAP
    fooling ratio (mean over generator seeds, on the training images) stays within `tol` of the
    generative UAP's (mean over the same seeds); the smallest λ of the grid when none does.
    sweep: rows (interpreter, lam, seed, fooling_ratio) with interpreter "-" for the GUAP runs."""
    guap = float(sweep[sweep.interpreter == "-"].fooling_ratio.mean())
    out = {}
    for interp, t in sweep[sweep.interpreter != "-"].groupby("interpreter"):
        fr = t.groupby("lam").fooling_ratio.mean()
        ok = fr[fr >= guap - tol]
        out[interp] = float(ok.index.max() if len(ok) else fr.index.min())
    return out


def run_lambda_sweep(model, xtr, ytr, s3: dict, *, norm: str, masker, gen, device) -> pd.DataFrame:
    """GUAP and JUAP over `s3.lambda_rule.grid` × interpreters × `s3.lambda_rule.seeds` generator seeds
    (first generator), fooling ratio on the training images (the evaluation images stay unseen)."""
    rule = s3["lambda_rule"]
    ev = Evaluator(model, xtr, [], masker=masker, device=device, iou_threshold=s3["iou_threshold"])
    arch, rows = s3["generators"][0], []
    for seed in range(rule["seeds"]):
        for interp, lam in [(None, 0.0)] + [(i, lam) for i in s3["interpreters"] for lam in rule["grid"]]:
            lams = {**s3["joint"]["lam"], **({interp: lam} if interp else {})}
            cfg = {**s3, "joint": {**s3["joint"], "lam": lams}}
            name, r = _generator_run(model, xtr, ytr, cfg, arch=arch, norm=norm, interpreter=interp, masker=masker,
                                     gen=gen, device=device)
            rows.append({"seed": seed, "interpreter": interp or "-", "lam": lam, "method": name,
                         "fooling_ratio": ev(r.delta)["fooling_ratio"], "seconds": round(r.seconds, 1)})
            print(f"  seed {seed} {name} λ={lam:g}: fooling ratio {rows[-1]['fooling_ratio']:.3f}", flush=True)
    return pd.DataFrame(rows)
