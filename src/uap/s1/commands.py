"""`python -m uap` commands of the S1 analyses (one per rule); the science is in the sibling modules."""
from __future__ import annotations

import time
from pathlib import Path


def _section(cfg: dict, name: str) -> dict:
    return cfg["s1_analyses"][name]


def _attack_inputs(a, cfg: dict, n: int, seed_offset: int):
    """Test images of the per-example attack (pgd_<norm>), its perturbations and targets, and the
    universal perturbations (one per class), restricted to a seeded subset of `n` of those images."""
    import torch
    from ..artifacts import load_tensors
    from ..cli import _load_split
    from ..utils import generator
    test, dmeta = _load_split(a.data_dir, "test")
    pgd, pmeta = load_tensors(a.pgd)
    uni, umeta = load_tensors(a.universal)
    N = pgd["test_index"].shape[0]
    keep = torch.sort(torch.randperm(N, generator=generator(cfg["seed"] + seed_offset))[:min(n, N)]).values
    idx = pgd["test_index"][keep]
    return {"x": test.x[idx], "labels": test.y[idx], "test_index": idx, "pgd_delta": pgd["delta"][keep],
            "pgd_target": pgd["target"][keep], "uni_delta": uni["delta"], "uni_target": torch.arange(uni["delta"].shape[0]),
            "classes": dmeta["classes"], "norm": pmeta["norm"], "eps": pmeta["eps"], "dataset": dmeta["dataset"],
            "data_meta": dmeta}


def cmd_models_table(a, cfg):
    """S1 Table 7 analogue: standard and PGD-robust test accuracy of every model."""
    import pandas as pd
    from ..artifacts import read_json, write_csv
    from ..cli import _eval_subset, _load_split, _runtime
    from ..paper import table7_reference
    from ..threats import make_threat
    from ..train import load_model
    from ..utils import generator
    from .robustness import robust_accuracy
    r = _section(cfg, "robustness")
    device = _runtime(cfg, autocast=False)
    test, dmeta = _load_split(a.data_dir, "test")
    sub, _ = _eval_subset(test, r["eval_images"], cfg["seed"])
    metas = [read_json(Path(p).with_suffix(".json")) for p in a.models]
    # natural models: the attacks' ε of every norm, and every robust model's own threat (to compare like with like)
    natural_threats = [(n, float(s["eps"])) for n, s in cfg["attacks"]["norms"].items()]
    for m in metas:
        adv = m["config"].get("adversarial")
        if adv and (adv["norm"], float(adv["eps"])) not in natural_threats:
            natural_threats.append((adv["norm"], float(adv["eps"])))
    rows = []
    for path in a.models:
        model, meta = load_model(path, device)
        adv = meta["config"].get("adversarial")
        training = adv["norm"] if adv else "standard"
        threats = [(adv["norm"], adv["eps"])] if adv else natural_threats
        ref = table7_reference(dmeta["dataset"], training)
        labels = sub.extra["y_fine"] if meta["config"].get("labels") == "fine" else sub.y   # a sub-class model
        for norm, eps in threats:
            t0 = time.time()
            acc = robust_accuracy(model, sub.x, labels, make_threat(norm, eps), steps=r["steps"],
                                  step_ratio=r["step_ratio"], generator=generator(cfg["seed"] + 601), device=device)
            rows.append({"model": meta["name"], "arch": meta["model"]["arch"], "width": meta["model"]["width"],
                         "seed": meta["seed"], "training": training, "train_eps": adv["eps"] if adv else None,
                         "train_size": meta["metrics"]["train_size"], "epochs": meta["train"]["epochs"],
                         "threat": norm, "eps": eps, "images": len(sub),
                         "standard_acc": round(100 * acc["standard"], 2), "robust_acc": round(100 * acc["robust"], 2),
                         "paper_dataset": ref["dataset"] if ref else None,
                         "paper_standard_acc": ref["standard_acc"] if ref else None,
                         "paper_robust_acc": ref["robust_acc"] if ref else None,
                         "seconds": round(time.time() - t0, 1)})
            print(f"{meta['name']}: standard {rows[-1]['standard_acc']:.1f} %, robust ({norm}, ε={eps:g}) "
                  f"{rows[-1]['robust_acc']:.1f} %", flush=True)
    write_csv(a.table, pd.DataFrame(rows))


