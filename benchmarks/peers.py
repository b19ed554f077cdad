"""uap's attacks against the public tools (torchattacks, ART) on the same model and data, in one run.

    python benchmarks/peers.py --out results/peers/peers.csv [--quick] [--precision bf16]

Needs the optional `bench` extra (`pip install -e '.[bench]'`: torchattacks and
adversarial-robustness-toolbox). Three comparisons, each with the same ε, steps/passes and images:

1. per-example targeted PGD ℓ2: `uap.attacks.pgd.targeted_pgd` vs torchattacks `PGDL2` (targeted by
   label, no random start, same step size);
2. targeted universal PGD (eq. 1 of S1): `uap.attacks.universal.universal_pgd` vs ART
   `TargetedUniversalPerturbation` (FGSM attacker with `targeted: True`, the same ℓ2 step per image);
3. DeepFool UAP: `uap.attacks.deepfool_uap.deepfool_uap` vs ART `UniversalPerturbation(attacker=
   "deepfool")`, the same number of passes (δ = 0, so neither stops early) and DeepFool settings.

Every adapter returns perturbations; one function (`score`) turns them into the success metric for
all tools. Each timing: one warm-up call on a few images, then the median of 3 runs (1 run when the
first one takes more than 60 s). ratio = their time / our time. `--precision bf16` runs our PGD attacks
inside `torch.autocast("cpu", bfloat16)`, as the default profile runs them (our DeepFool UAP stays fp32,
as the package always runs it); `--peers-precision same` (default) runs each peer in the same
precision as our attack it is compared with, `fp32` runs them as shipped. Scoring is always fp32.
DeepFool UAP is also timed at batch_size 1 (`uap (batch 1)`): the original sequential algorithm, one
image at a time at the latest v.

Every tool attacks the identical model object, so a ratio measures the attacks and nothing else. Each
comparison runs twice in one invocation (`--models both`, the default): on the module as trained
(batch norms in place: what torchattacks/ART users attack) and on its batch-norm-folded copy (what the
pipeline's `load_model` hands our attacks; `uap.models.fold`, the same function), on the same images.
The CSV has a `model` column (trained / folded); `<out stem>_ratios.csv` and the second printed table
put the two ratios of each tool side by side, with folded / trained seconds per tool.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from uap.attacks.deepfool_uap import deepfool_uap
from uap.attacks.pgd import targeted_pgd
from uap.attacks.universal import universal_pgd
from uap.data import load_dataset
from uap.metrics import attack_success_rate, fooling_rate, predict
from uap.models import build_model
from uap.models.fold import fold_batchnorm
from uap.threats import make_threat
from uap.train import train_classifier
from uap.utils import autocast, generator

SINGLE_RUN_AFTER_S = 60.0

FULL = {"train_images": 8192, "width": 8, "train_epochs": 2, "eps": 2.0, "pgd_images": 1000, "pgd_steps": 10,
        "univ_images": 256, "univ_passes": 5, "univ_batch": 64, "univ_target": 0, "eval_images": 1000,
        "df_images": 128, "df_passes": 2, "df_max_iter": 50, "df_overshoot": 0.02, "df_classes": 10}
QUICK = {**FULL, "train_images": 512, "pgd_images": 64, "univ_images": 32, "univ_passes": 2, "univ_batch": 16,
         "eval_images": 128, "df_images": 16, "df_passes": 1}


# --------------------------------------------------------------------------- the one metric
def score(model, x: torch.Tensor, delta: torch.Tensor, *, labels: torch.Tensor, target=None,
          clean: torch.Tensor | None = None) -> float:
    """Success of perturbation(s) `delta` (one per image, or one universal [C,H,W]) on images x, the
    same for every tool: targeted → uap.metrics.attack_success_rate (fraction at the target, images
    whose label is the target left out); untargeted → uap.metrics.fooling_rate against the clean
    predictions `clean`."""
    adv = predict(model, x, delta=delta)
    if target is not None:
        return attack_success_rate(adv, target, labels)
    if clean is None:
        clean = predict(model, x)
    return fooling_rate(clean, adv)


# --------------------------------------------------------------------------- adapters
# Each returns the perturbation(s) in [0,1] pixel space: [N, C, H, W] per example, [C, H, W] universal.
def ours_pgd(model, x, target, *, eps, steps, step_size):
    return targeted_pgd(model, x, target, make_threat("l2", eps), steps=steps, step_ratio=step_size / eps).delta


def torchattacks_pgd(model, x, target, *, eps, steps, step_size):
    import torchattacks
    atk = torchattacks.PGDL2(model, eps=eps, alpha=step_size, steps=steps, random_start=False)
    atk.set_mode_targeted_by_label(quiet=True)
    return (atk(x, target) - x).detach()


def ours_universal(model, x, target: int, *, eps, passes, step_size, batch_size, seed=0):
    return universal_pgd(model, x, target, make_threat("l2", eps), lr=step_size, epochs=passes,
                         batch_size=batch_size, generator=generator(seed)).delta[0]


def _num_classes(model, x) -> int:
    with torch.no_grad():
        return int(model(x[:1]).shape[1])


def _art_classifier(model, x):
    from art.estimators.classification import PyTorchClassifier
    return PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                             nb_classes=_num_classes(model, x), clip_values=(0.0, 1.0), device_type="cpu")


def art_universal(model, x, target: int, *, eps, passes, step_size=None, batch_size=None, seed=0):
    """ART's algorithm keeps an FGSM increment only when it reaches the target by itself, so its FGSM
    step is the whole radius ε (the largest the projection keeps; shorter steps rarely get there)."""
    from art.attacks.evasion import TargetedUniversalPerturbation
    random.seed(seed)
    np.random.seed(seed)
    atk = TargetedUniversalPerturbation(
        _art_classifier(model, x), attacker="fgsm", delta=0.0, max_iter=passes, eps=eps, norm=2,
        attacker_params={"targeted": True, "eps": eps, "norm": 2})
    y = np.eye(_num_classes(model, x), dtype=np.float32)[np.full(x.shape[0], target)]
    atk.generate(x.numpy(), y=y)
    return torch.from_numpy(np.asarray(atk.noise))


def ours_deepfool_uap(model, x, *, eps, passes, max_iter, overshoot, classes, seed=0, batch_size=16):
    return deepfool_uap(model, x, eps, p=2, delta=0.0, max_passes=passes, max_iter_df=max_iter,
                        overshoot=overshoot, num_classes_considered=classes, batch_size=batch_size,
                        generator=generator(seed)).delta


def ours_deepfool_uap_sequential(model, x, **kw):
    """batch_size 1: the original algorithm, one image at a time at the latest v (as ART runs it)."""
    return ours_deepfool_uap(model, x, **kw, batch_size=1)


def art_deepfool_uap(model, x, *, eps, passes, max_iter, overshoot, classes, seed=0):
    from art.attacks.evasion import UniversalPerturbation
    random.seed(seed)
    np.random.seed(seed)
    atk = UniversalPerturbation(
        _art_classifier(model, x), attacker="deepfool", delta=0.0, max_iter=passes, eps=eps, norm=2,
        attacker_params={"max_iter": max_iter, "epsilon": overshoot, "nb_grads": classes, "verbose": False},
        verbose=False)
    atk.generate(x.numpy())
    return torch.from_numpy(np.asarray(atk.noise))


def flat_delta(delta: torch.Tensor) -> torch.Tensor:
    """Universal noise as [C, H, W] (ART returns [1, C, H, W])."""
    return delta[0] if delta.dim() == 4 and delta.shape[0] == 1 else delta


# --------------------------------------------------------------------------- timing
def timed(fn, warm, precision: str = "fp32"):
    """Warm up once on a few images, then the median of 3 runs (1 run when it exceeds 60 s); every call
    inside the same autocast context (`precision`)."""
    cpu = torch.device("cpu")
    with autocast(cpu, precision):
        warm()
    times, out = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        with autocast(cpu, precision):
            out = fn()
        times.append(time.perf_counter() - t0)
        if times[0] > SINGLE_RUN_AFTER_S:
            break
    return statistics.median(times), len(times), out


# --------------------------------------------------------------------------- model and data
def prepare(cfg: dict, seed: int = 0):
    tr, _ = load_dataset("fashion_mnist", "train", download=False)
    te, _ = load_dataset("fashion_mnist", "test", download=False)
    g = generator(seed)
    idx = torch.randperm(len(tr), generator=g)[:cfg["train_images"]]
    torch.manual_seed(seed)
    model = build_model("resnet18", in_channels=1, num_classes=10, width=cfg["width"], image_size=28,
                        mean=[0.2860], std=[0.3530])
    ep = cfg["train_epochs"]
    tcfg = {"epochs": ep, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 128, "crop_padding": 2,
            "lr_drops": [ep - 1] if ep > 1 else []}                      # lr / 10 for the last epoch
    res = train_classifier(model, tr.x[idx], tr.y[idx], te.x[:2000], te.y[:2000], tcfg, seed=seed,
                           device=torch.device("cpu"), desc="peers model")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, te.floats(), te.y, res["test_acc"]


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """An eval-mode copy with its batch norms folded, as `uap.train.load_model` prepares every model."""
    m = copy.deepcopy(model).eval()
    fold_batchnorm(m)
    return m


class FloatLogits(torch.nn.Module):
    """The model with its logits cast to fp32 (under autocast they are bf16), for every tool alike."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.train(model.training)    # the wrapped model's mode (an attack restores the mode it finds)

    def forward(self, x):
        return self.model(x).float()


