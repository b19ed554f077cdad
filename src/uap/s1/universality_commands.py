"""Commands of S1's interpolation, leakage, diversity and learning-dynamics analyses (one per rule)."""
from __future__ import annotations

import time
from pathlib import Path


from ..cli import CHECKPOINT_HELP, _eval_subset, _fit_and_save, _load_split, _pgd_checkpointing, _runtime
from ..errors import UapError


def cmd_interp_dataset(a, cfg):
    """S1 Sec. 5.3 / App. A.3-A.4: build one D_univ variant (K, restricted base sets, ε/2, cyclic labels)."""
    from ..artifacts import save_tensors
    from ..train import load_model
    from ..utils import generator
    from .interpolation import build_variant
    from .variants import parse_variant
    ic = cfg["interpolation"]
    v = parse_variant(a.variant)
    device = _runtime(cfg)
    model, mmeta = load_model(a.model, device)
    train, dmeta = _load_split(a.data_dir, "train")
    ns = cfg["attacks"]["norms"][ic["norm"]]
    t0 = time.time()
    with _pgd_checkpointing(a, a.out):
        res = build_variant(model, train.x, train.y, train.extra.get("y_fine"), a.variant,
                            num_classes=dmeta["num_classes"], norm=ic["norm"], eps=ns["eps"], lr=ns["universal_lr"],
                            epochs=ic["epochs"], batch_size=ic["batch_size"], source_size=ic["source_size"],
                            gen=generator(cfg["seed"] + 606 + v["K"]), device=device, precision=cfg["precision"],
                            max_images=cfg["max_batch_images"], balance=ic["balance"],
                            pgd_steps=cfg["attacks"]["pgd"]["steps"], pgd_step_ratio=cfg["attacks"]["pgd"]["step_ratio"],
                            adv_source_size=ic["adv_source_size"])
    st = res["stats"]
    st["seconds"] = round(time.time() - t0, 1)
    if st["size"] == 0:
        raise UapError(f"the {a.variant} dataset is empty (some target class was never reached). Raise "
                         "interpolation.source_size or interpolation.epochs. Table before balancing: "
                         f"{st['contingency_before_balancing']}")
    save_tensors(a.out, {"x": res["x"], "y": res["y"], "y_orig": res["y_orig"], "source_index": res["source_index"],
                         "group": res["group"], "deltas": res["deltas"], "group_targets": res["group_targets"]},
                 {"kind": a.variant, "variant": a.variant, "norm": ic["norm"], "eps": st["eps"],
                  "source_model": mmeta.get("name"), "seed": cfg["seed"], "dataset": dmeta["dataset"],
                  "classes": dmeta["classes"], "interpolation": ic, "metrics": st})
    print(f"{a.variant}: {st['size']} images from {st['groups']} groups of {st['group_size']} "
          f"(construction ASR {st['construction_asr']:.3f}, ε={st['eps']:g}) in {st['seconds']:.0f}s")


def cmd_interp_train(a, cfg):
    """Train a fresh model on one interpolation dataset with the single fixed setting; test on the test set.
    With --match, the dataset is first cut (labels kept balanced) to the smallest size among the
    matched datasets (Tables 1, 2, 5), so that every row trains on the same number of images."""
    from ..artifacts import load_tensors, read_json
    from ..utils import generator
    from .interpolation import seed_path, size_matched
    ic = cfg["interpolation"]
    device = _runtime(cfg)
    tensors, cmeta = load_tensors(a.dataset)
    test, dmeta = _load_split(a.data_dir, "test")
    x, y = tensors["x"], tensors["y"]
    if a.match:
        size = min(int(read_json(Path(p).with_suffix(".json"))["metrics"]["size"]) for p in a.match)
        keep = size_matched(y, size, dmeta["num_classes"], generator(cfg["seed"] + 607))
        print(f"{cmeta['variant']}: size-matched {len(y)} -> {len(keep)} images (smallest of {len(a.match)})")
        x, y = x[keep], y[keep]
    for s in range(ic["train_seeds"]):     # the same data for every seed: only init, order and augmentation change
        _fit_and_save(ic["model"], dmeta, x, y, test, ic["train"], seed=cfg["seed"] + s, cfg=cfg, device=device,
                      checkpoint=seed_path(a.checkpoint, s) if a.checkpoint else None, out=seed_path(a.out, s),
                      desc=cmeta["variant"] + (f" seed {s}" if s else ""),
                      meta={"name": cmeta["variant"], "variant": cmeta["variant"], "norm": cmeta["norm"],
                            "eps": cmeta["eps"], "dataset": dmeta["dataset"], "train_seed_index": s})


