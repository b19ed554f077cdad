"""S3 commands (`python -m uap s3-…`), one per Snakemake rule; registered through cli.COMMAND_MODULES."""
from __future__ import annotations

import time
from pathlib import Path


def _inputs(a, cfg, seed_offset: int):
    from ..cli import _eval_subset, _load_split, _runtime
    from ..interpret.rts import load_masker
    from ..train import load_model
    from ..utils import generator
    s3 = cfg["s3"]
    device = _runtime(cfg, autocast=False)
    model, mmeta = load_model(a.model, device)
    train, _ = _load_split(a.data_dir, "train")
    test, _ = _load_split(a.data_dir, "test")
    tr, _ = _eval_subset(train, s3["train_images"], cfg["seed"] + 606)
    ev, _ = _eval_subset(test, s3["eval_images"], cfg["seed"])
    masker = load_masker(a.rts, device) if getattr(a, "rts", None) else None
    return device, model, mmeta, tr, ev, masker, generator(cfg["seed"] + seed_offset)


def cmd_s3_rts(a, cfg):
    """S3: train the RTS saliency model (eq. 12) of one classifier."""
    import torch
    from ..cli import _eval_subset, _load_split, _runtime
    from ..interpret.rts import SaliencyMasker, save_masker, train_masker
    from ..train import load_model
    from ..utils import generator
    r = cfg["s3"]["rts"]
    device = _runtime(cfg, 7, autocast=False)
    model, mmeta = load_model(a.model, device)
    train, dmeta = _load_split(a.data_dir, "train")
    tr, _ = _eval_subset(train, r["train_images"], cfg["seed"] + 707)
    torch.manual_seed(cfg["seed"] + 7)
    masker = SaliencyMasker(dmeta["channels"], dmeta["num_classes"], r["width"])
    t0 = time.time()
    curve = train_masker(model, tr.floats(), masker, steps=r["steps"], batch_size=r["batch_size"], lr=r["lr"],
                         tv=r["tv"], area=r["area"], destroy=r["destroy"], destroy_power=r["destroy_power"],
                         gen=generator(cfg["seed"] + 708), device=device, desc=f"rts {mmeta['name']}")
    k = max(1, len(curve) // 10)
    first, last = sum(curve[:k]) / k, sum(curve[-k:]) / k
    save_masker(a.out, masker.cpu(), {"classifier": mmeta["name"], "rts": r, "seed": cfg["seed"],
                                      "metrics": {"loss_first": first, "loss_last": last,
                                                  "seconds": round(time.time() - t0, 1)},
                                      "loss_curve": curve})
    print(f"RTS for {mmeta['name']}: loss {first:.3f} -> {last:.3f} ({time.time() - t0:.0f}s)")


def cmd_s3_juap(a, cfg):
    """S3: DeepFool UAP, generative UAPs and JUAPs of one model and norm, evaluated under every interpreter."""
    from ..artifacts import save_tensors, write_csv
    from .experiments import run_universal
    s3 = cfg["s3"]
    device, model, mmeta, tr, ev, masker, gen = _inputs(a, cfg, 600)
    df, tensors, names = run_universal(model, tr.floats(), tr.y, ev.x, s3, norm=a.norm, masker=masker, gen=gen,
                                       device=device, n_panel=s3["panel_images"])
    df.insert(0, "model", mmeta["name"])
    write_csv(a.table, df)
    save_tensors(a.out, tensors, {"model": mmeta["name"], "norm": a.norm, "methods": names, "s3": s3,
                                  "seed": cfg["seed"], "metrics": {"rows": len(df)}})


def cmd_s3_losses(a, cfg):
    """S3 Table VI: JUAP with the least-likely and targeted classifier losses."""
    from ..artifacts import write_csv
    from .experiments import run_losses
    s3 = cfg["s3"]
    device, model, mmeta, tr, ev, masker, gen = _inputs(a, cfg, 610)
    df = run_losses(model, tr.floats(), tr.y, ev.x, s3, norm=a.norm, masker=masker, gen=gen, device=device)
    df.insert(0, "model", mmeta["name"])
    write_csv(a.table, df)


def cmd_s3_jap(a, cfg):
    """S3 Table IV: per-image PGD vs the image-dependent JAP."""
    from ..artifacts import save_tensors, write_csv
    from ..cli import _eval_subset
    from .experiments import run_jap
    s3 = cfg["s3"]
    device, model, mmeta, tr, ev, masker, gen = _inputs(a, cfg, 620)
    sub, _ = _eval_subset(ev, s3["jap"]["images"], cfg["seed"] + 621)
    df, tensors = run_jap(model, sub.x, sub.y, s3, norm=a.norm, masker=masker, gen=gen, device=device,
                          n_panel=s3["panel_images"])
    df.insert(0, "model", mmeta["name"])
    write_csv(a.table, df)
    save_tensors(a.out, tensors, {"model": mmeta["name"], "norm": a.norm, "seed": cfg["seed"]})


def cmd_s3_tables(a, cfg):
    """S3: Tables II–VI analogues from the per-model runs."""
    import pandas as pd
    from ..artifacts import write_csv
    from .experiments import juap_vs_plain, tables
    s3 = cfg["s3"]
    universal = pd.concat([pd.read_csv(p) for p in a.juap], ignore_index=True)
    losses = pd.read_csv(a.losses)
    jap = pd.concat([pd.read_csv(p) for p in a.jap], ignore_index=True)
    main_norm = s3["main_norm"]
    out = Path(a.out_dir)
    for name, df in tables(universal, losses, jap, main_norm=main_norm, interps=s3["interpreters"],
                           main_loss=s3["joint"]["loss"]).items():
        write_csv(out / f"s3_{name}.csv", df)
        print(f"== {name}\n{df.to_string(index=False)}")
    write_csv(out / "s3_juap_vs_plain.csv", juap_vs_plain(universal, main_norm))


def cmd_s3_lambda(a, cfg):
    """S3: the λ rule — a sweep over s3.lambda_rule.grid × seeds and the λ it picks per interpreter
    (not part of the default DAG: it fixed config.s3.joint.lam; rerun it when models or sizes change)."""
    from ..artifacts import write_csv
    from .experiments import pick_lambda, run_lambda_sweep
    s3 = cfg["s3"]
    device, model, mmeta, tr, ev, masker, gen = _inputs(a, cfg, 650)
    df = run_lambda_sweep(model, tr.floats(), tr.y, s3, norm=a.norm, masker=masker, gen=gen, device=device)
    df.insert(0, "model", mmeta["name"])
    write_csv(a.table, df)
    print(df.groupby(["interpreter", "lam"]).fooling_ratio.agg(["mean", "min", "max"]).to_string())
    print("λ by the rule:", pick_lambda(df, s3["lambda_rule"]["tol"]))


def register(add):
    for name, fn, h in (("s3-rts", cmd_s3_rts, "S3: train the RTS saliency model of a classifier"),
                        ("s3-juap", cmd_s3_juap, "S3: UAP / GUAP / JUAP of one model and norm"),
                        ("s3-losses", cmd_s3_losses, "S3: JUAP classifier-loss variants (Table VI)"),
                        ("s3-jap", cmd_s3_jap, "S3: PGD vs image-dependent JAP (Table IV)"),
                        ("s3-lambda", cmd_s3_lambda, "S3: the λ rule's sweep over seeds and the λ it picks")):
        s = add(name, fn, h)
        s.add_argument("--model", required=True, help="classifier weights (.safetensors)")
        s.add_argument("--data-dir", required=True)
        if name == "s3-rts":
            s.add_argument("--out", required=True)
            continue
        s.add_argument("--rts", required=True, help="the model's RTS saliency model (.safetensors)")
        s.add_argument("--norm", required=True, choices=["l2", "linf"])
        s.add_argument("--table", required=True)
        if name in ("s3-juap", "s3-jap"):
            s.add_argument("--out", required=True)
    s = add("s3-tables", cmd_s3_tables, "S3: Tables II–VI analogues")
    s.add_argument("--juap", nargs="+", required=True)
    s.add_argument("--losses", required=True)
    s.add_argument("--jap", nargs="+", required=True)
    s.add_argument("--out-dir", required=True)