MODELS = ("trained", "folded")


def compare(model, x_all: torch.Tensor, y_all: torch.Tensor, cfg: dict, seed: int = 0, acc=float("nan")) -> list[dict]:
    """The three comparisons on `model` (eval mode) and test images x_all/y_all (disjoint slices per
    comparison, taken in order), once per model variant of cfg["models"] (default both): `trained` (the
    module as trained, batch norms in place) and `folded` (its batch norms folded into the convolutions,
    as `uap.train.load_model` hands every model to our attacks). Within a variant every tool attacks
    that same model object, on the same images; time_ratio = a tool's time / ours on the same model.
    Returns the table's rows (also written as CSV by `run`)."""
    eps, rows, at, prec = cfg["eps"], [], 0, cfg.get("precision", "fp32")
    peers_as_shipped = cfg.get("peers_precision", "same") == "fp32"
    variants = list(cfg.get("models", MODELS))
    if not variants or set(variants) - set(MODELS):
        raise ValueError(f"models must be among {MODELS}, got {variants}")
    attacked = {"trained": model, "folded": frozen_copy(model)}

    def precision_of(tool: str, comparison: str = "") -> str:
        if peers_as_shipped and not tool.startswith("uap"):
            return "fp32"
        return "fp32" if comparison.startswith("DeepFool") else prec   # the package's DeepFool is always fp32
    if prec != "fp32":          # ART turns logits into numpy arrays, which have no bfloat16
        model = FloatLogits(model)
        attacked = {k: FloatLogits(m) for k, m in attacked.items()}

    def take(k):
        nonlocal at
        at += k
        if at > x_all.shape[0]:
            raise ValueError(f"need {at} images, have {x_all.shape[0]}")
        return x_all[at - k:at], y_all[at - k:at]

    def add(variant, comparison, tool, seconds, runs, metric, value, images, setting):
        rows.append({"comparison": comparison, "tool": tool, "seconds": round(seconds, 3), "runs": runs,
                     "metric": metric, "value": round(value, 4), "images": images, "setting": setting,
                     "model_test_acc": round(acc, 4), "precision": precision_of(tool, comparison), "model": variant})

    # the same images for every variant (taken once)
    n_pgd, steps = cfg["pgd_images"], cfg["pgd_steps"]
    x, y = take(n_pgd)
    tgt = (y + 1 + torch.randint(0, 9, (n_pgd,), generator=generator(seed + 1))) % 10   # ≠ label
    n_univ, t = cfg["univ_images"], cfg["univ_target"]
    xb, yb = take(n_univ)
    xe, ye = take(cfg["eval_images"])
    n_df = cfg["df_images"]
    xd, yd = take(n_df)
    clean_d, clean_e = predict(model, xd), predict(model, xe)

    for variant in variants:
        m = attacked[variant]           # every tool below attacks this one object

        # 1. per-example targeted PGD ℓ2
        kw = {"eps": eps, "steps": steps, "step_size": eps / 3}
        setting = f"{steps} steps of ε/3, no random start"
        for tool, fn in (("uap", ours_pgd), ("torchattacks PGDL2", torchattacks_pgd)):
            s, r, d = timed(lambda: fn(m, x, tgt, **kw), lambda: fn(m, x[:4], tgt[:4], **kw), precision_of(tool))
            add(variant, "per-example targeted PGD l2", tool, s, r, "ASR",
                score(model, x, d, labels=y, target=tgt), n_pgd, setting)

        # 2. targeted universal PGD on a base set; success on the base set and on held-out images
        kw = {"eps": eps, "passes": cfg["univ_passes"], "step_size": 2 * eps / 3, "batch_size": cfg["univ_batch"]}
        setting = (f"target {t}, {cfg['univ_passes']} passes, l2 step 2ε/3 (ours: minibatches of "
                   f"{cfg['univ_batch']}; ART: one FGSM step of ε per image)")
        for tool, fn in (("uap", ours_universal), ("ART TargetedUniversalPerturbation", art_universal)):
            s, r, d = timed(lambda: fn(m, xb, t, **kw), lambda: fn(m, xb[:4], t, **{**kw, "passes": 1}),
                            precision_of(tool))
            d = flat_delta(d)
            add(variant, "targeted universal PGD l2", tool, s, r, "success (base set)",
                score(model, xb, d, labels=yb, target=t), n_univ, setting)
            add(variant, "targeted universal PGD l2", tool, s, r, "success (held-out)",
                score(model, xe, d, labels=ye, target=t), cfg["eval_images"], setting)

        # 3. DeepFool UAP, same passes over the same images
        kw = {"eps": eps, "passes": cfg["df_passes"], "max_iter": cfg["df_max_iter"],
              "overshoot": cfg["df_overshoot"], "classes": cfg["df_classes"]}
        setting = (f"{cfg['df_passes']} passes, DeepFool max_iter {cfg['df_max_iter']}, overshoot "
                   f"{cfg['df_overshoot']}, {cfg['df_classes']} classes")
        for tool, fn in (("uap", ours_deepfool_uap), ("uap (batch 1)", ours_deepfool_uap_sequential),
                         ("ART UniversalPerturbation(deepfool)", art_deepfool_uap)):
            s, r, d = timed(lambda: fn(m, xd, **kw), lambda: fn(m, xd[:4], **{**kw, "passes": 1}),
                            precision_of(tool, "DeepFool"))
            d = flat_delta(d)
            add(variant, "DeepFool UAP l2", tool, s, r, "fooling rate (images used)",
                score(model, xd, d, labels=yd, clean=clean_d), n_df, setting)
            add(variant, "DeepFool UAP l2", tool, s, r, "fooling rate (held-out)",
                score(model, xe, d, labels=ye, clean=clean_e), cfg["eval_images"], setting)

    ours = {(r["comparison"], r["model"]): r["seconds"] for r in rows if r["tool"] == "uap"}
    for r in rows:
        r["time_ratio"] = round(r["seconds"] / ours[(r["comparison"], r["model"])], 2)
    return rows