def cmd_interp_table(a, cfg):
    """Tables 1, 2, 5 and the D_det-style row of App. A.3: sizes, construction ASR, test accuracy, paper values."""
    import pandas as pd
    from ..artifacts import read_json, write_csv
    from .interpolation import seed_path, table_layout, table_row
    datasets = {read_json(Path(p).with_suffix(".json"))["variant"]: read_json(Path(p).with_suffix(".json"))
                for p in a.datasets}
    models = {read_json(Path(p).with_suffix(".json"))["variant"]: p for p in a.models}
    seeds = cfg["interpolation"]["train_seeds"]

    def metas(variant):      # sidecars of every training seed of a variant's model (seed 0 first)
        return [read_json(Path(seed_path(models[variant], s)).with_suffix(".json")) for s in range(seeds)] \
            if variant in models else None

    rows = []
    for lay in table_layout(cfg):
        m = metas(lay["variant"])
        rows.append(table_row(lay, datasets.get(lay["variant"]), m[0] if m else None, cfg["data"]["dataset"], m))
    df = pd.DataFrame(rows)
    write_csv(a.out, df)
    print(df.to_string(index=False))


def cmd_leakage_probes(a, cfg):
    """S1 App. A.3, Table 4: linear probes on frozen penultimate features, trained on D_univ, tested on the
    test set; once per replicate chain's D_univ (each chain: its own source model and construction)."""
    import torch
    import pandas as pd
    from ..artifacts import load_tensors, write_csv
    from ..train import load_model
    from .leakage import feature_source, probe_accuracy
    lc = cfg["leakage"]
    device = _runtime(cfg, autocast=False)
    test, dmeta = _load_split(a.data_dir, "test")
    models = {}
    for path in a.models:
        model, mmeta = load_model(path, device)
        models[mmeta["name"]] = (model, mmeta)
    rows = []
    for dataset in a.datasets:
        tensors, cmeta = load_tensors(dataset)
        source = cfg["models"][cmeta["source_model"]]
        for name, (model, mmeta) in models.items():
            t0 = time.time()
            before = {k: v.clone() for k, v in model.state_dict().items()}
            r = probe_accuracy(model, tensors["x"], tensors["y"], test.x, test.y, dmeta["num_classes"], lc["probe"],
                               seed=cfg["seed"], device=device)
            if any(not torch.equal(before[k], v) for k, v in model.state_dict().items()):
                raise RuntimeError(f"probing {name} changed its weights")
            rows.append({"dataset": f"d_univ_{cmeta['norm']}", "replicate": int(cmeta.get("replicate", 0)),
                         "source_model": cmeta["source_model"], "model": name,
                         "feature_source": feature_source(name, cfg["models"][name], source),
                         "robust": bool(cfg["models"][name].get("adversarial")), "arch": mmeta["model"]["arch"],
                         "feature_dim": r["feature_dim"], "train_size": int(len(tensors["y"])),
                         "test_images": int(len(test.y)),
                         "probe_train_acc": r["train_acc"] * 100, "test_acc": r["test_acc"] * 100,
                         "model_test_acc": mmeta["metrics"]["test_acc"] * 100, "seconds": round(time.time() - t0, 1)})
            print(f"D_univ of {cmeta['source_model']}: probe on {name}: test accuracy {r['test_acc']:.4f} "
                  f"(train {r['train_acc']:.4f})", flush=True)
    df = pd.DataFrame(rows)
    write_csv(a.out, df)
    print(df.to_string(index=False))


def cmd_diversity(a, cfg):
    """S1 App. F: random initialisations and an orthogonality penalty; similarity matrices; sub-class targets."""
    import torch
    import pandas as pd
    from ..artifacts import save_tensors, write_csv
    from ..metrics import attack_success_rate, predict
    from ..threats import make_threat
    from ..train import load_model
    from ..utils import generator
    from .diversity import cosine_matrix, diverse_universal, representation_changes, subclass_targets
    dc = cfg["diversity"]
    device = _runtime(cfg)
    model, mmeta = load_model(a.model, device)
    train, dmeta = _load_split(a.data_dir, "train")
    test, _ = _load_split(a.data_dir, "test")
    sub, _ = _eval_subset(test, dc["eval_images"], cfg["seed"])
    ns = cfg["attacks"]["norms"][dc["norm"]]
    threat = make_threat(dc["norm"], ns["eps"])
    gen = generator(cfg["seed"] + 707)
    base = train.floats()[torch.randperm(len(train), generator=gen)[:dc["base_size"]]]
    sims, asr_rows, deltas = [], [], {}

    def record(method, target, d, eval_model, labels, classes):
        pred = [predict(eval_model, sub.x, device=device, delta=d[i]) for i in range(d.shape[0])]
        for i in range(d.shape[0]):
            tgt = target[i] if isinstance(target, list) else target
            asr_rows.append({"method": method, "target": int(tgt), "class": classes[int(tgt)], "index": i,
                             "asr": attack_success_rate(pred[i], int(tgt), labels),
                             "delta_norm": float(threat.norm(d[i:i + 1])), "note": ""})
        rep = representation_changes(eval_model, d, sub.x, device=device)
        for space, m in (("input", cosine_matrix(d)), ("representation", cosine_matrix(rep))):
            for i in range(m.shape[0]):
                for j in range(m.shape[1]):
                    sims.append({"method": method, "target": -1 if isinstance(target, list) else int(target),
                                 "space": space, "i": i, "j": j, "cosine": float(m[i, j])})

    for t in dc["targets"]:
        for method, w in (("random_init", 0.0), ("orthogonal", dc["ortho_weight"])):
            res = diverse_universal(model, base, t, threat, n=dc["inits"], lr=ns["universal_lr"], epochs=dc["epochs"],
                                    batch_size=dc["batch_size"], ortho_weight=w, gen=gen, device=device,
                                    desc=f"diversity {method} target {t}")
            deltas[f"{method}_{t}"] = res["delta"]
            record(method, t, res["delta"], model, sub.y, dmeta["classes"])
    if dc["fine_model"]:
        from ..attacks import universal_pgd
        fine, fmeta = load_model(a.fine_model, device)
        if "y_fine" not in train.extra:
            raise UapError("diversity.fine_model needs a dataset with sub-class labels (y_fine)")
        targets = subclass_targets(train.y, train.extra["y_fine"], dc["subclass_of"])
        res = universal_pgd(fine, base, torch.tensor(targets), threat, lr=ns["universal_lr"], epochs=dc["epochs"],
                            batch_size=dc["batch_size"], generator=gen, device=device, precision=cfg["precision"],
                            desc="diversity sub-class targets")
        delta = res.delta
        deltas["subclass"] = delta
        fine_names = [str(i) for i in range(fmeta["model"]["num_classes"])]
        record("subclass", targets, delta, fine, sub.extra["y_fine"], fine_names)
    else:
        asr_rows.append({"method": "subclass", "target": -1, "class": "", "index": 0, "asr": float("nan"),
                         "delta_norm": float("nan"),
                         "note": "not applicable: no fine-grained model (diversity.fine_model is null)"})
    write_csv(a.similarity, pd.DataFrame(sims))
    write_csv(a.asr, pd.DataFrame(asr_rows))
    save_tensors(a.out, deltas, {"attack": "diverse_universal", "norm": dc["norm"], "eps": threat.eps,
                                 "model": mmeta.get("name"), "diversity": dc, "seed": cfg["seed"],
                                 "classes": dmeta["classes"]})
    print(pd.DataFrame(asr_rows).groupby("method").asr.mean().to_string())