def cmd_locality(a, cfg):
    """S1 Sec. 3.1: random patches of universal and per-example perturbations evaluated alone."""
    import pandas as pd
    from ..artifacts import write_csv
    from ..cli import _runtime
    from ..metrics import attack_success_rate, predict
    from ..train import load_model
    from ..utils import generator
    from .locality import per_example_patch_asr, random_boxes, universal_patch_asr
    c = _section(cfg, "locality")
    device = _runtime(cfg)
    model, _ = load_model(a.model, device)
    d = _attack_inputs(a, cfg, c["eval_images"], 511)
    gen = generator(cfg["seed"] + 512)
    T = d["uni_delta"].shape[0]
    H, W = d["uni_delta"].shape[-2:]
    size = min(c["patch_size"], H, W)
    rescale = d["norm"] == "l2"
    kw = {"device": device, "precision": cfg["precision"], "max_images": cfg["max_batch_images"]}
    boxes = random_boxes(T * c["patches"], size, H, W, gen).view(T, c["patches"], 2)
    uni = universal_patch_asr(model, d["x"], d["labels"], d["uni_delta"], d["uni_target"], boxes, size,
                              rescale=rescale, **kw)
    pe_boxes = random_boxes(c["patches"], size, H, W, gen)
    pe = per_example_patch_asr(model, d["x"], d["labels"], d["pgd_delta"], d["pgd_target"], pe_boxes, size,
                               rescale=rescale, **kw)
    rows = []
    for t in range(T):
        full = attack_success_rate(predict(model, d["x"], device=device, delta=d["uni_delta"][t]), t, d["labels"])
        for p in range(c["patches"]):
            rows.append({"kind": "universal", "target": t, "class": d["classes"][t], "patch": p,
                         "top": int(boxes[t, p, 0]), "left": int(boxes[t, p, 1]),
                         "patch_norm": float(uni["norm"][t, p]), "asr": float(uni["asr"][t, p]), "full_asr": full})
    full = attack_success_rate(predict(model, d["x"], device=device, delta=d["pgd_delta"]), d["pgd_target"], d["labels"])
    for p in range(c["patches"]):
        rows.append({"kind": "per_example", "target": -1, "class": "own target", "patch": p,
                     "top": int(pe_boxes[p, 0]), "left": int(pe_boxes[p, 1]),
                     "patch_norm": float(pe["norm"][p].mean()), "asr": float(pe["asr"][p]), "full_asr": full})
    df = pd.DataFrame(rows)
    df.insert(1, "norm", d["norm"])
    df.insert(2, "eps", d["eps"])
    df.insert(3, "size", size)
    df.insert(4, "rescaled", rescale)
    df["images"] = len(d["labels"])
    write_csv(a.table, df)
    t_i, p_i, n_i = uni["counted"].nonzero(as_tuple=True)        # per image, counted ones only
    write_csv(a.images, pd.DataFrame({"norm": d["norm"], "target": t_i.tolist(), "patch": p_i.tolist(),
                                      "image": d["test_index"][n_i].tolist(),
                                      "hit": uni["hit"][t_i, p_i, n_i].int().tolist()}))
    u = df[df.kind == "universal"]
    print(f"locality {d['norm']}: {c['patches']} patches of {size}px per perturbation; universal patch ASR "
          f"mean {u.asr.mean():.3f} (max {u.asr.max():.3f}); per-example {df[df.kind == 'per_example'].asr.mean():.3f}")