def side_by_side(rows: list[dict]) -> list[dict]:
    """One row per (comparison, tool): seconds and time ratio (their time / ours, both tools on the same
    model) under each model variant of the run, next to each other, and folded / trained seconds."""
    out: dict[tuple, dict] = {}
    for r in rows:
        o = out.setdefault((r["comparison"], r["tool"]), {"comparison": r["comparison"], "tool": r["tool"]})
        o[f"seconds_{r['model']}"] = r["seconds"]
        o[f"ratio_{r['model']}"] = r["time_ratio"]
    for o in out.values():
        if "seconds_trained" in o and "seconds_folded" in o:
            o["folded_over_trained"] = round(o["seconds_folded"] / o["seconds_trained"], 2)
    return list(out.values())


def ratio_table(rows: list[dict]) -> str:
    sbs = side_by_side(rows)
    variants = [v for v in MODELS if any(f"ratio_{v}" in o for o in sbs)]
    both = len(variants) == 2
    head = (["comparison", "tool"] + [f"their time / ours ({v})" for v in variants]
            + [f"time (s, {v})" for v in variants] + (["folded / trained time"] if both else []))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for o in sbs:
        cells = [o["comparison"], o["tool"]]
        cells += [f"{o[f'ratio_{v}']:.2f}×" if f"ratio_{v}" in o else "" for v in variants]
        cells += [f"{o[f'seconds_{v}']:.2f}" if f"seconds_{v}" in o else "" for v in variants]
        if both:
            cells.append(f"{o['folded_over_trained']:.2f}" if "folded_over_trained" in o else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(cfg: dict, out: Path, seed: int = 0) -> list[dict]:
    torch.set_num_threads(2)
    model, x_all, y_all, acc = prepare(cfg, seed)
    print(f"model: resnet18 width {cfg['width']}, {cfg['train_epochs']} epoch(s) on {cfg['train_images']} "
          f"Fashion-MNIST training images, test accuracy {acc:.3f} (first 2,000 test images); attacks on "
          f"test images 2,000 onwards; l2 ε = {cfg['eps']}", flush=True)
    rows = compare(model, x_all[2000:], y_all[2000:], cfg, seed, acc)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    sbs = side_by_side(rows)
    fields = list(dict.fromkeys(k for o in sbs for k in o))
    with open(ratios_path(out), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(sbs)
    return rows


def ratios_path(out: Path) -> Path:
    """Where `run` writes the side-by-side ratios: next to the CSV, `<stem>_ratios.csv`."""
    return out.with_name(out.stem + "_ratios.csv")


def table(rows: list[dict]) -> str:
    lines = ["| comparison | tool | model | precision | time (s) | runs | metric | value | their time / ours |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['comparison']} | {r['tool']} | {r['model']} | {r['precision']} | {r['seconds']:.2f} | {r['runs']} | "
                     f"{r['metric']} | {r['value']:.3f} | {r['time_ratio']:.1f}× |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="CSV to write")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a check that it runs, not a measurement)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="autocast of our attacks (and of the peers' with --peers-precision same); scoring stays fp32")
    ap.add_argument("--peers-precision", choices=["same", "fp32"], default="same",
                    help="same: the peers run inside the same autocast as ours; fp32: the peers as shipped")
    ap.add_argument("--models", choices=["both", *MODELS], default="both",
                    help="the model every tool attacks: both (default: each comparison once on the module as trained, "
                         "once on its batch-norm-folded copy), or only one of them")
    ap.add_argument("--peers-model", choices=MODELS, help=argparse.SUPPRESS)   # before #29: now --models, both tools
    a = ap.parse_args(argv)
    try:
        import art  # noqa: F401
        import torchattacks  # noqa: F401
    except ImportError as exc:
        print(f"benchmarks/peers.py: {exc.name} is not installed; pip install -e '.[bench]'", file=sys.stderr)
        return 2
    if a.peers_model:
        print(f"benchmarks/peers.py: --peers-model is now --models (every tool attacks the same model); "
              f"running --models {a.peers_model}", file=sys.stderr)
        a.models = a.peers_model
    os.environ.setdefault("UAP_NO_PROGRESS", "1")      # no progress bars in the timed loops (the peers have none)
    cfg = {**(QUICK if a.quick else FULL), "precision": a.precision, "peers_precision": a.peers_precision,
           "models": list(MODELS) if a.models == "both" else [a.models]}
    t0 = time.perf_counter()
    rows = run(cfg, a.out, a.seed)
    print(table(rows))
    print("\ntime ratios, both tools on the same model:\n" + ratio_table(rows))
    print(f"sizes: {cfg}\ntotal {time.perf_counter() - t0:.0f} s; wrote {a.out} and {ratios_path(a.out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