def cmd_dynamics(a, cfg):
    """S1 App. B.2.2, Fig. 9: base-set accuracy per epoch of universal PGD over lr, batch size and K."""
    from ..artifacts import write_csv
    from ..threats import make_threat
    from ..train import load_model
    from ..utils import generator
    from .dynamics import learning_dynamics
    yc = cfg["dynamics"]
    device = _runtime(cfg)
    model, _ = load_model(a.model, device)
    train, dmeta = _load_split(a.data_dir, "train")
    threat = make_threat(yc["norm"], cfg["attacks"]["norms"][yc["norm"]]["eps"])
    targets = list(range(min(yc["targets"], dmeta["num_classes"])))
    t0 = time.time()
    df = learning_dynamics(model, train.floats(), threat, lrs=yc["lr"], batch_sizes=yc["batch_size"], Ks=yc["K"],
                           targets=targets, epochs=yc["epochs"], gen=generator(cfg["seed"] + 808), device=device,
                           precision=cfg["precision"], max_images=cfg["max_batch_images"])
    df.insert(0, "norm", yc["norm"])
    df.insert(1, "eps", threat.eps)
    write_csv(a.out, df)
    last = df[df.epoch == yc["epochs"]].groupby(["K", "batch_size", "lr"]).base_acc.mean()
    print(f"final base-set accuracy ({time.time() - t0:.0f}s):\n{last.to_string()}")


def register(add):
    s = add("interp-dataset", cmd_interp_dataset, "S1 interpolation: one D_univ variant (K, class, ε/2, cyclic)")
    s.add_argument("--model", required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--variant", required=True, help="e.g. random_K16, class_K256, random_K1_half, cyclic_K256")
    s.add_argument("--out", required=True)
    s.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    s = add("interp-train", cmd_interp_train, "S1 interpolation: train a fresh model on one variant")
    s.add_argument("--dataset", required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--checkpoint")
    s.add_argument("--match", nargs="*", default=[], help="datasets whose smallest size this one is cut to (Tables 1, 2, 5)")
    s = add("interp-table", cmd_interp_table, "S1 Tables 1, 2, 5 and the App. A.3 D_det-style row")
    s.add_argument("--datasets", nargs="+", required=True)
    s.add_argument("--models", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s = add("leakage-probes", cmd_leakage_probes, "S1 Table 4: linear probes on frozen features, trained on D_univ")
    s.add_argument("--datasets", nargs="+", required=True, help="D_univ (.safetensors) of every replicate chain")
    s.add_argument("--data-dir", required=True)
    s.add_argument("--models", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s = add("diversity", cmd_diversity, "S1 App. F: diversity of universal perturbations")
    s.add_argument("--model", required=True)
    s.add_argument("--fine-model", help="a model trained on the sub-class labels (diversity.fine_model)")
    s.add_argument("--data-dir", required=True)
    s.add_argument("--similarity", required=True)
    s.add_argument("--asr", required=True)
    s.add_argument("--out", required=True)
    s = add("dynamics", cmd_dynamics, "S1 Fig. 9: learning dynamics of universal PGD")
    s.add_argument("--model", required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--out", required=True)