def cmd_shifts(a, cfg):
    """S1 Sec. 3.2: ASR over a grid of wrap-around shifts, per-example vs universal perturbations, with
    the empirical floor of the same metric (clean images; same-norm random noise under the same
    shifts). Writes the per-shift table and the per-image outcomes (`--images`) the claims bootstrap."""
    import torch
    import pandas as pd
    from ..artifacts import write_csv
    from ..cli import _runtime
    from ..metrics import as_float, attack_success_outcomes, predict
    from ..train import load_model
    from ..utils import generator
    from .shifts import kept_norm, per_example_shift_pred, same_norm_noise, shift_grid, shifted_stack, universal_shift_pred
    c = _section(cfg, "shifts")
    device = _runtime(cfg)
    model, _ = load_model(a.model, device)
    d = _attack_inputs(a, cfg, c["eval_images"], 521)
    du = _attack_inputs(a, cfg, c["universal_images"], 522)
    H, W = d["uni_delta"].shape[-2:]
    grid = shift_grid(H, W, c["stride"])
    S, T = grid.shape[0], du["uni_delta"].shape[0]
    kw = {"device": device, "precision": cfg["precision"], "max_images": cfg["max_batch_images"]}
    pe_hit, pe_keep = attack_success_outcomes(per_example_shift_pred(model, d["x"], d["pgd_delta"], grid, **kw),
                                              d["pgd_target"], d["labels"])                         # [S, N]
    targets = du["uni_target"].view(1, T, 1)
    u_hit, u_keep = attack_success_outcomes(universal_shift_pred(model, du["x"], du["uni_delta"], grid, **kw),
                                            targets, du["labels"])                                  # [S, T, N]
    # the floor: the same targeted metric, every target, on images with same-norm noise (same shifts)
    noise = same_norm_noise(du["uni_delta"], du["norm"], c["noise_draws"], generator(cfg["seed"] + 523))
    n_pred = universal_shift_pred(model, du["x"], noise, grid, **kw)                             # [S, D, N]
    n_hit, n_keep = attack_success_outcomes(n_pred[:, :, None].expand(-1, -1, T, -1), targets[:, None],
                                            du["labels"])                                        # [S, D, T, N]
    c_hit, c_keep = attack_success_outcomes(predict(model, du["x"], device=device)[None].expand(T, -1), targets[0],
                                            du["labels"])                                        # [T, N]
    xf = as_float(du["x"])
    kept_u = torch.stack([kept_norm(xf, st).mean(1) for st in shifted_stack(du["uni_delta"], grid)])   # [S, T]
    xe = as_float(d["x"])
    kept_pe = torch.stack([((xe + st).clamp(0, 1) - xe).flatten(1).norm(dim=1).mean() / st.flatten(1).norm(dim=1).mean()
                           for st in shifted_stack(d["pgd_delta"], grid)])                        # [S]
    uni_asr = u_hit.sum(-1) / u_keep.sum(-1).clamp_min(1)
    rows = []
    for s, (dy, dx) in enumerate(grid.tolist()):
        rows.append({"kind": "per_example", "target": -1, "class": "own target", "dy": dy, "dx": dx,
                     "asr": float(pe_hit[s].sum() / pe_keep[s].sum()), "kept_norm": float(kept_pe[s])})
        for t in range(T):
            rows.append({"kind": "universal", "target": t, "class": du["classes"][t], "dy": dy, "dx": dx,
                         "asr": float(uni_asr[s, t]) if u_keep[s, t].any() else float("nan"),
                         "kept_norm": float(kept_u[s, t])})
    df = pd.DataFrame(rows)
    df.insert(1, "norm", d["norm"])
    df.insert(2, "eps", d["eps"])
    df["stride"] = c["stride"]
    df["images"] = [len(d["labels"]) if k == "per_example" else len(du["labels"]) for k in df.kind]
    write_csv(a.table, df)
    # per-image outcomes, summed over targets (universal, noise: over targets and averaged over draws)
    img = []
    for kind, hit, keep, index in (
            ("per_example", pe_hit.float(), pe_keep.float(), d["test_index"]),
            ("universal", u_hit.float().sum(1), u_keep.float().sum(1), du["test_index"]),
            ("noise", n_hit.float().sum(2).mean(1), n_keep.float().sum(2).mean(1), du["test_index"])):
        for s, (dy, dx) in enumerate(grid.tolist()):
            img.append(pd.DataFrame({"kind": kind, "image": index.tolist(), "dy": dy, "dx": dx,
                                     "hits": hit[s].tolist(), "counted": keep[s].tolist()}))
    img.append(pd.DataFrame({"kind": "clean", "image": du["test_index"].tolist(), "dy": 0, "dx": 0,
                             "hits": c_hit.float().sum(0).tolist(), "counted": c_keep.float().sum(0).tolist()}))
    im = pd.concat(img, ignore_index=True)
    im.insert(1, "norm", d["norm"])
    write_csv(a.images, im)
    far = (grid.abs().amax(1) >= c["stride"] * 2)
    zero = (grid == 0).all(1)
    rate = lambda h, k: float(h.sum() / k.sum().clamp_min(1))   # noqa: E731
    print(f"shifts {d['norm']}: {S} shifts; unshifted ASR per-example {rate(pe_hit[zero], pe_keep[zero]):.3f}, "
          f"universal {rate(u_hit[zero], u_keep[zero]):.3f}, noise {rate(n_hit[zero], n_keep[zero]):.3f}, "
          f"clean {rate(c_hit, c_keep):.3f}; shifts >= {2 * c['stride']}px: per-example {rate(pe_hit[far], pe_keep[far]):.3f}, "
          f"universal {rate(u_hit[far], u_keep[far]):.3f}, noise {rate(n_hit[far], n_keep[far]):.3f}; "
          f"zero pixels {float((xf == 0).float().mean()):.2f}, universal norm kept after the clamp "
          f"{float(kept_u[zero].mean()):.2f} unshifted, {float(kept_u[far].mean()):.2f} at far shifts")


def cmd_scaling(a, cfg):
    """S1 Sec. 4: ASR of t·δ on natural, robust and second natural models; robust ε×k universal
    perturbation; scaled patches of high, middle and low locality ASR."""
    import torch
    import pandas as pd
    from ..artifacts import save_tensors, write_csv
    from ..attacks import universal_pgd
    from ..cli import _load_split, _runtime
    from ..threats import make_threat
    from ..train import load_model
    from ..utils import generator
    from .locality import box_masks, isolate_patches
    from .scaling import scaling_outcomes
    c = _section(cfg, "scaling")
    device = _runtime(cfg)
    d = _attack_inputs(a, cfg, c["eval_images"], 531)
    kw = {"device": device, "precision": cfg["precision"], "max_images": cfg["max_batch_images"]}
    models = {}
    for path in a.models:
        m, meta = load_model(path, device)
        models[meta["name"]] = m
    natural, robust = models[a.natural], models[a.robust]
    scales = c["scales"]
    T = d["uni_delta"].shape[0]
    targets = d["uni_target"]
    # the universal perturbation of the robust model: ε·eps_factor, lr scaled alike
    ns = cfg["attacks"]["norms"][d["norm"]]
    threat = make_threat(d["norm"], ns["eps"] * c["eps_factor"])
    train, _ = _load_split(a.data_dir, "train")
    gen = generator(cfg["seed"] + 532)
    K = min(c["base_size"], len(train))
    base_idx = torch.stack([torch.randperm(len(train), generator=gen)[:K] for _ in range(T)])
    t0 = time.time()
    res = universal_pgd(robust, train.floats()[base_idx], targets, threat, lr=ns["universal_lr"] * c["eps_factor"],
                        epochs=c["epochs"], batch_size=cfg["attacks"]["universal"]["batch_size"], generator=gen,
                        desc="universal PGD (robust model)", **kw)
    save_tensors(a.out, {"delta": res.delta, "base_index": base_idx},
                 {"attack": "universal", "model": a.robust, "norm": d["norm"], "eps": threat.eps,
                  "eps_factor": c["eps_factor"], "seed": cfg["seed"], "classes": d["classes"],
                  "metrics": {"base_asr": res.asr, "seconds": round(time.time() - t0, 1)}})
    rows, images = [], []

    def add(perturbation, model_name, deltas, norm_of):
        hit, keep = scaling_outcomes(models[model_name], d["x"], d["labels"], deltas, targets, scales, **kw)
        n = keep.sum(-1).float()
        asr = torch.where(n > 0, hit.sum(-1) / n.clamp_min(1), torch.full_like(n, float("nan")))
        for t in range(T):
            for j, s in enumerate(scales):
                rows.append({"perturbation": perturbation, "model": model_name, "target": t, "class": d["classes"][t],
                             "t": s, "base_norm": float(norm_of[t]), "asr": float(asr[t, j])})
        for j, s in enumerate(scales):        # per image, summed over targets: for the claims bootstrap
            images.append(pd.DataFrame({"perturbation": perturbation, "model": model_name, "t": s,
                                        "image": d["test_index"].tolist(), "hits": hit[:, j].sum(0).tolist(),
                                        "counted": keep[:, j].sum(0).tolist()}))

    l2 = lambda z: z.flatten(1).norm(dim=1)   # noqa: E731
    for name in models:                        # nat-univ-ptb on every model (natural, robust, natural2)
        add("natural_universal", name, d["uni_delta"], l2(d["uni_delta"]))
    for name in (a.natural, a.robust):         # rob-univ-ptb on the natural and the robust model
        add("robust_universal", name, res.delta, l2(res.delta))
    # patches of differing semantic content: per target, the highest-, middle- and lowest-ASR patch
    loc = pd.read_csv(a.locality)
    loc = loc[loc.kind == "universal"].sort_values(["target", "patch"])
    H, W = d["uni_delta"].shape[-2:]
    size = int(loc["size"].iloc[0])
    boxes = torch.tensor(loc[["top", "left"]].values).view(T, -1, 2)                    # [T, P, 2]
    masks = box_masks(boxes.flatten(0, 1), size, H, W).view(T, -1, 1, H, W).transpose(0, 1)
    patches, _ = isolate_patches(d["uni_delta"], masks, rescale=bool(loc["rescaled"].iloc[0]))   # as in locality
    patches = patches.transpose(0, 1)                                                   # [T, P, C, H, W]
    order = torch.tensor(loc["asr"].fillna(-1).values).view(T, -1).argsort(dim=1, descending=True)
    P = order.shape[1]
    for level, pos in (("high", 0), ("middle", P // 2), ("low", P - 1)):
        chosen = patches[torch.arange(T), order[:, pos]]
        for name in (a.natural, a.robust):
            add(f"patch_{level}", name, chosen, l2(chosen))
    df = pd.DataFrame(rows)
    df.insert(1, "norm", d["norm"])
    df["images"] = len(d["labels"])
    write_csv(a.table, df)
    im = pd.concat(images, ignore_index=True)
    im.insert(1, "norm", d["norm"])
    write_csv(a.images, im)
    mean = df.groupby(["perturbation", "model", "t"]).asr.mean().unstack("t")
    print(mean.round(3).to_string())


def cmd_transfer(a, cfg):
    """S1 Sec. 5.2: transfer of per-example vs universal perturbations from the source model."""
    import pandas as pd
    from ..artifacts import write_csv
    from ..cli import _runtime
    from ..metrics import predict, predict_perturbed
    from ..train import load_model
    from .transfer import transfer_outcomes, transfer_rate
    c = _section(cfg, "transfer")
    device = _runtime(cfg)
    d = _attack_inputs(a, cfg, c["eval_images"], 541)
    kw = {"device": device, "precision": cfg["precision"], "max_images": cfg["max_batch_images"]}
    source, smeta = load_model(a.source, device)
    T = d["uni_delta"].shape[0]
    tgt_u = d["uni_target"][:, None]
    src_pe = predict(source, d["x"], device=device, delta=d["pgd_delta"])
    src_u = predict_perturbed(source, d["x"], d["uni_delta"], **kw)                  # [T, N]
    rows, images = [], []
    for path in a.targets:
        model, meta = load_model(path, device)
        pe = predict(model, d["x"], device=device, delta=d["pgd_delta"])
        un = predict_perturbed(model, d["x"], d["uni_delta"], **kw)
        for kind, sp, tp, tg in (("per_example", src_pe, pe, d["pgd_target"]), ("universal", src_u, un, tgt_u)):
            rate, n = transfer_rate(sp, tp, tg, d["labels"])
            moved, keep = transfer_outcomes(sp, tp, tg, d["labels"])
            if moved.dim() == 2:                                    # universal: summed over the targets
                moved, keep = moved.sum(0), keep.sum(0)
            images.append(pd.DataFrame({"kind": kind, "target_model": meta["name"], "image": d["test_index"].tolist(),
                                        "transferred": moved.int().tolist(), "counted": keep.int().tolist()}))
            rows.append({"kind": kind, "target_model": meta["name"], "target_arch": meta["model"]["arch"],
                         "target": -1, "class": "all", "counted": n, "transfer_rate": rate})
            for t in range(T):
                if kind == "per_example":
                    sel = d["pgd_target"] == t
                    rate, n = transfer_rate(sp[sel], tp[sel], t, d["labels"][sel])
                else:
                    rate, n = transfer_rate(sp[t], tp[t], t, d["labels"])
                rows.append({"kind": kind, "target_model": meta["name"], "target_arch": meta["model"]["arch"],
                             "target": t, "class": d["classes"][t], "counted": n, "transfer_rate": rate})
    df = pd.DataFrame(rows)
    df.insert(1, "norm", d["norm"])
    df.insert(2, "eps", d["eps"])
    df.insert(3, "source_model", smeta["name"])
    df["images"] = len(d["labels"])
    write_csv(a.table, df)
    write_csv(a.images, pd.concat(images, ignore_index=True))
    print(df[df.target == -1].to_string(index=False))


def register(add) -> None:
    s = add("s1-models-table", cmd_models_table, "S1 Table 7 analogue: standard and robust accuracy")
    s.add_argument("--models", nargs="+", required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--table", required=True)
    for name, fn, h in (("s1-locality", cmd_locality, "S1 locality: random patches evaluated alone"),
                        ("s1-shifts", cmd_shifts, "S1 spatial invariance: ASR over a grid of shifts")):
        s = add(name, fn, h)
        s.add_argument("--model", required=True, help="the source model the perturbations were computed on")
        s.add_argument("--data-dir", required=True)
        s.add_argument("--pgd", required=True, help="pgd_<norm>.safetensors (per-example perturbations)")
        s.add_argument("--universal", required=True, help="universal_<norm>.safetensors")
        s.add_argument("--table", required=True)
        s.add_argument("--images", required=True, help="per-image outcomes (CSV) for the claims bootstrap")
    s = add("s1-scaling", cmd_scaling, "S1 scaling analysis: ASR of t·δ on natural and robust models")
    s.add_argument("--models", nargs="+", required=True, help="every model the perturbations are evaluated on")
    s.add_argument("--natural", required=True, help="name of the natural source model (in --models)")
    s.add_argument("--robust", required=True, help="name of the robust model (in --models)")
    s.add_argument("--data-dir", required=True)
    s.add_argument("--pgd", required=True)
    s.add_argument("--universal", required=True)
    s.add_argument("--locality", required=True, help="the locality table of the same norm (patch ranking)")
    s.add_argument("--out", required=True, help="the robust model's universal perturbations (.safetensors)")
    s.add_argument("--table", required=True)
    s.add_argument("--images", required=True, help="per-image outcomes (CSV) for the claims bootstrap")
    s = add("s1-transfer", cmd_transfer, "S1 transferability: per-example vs universal perturbations")
    s.add_argument("--source", required=True)
    s.add_argument("--targets", nargs="+", required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--pgd", required=True)
    s.add_argument("--universal", required=True)
    s.add_argument("--table", required=True)
    s.add_argument("--images", required=True, help="per-image outcomes (CSV) for the claims bootstrap")
