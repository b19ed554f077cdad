"""Command line: `python -m uap <command> …`. Each Snakemake rule calls exactly one command."""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path


# ----------------------------------------------------------------------------------------------- helpers
_THREADS: int | None = None
# Seeds of replicate chain r (S1 Table 3) are the run's seeds + r * this stride: chain 0 is the run as it
# always was, and no two chains share a seed of any step (construction, training).
REPLICATE_SEED_STRIDE = 1000


def _runtime(cfg: dict, seed_offset: int = 0, *, autocast: bool = True):
    """Seed, set threads and resolve the device; cfg["precision"] becomes the precision this process
    computes in (`precision: auto` resolves per machine: utils.resolve_precision), or fp32 for the
    commands that never autocast (`autocast=False`: S2, S3, S4, the models table, the probes)."""
    from .utils import resolve_device, resolve_precision, setup_runtime
    setup_runtime(cfg["seed"] + seed_offset, _THREADS)
    dev = resolve_device(cfg["device"])
    cfg["precision"] = (resolve_precision(cfg["precision"], dev) if autocast
                        else resolve_precision("fp32", dev, "this command always runs fp32"))
    return dev


def _load_split(data_dir: str, split: str):
    from .artifacts import load_tensors
    from .data import ImageData
    path = Path(data_dir) / f"{split}.safetensors"
    t, meta = load_tensors(path)
    check_images(t, meta, path)
    extra = {k: v for k, v in t.items() if k not in ("x", "y")}
    return ImageData(t["x"], t["y"], meta["classes"], extra), meta


def check_images(t: dict, meta: dict, path) -> None:
    """A prepared split or constructed dataset is usable: uint8 images, or finite floats in [0,1],
    [N,C,H,W] with N > 0, and one integer label per image in [0, number of classes). Raises an
    ArtifactError (NonFiniteError for NaN/inf pixels) naming the file otherwise."""
    import torch
    from .errors import ArtifactError
    redo = "; delete it and re-run the rule that makes it"
    if "x" not in t or "y" not in t:
        raise ArtifactError(f"{path}: has no images 'x' and labels 'y' (tensors: {sorted(t)}){redo}")
    x, y = t["x"], t["y"]
    if not (x.dtype == torch.uint8 or x.is_floating_point()) or x.dim() != 4:
        raise ArtifactError(f"{path}: images must be uint8 or float [N,C,H,W], found "
                            f"{str(x.dtype).replace('torch.', '')} {list(x.shape)}{redo}")
    if x.shape[0] == 0:
        raise ArtifactError(f"{path}: holds no images (empty split); check data.*_subset and the dataset files")
    if x.is_floating_point():
        from .artifacts import check_finite
        check_finite({"x": x}, str(path))
        if float(x.min()) < 0 or float(x.max()) > 1:
            raise ArtifactError(f"{path}: float images must lie in [0, 1], found {float(x.min()):.4g}.."
                                f"{float(x.max()):.4g}{redo}")
    if y.dtype not in (torch.int64, torch.int32, torch.uint8) or y.shape != (x.shape[0],):
        raise ArtifactError(f"{path}: labels must be integers, one per image ({x.shape[0]}), found "
                            f"{str(y.dtype).replace('torch.', '')} {list(y.shape)}{redo}")
    k = len(meta.get("classes") or [])
    if k == 0:
        raise ArtifactError(f"{path}: its sidecar names no classes{redo}")
    if int(y.min()) < 0 or int(y.max()) >= k:
        raise ArtifactError(f"{path}: labels out of range [0, {k}): found {int(y.min())}..{int(y.max())}{redo}")


def _pgd_checkpointing(a, out: str):
    """Checkpoints of the command's grouped PGD loops (attacks.core.checkpointing): at --checkpoint, else
    in $UAP_CHECKPOINT_DIR (the workflow sets results/<run>/checkpoints: an execution setting, like the
    device) under a name made of the command and its output, else none. A SIGTERM-stopped or killed
    command resumes from them when re-run; they are removed once the command has succeeded."""
    import contextlib
    from .artifacts import after_commit
    from .attacks.core import checkpoint_files, checkpointing
    path = getattr(a, "checkpoint", None)
    if not path and os.environ.get("UAP_CHECKPOINT_DIR"):
        name = "_".join(Path(out).with_suffix("").parts[-3:])
        path = str(Path(os.environ["UAP_CHECKPOINT_DIR"]) / f"{a.command}-{name}.safetensors")

    @contextlib.contextmanager
    def block():
        with checkpointing(path):
            yield
        if path:
            after_commit(lambda: [f.unlink(missing_ok=True) for f in checkpoint_files(path)])
    return block()


def _eval_subset(test, n: int, seed: int):
    import torch
    from .utils import generator
    n = min(n, len(test))
    idx = torch.sort(torch.randperm(len(test), generator=generator(seed + 17))[:n]).values
    return test.subset(idx), idx


def _fit_and_save(arch: dict, dmeta: dict, x, y, test, tcfg: dict, *, seed: int, cfg: dict, device, checkpoint,
                  out: str, desc: str, meta: dict, adversarial: dict | None = None) -> dict:
    """Build a fresh model, train it (resumable), save weights + sidecar, drop the checkpoint."""
    import torch
    from .train import build_from_spec, model_spec, save_model, train_classifier
    spec = model_spec(arch, dmeta)
    torch.manual_seed(seed)
    model = build_from_spec(spec)
    t0 = time.time()
    res = train_classifier(model, x, y, test.x, test.y, tcfg, seed=seed, device=device, precision=cfg["precision"],
                           flip=dmeta["flip_ok"], checkpoint=checkpoint, adversarial=adversarial, desc=desc)
    metrics = {"test_acc": res["test_acc"], "history": res["history"], "train_size": int(y.shape[0]),
               "test_images": len(test.y), "train_seconds": round(time.time() - t0, 1)}
    save_model(out, model, spec, {**meta, "seed": seed, "train": tcfg, "metrics": metrics})
    if checkpoint:         # dropped only once the weights are in place
        from .artifacts import after_commit
        after_commit(lambda: [p.unlink(missing_ok=True)
                              for p in (Path(checkpoint), Path(checkpoint).with_suffix(".json"))])
    print(f"{desc}: test accuracy {res['test_acc']:.4f}")
    return res


# ----------------------------------------------------------------------------------------------- commands
def cmd_prepare_data(a, cfg):
    """Load the configured dataset, verify it, subset it, write uint8 tensors + sidecars."""
    import torch
    from .artifacts import save_tensors
    from .data import FLIP_OK, load_dataset
    from .utils import generator
    d = cfg["data"]
    kw = {"image_size": d["image_size"]} if d["dataset"] == "imagenet_m10" else {}
    out = Path(a.out_dir)
    stats = None
    for split in ("train", "test"):
        data, prov = load_dataset(d["dataset"], split, root=d["root"], download=d["download"], **kw)
        n_keep = d[f"{split}_subset"]
        if n_keep is not None and n_keep < len(data):
            idx = torch.sort(torch.randperm(len(data), generator=generator(cfg["seed"] + (split == "test")))[:n_keep]).values
            data = data.subset(idx)
        _check_loaded(data, d["dataset"], split, prov)
        if stats is None:  # normalisation statistics come from the training split only
            xf = data.x.float().div(255)
            stats = {"mean": xf.mean(dim=(0, 2, 3)).tolist(), "std": xf.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()}
        meta = {"dataset": d["dataset"], "split": split, "classes": data.classes, "num_classes": len(data.classes),
                "channels": data.x.shape[1], "image_size": data.x.shape[2], "size": len(data),
                "class_counts": torch.bincount(data.y, minlength=len(data.classes)).tolist(),
                "flip_ok": FLIP_OK[d["dataset"]], "provenance": prov, "config": d, **stats}
        save_tensors(out / f"{split}.safetensors", {"x": data.x, "y": data.y, **data.extra}, meta)
        print(f"{d['dataset']}/{split}: {len(data)} images {tuple(data.x.shape[1:])} -> {out / f'{split}.safetensors'}")


def _check_loaded(data, name: str, split: str, prov: dict) -> None:
    """A loaded split is usable: not empty, labels in range of the class list."""
    from .data import DatasetUnavailable
    files = (", ".join(sorted({f.get("path", k) for k, f in prov.get("files", {}).items()}))
             or prov.get("path") or prov.get("source") or name)
    if len(data) == 0:
        raise DatasetUnavailable(f"dataset {name!r}, {split} split ({files}): holds no images")
    k = len(data.classes)
    lo, hi = int(data.y.min()), int(data.y.max())
    if lo < 0 or hi >= k:
        raise DatasetUnavailable(f"dataset {name!r}, {split} split ({files}): labels out of range [0, {k}): "
                                 f"found {lo}..{hi}; the label file is corrupt")


def cmd_train(a, cfg):
    """Train one model of config.models on the prepared data."""
    from .config import ConfigError
    if a.model not in cfg["models"]:
        raise ConfigError(f"--model {a.model!r} is not a key of config.models (known: {sorted(cfg['models'])})")
    m = cfg["models"][a.model]
    device = _runtime(cfg, m["seed"])
    train, meta = _load_split(a.data_dir, "train")
    test, _ = _load_split(a.data_dir, "test")
    if m.get("train_subset") and m["train_subset"] < len(train):   # e.g. costly adversarial training on a CPU
        train, _ = _eval_subset(train, m["train_subset"], m["seed"])
    if m.get("labels", "coarse") == "fine":
        train, test, meta = _fine_labels(train, test, meta, a.model)
    # the master seed reaches every model (seed 0: the model's own seed, as before)
    _fit_and_save(m, meta, train.x, train.y, test, m["train"], seed=cfg["seed"] + m["seed"], cfg=cfg, device=device,
                  checkpoint=a.checkpoint, out=a.out, desc=a.model, adversarial=m.get("adversarial"),
                  meta={"name": a.model, "config": m, "dataset": meta["dataset"]})


def _fine_labels(train, test, meta: dict, name: str):
    """The splits relabelled with their sub-class labels (`y_fine`, e.g. CIFAR-100's 100 classes)."""
    from .config import ConfigError
    from .data import ImageData
    if "y_fine" not in train.extra or "y_fine" not in test.extra:
        raise ConfigError(f"config.models.{name}.labels is 'fine' but dataset {meta['dataset']!r} has no "
                          "sub-class labels (y_fine); use labels: coarse")
    k = int(max(train.extra["y_fine"].max(), test.extra["y_fine"].max())) + 1
    names = [f"fine_{i}" for i in range(k)]
    relabel = lambda d: ImageData(d.x, d.extra["y_fine"], names, {"y_coarse": d.y})   # noqa: E731
    return relabel(train), relabel(test), {**meta, "classes": names, "num_classes": k, "labels": "fine"}


def cmd_pgd(a, cfg):
    """Per-example targeted PGD on test images with random targets ≠ label; ASR table."""
    import torch
    import pandas as pd
    from .artifacts import save_tensors, write_csv
    from .attacks import targeted_pgd
    from .metrics import attack_success_rate, predict
    from .threats import make_threat
    from .train import load_model
    from .utils import generator
    device = _runtime(cfg)
    model, mmeta = load_model(a.model, device)
    test, dmeta = _load_split(a.data_dir, "test")
    sub, idx = _eval_subset(test, cfg["attacks"]["eval_images"], cfg["seed"])
    k = dmeta["num_classes"]
    gen = generator(cfg["seed"] + 101)
    target = (sub.y + torch.randint(1, k, (len(sub),), generator=gen)) % k
    threat = make_threat(a.norm, cfg["attacks"]["norms"][a.norm]["eps"])
    p = cfg["attacks"]["pgd"]
    t0 = time.time()
    with _pgd_checkpointing(a, a.out):
        res = targeted_pgd(model, sub.floats(), target, threat, steps=p["steps"], step_ratio=p["step_ratio"],
                           device=device, precision=cfg["precision"], max_images=cfg["max_batch_images"])
    secs = time.time() - t0
    clean = predict(model, sub.x, device=device)
    pred = predict(model, sub.x, device=device, delta=res.delta)
    rows = [{"target": c, "n": int((target == c).sum()), "asr": attack_success_rate(pred[target == c], c)}
            for c in range(k)]
    rows.append({"target": "all", "n": len(sub), "asr": attack_success_rate(pred, target)})
    df = pd.DataFrame(rows)
    df.insert(0, "norm", a.norm)
    df.insert(1, "eps", threat.eps)
    write_csv(a.table, df)
    metrics = {"asr": attack_success_rate(pred, target), "clean_acc": float((clean == sub.y).float().mean()),
               "delta_norm_mean": float(threat.norm(res.delta).mean()), "seconds": round(secs, 1),
               "images": len(sub)}
    save_tensors(a.out, {"delta": res.delta, "target": target, "test_index": idx},
                 {"attack": "pgd", "norm": a.norm, "eps": threat.eps, "pgd": p, "model": mmeta.get("name"),
                  "seed": cfg["seed"], "metrics": metrics})
    print(f"per-example PGD {a.norm} ε={threat.eps}: ASR {metrics['asr']:.3f} on {len(sub)} images in {secs:.1f}s")


def cmd_universal(a, cfg):
    """One targeted universal perturbation per class over a random base set of K training images."""
    import torch
    import pandas as pd
    from .artifacts import save_tensors, write_csv
    from .attacks import universal_pgd
    from .metrics import attack_success_rate, predict
    from .threats import make_threat
    from .train import load_model
    from .utils import generator
    device = _runtime(cfg)
    model, mmeta = load_model(a.model, device)
    train, dmeta = _load_split(a.data_dir, "train")
    test, _ = _load_split(a.data_dir, "test")
    sub, idx = _eval_subset(test, cfg["attacks"]["eval_images"], cfg["seed"])
    k = dmeta["num_classes"]
    u = cfg["attacks"]["universal"]
    K = min(u["base_size"], len(train))
    gen = generator(cfg["seed"] + 202)
    base_idx = torch.stack([torch.randperm(len(train), generator=gen)[:K] for _ in range(k)])   # [k, K]
    ns = cfg["attacks"]["norms"][a.norm]
    threat = make_threat(a.norm, ns["eps"])
    t0 = time.time()
    with _pgd_checkpointing(a, a.out):
        res = universal_pgd(model, train.floats()[base_idx], torch.arange(k), threat, lr=ns["universal_lr"],
                            epochs=u["epochs"], batch_size=u["batch_size"], generator=gen, device=device,
                            precision=cfg["precision"], max_images=cfg["max_batch_images"])
    secs = time.time() - t0
    rows, curves = [], []
    for t in range(k):
        pred = predict(model, sub.x, device=device, delta=res.delta[t])
        rows.append({"norm": a.norm, "eps": threat.eps, "target": t, "class": dmeta["classes"][t], "K": K,
                     "asr": attack_success_rate(pred, t, sub.y), "asr_all": attack_success_rate(pred, t),
                     "base_asr": float(res.success[t].float().mean()), "delta_norm": float(threat.norm(res.delta[t:t + 1]))})
        for e in range(res.loss_curve.shape[0]):
            curves.append({"norm": a.norm, "target": t, "epoch": e + 1, "loss": float(res.loss_curve[e, t]),
                           "base_acc": float(res.acc_curve[e, t])})
    df = pd.DataFrame(rows)
    write_csv(a.table, df)
    write_csv(a.curves, pd.DataFrame(curves))
    metrics = {"asr_mean": float(df["asr"].mean()), "asr_min": float(df["asr"].min()),
               "asr_max": float(df["asr"].max()), "seconds": round(secs, 1)}
    save_tensors(a.out, {"delta": res.delta, "base_index": base_idx},
                 {"attack": "universal", "norm": a.norm, "eps": threat.eps, "lr": ns["universal_lr"], "universal": u,
                  "model": mmeta.get("name"), "seed": cfg["seed"], "metrics": metrics,
                  "classes": dmeta["classes"]})
    print(f"universal {a.norm} ε={threat.eps} K={K}: test ASR mean {metrics['asr_mean']:.3f} "
          f"(min {metrics['asr_min']:.3f}, max {metrics['asr_max']:.3f}) in {secs:.1f}s")


def cmd_construct(a, cfg):
    """Build D_univ, then D_adv of the same size and label table (S1 Sec. 5.1, App. A.1)."""
    import torch
    import pandas as pd
    from .artifacts import save_tensors, write_csv, write_json
    from .constructed import build_d_adv, build_d_univ, contingency
    from .threats import make_threat
    from .train import load_model
    from .utils import generator
    c = cfg["constructed"]
    offset = REPLICATE_SEED_STRIDE * a.replicate
    device = _runtime(cfg, offset)
    model, mmeta = load_model(a.model, device)
    train, dmeta = _load_split(a.data_dir, "train")
    k = dmeta["num_classes"]
    gen = generator(cfg["seed"] + offset + 303)
    perm = torch.randperm(len(train), generator=gen)
    src = perm[:min(c["source_size"], len(train))]
    ns = cfg["attacks"]["norms"][c["norm"]]
    threat = make_threat(c["norm"], ns["eps"])
    out = Path(a.out_dir)
    t0 = time.time()
    with _pgd_checkpointing(a, a.out_dir):   # D_univ's and D_adv's PGD: a re-run resumes where it stopped
        univ = build_d_univ(model, train.x[src], train.y[src], threat, num_classes=k, group_size=c["group_size"],
                            lr=ns["universal_lr"], epochs=c["univ_epochs"], batch_size=c["univ_batch_size"], gen=gen,
                            device=device, precision=cfg["precision"], max_images=cfg["max_batch_images"],
                            balance=c["balance"])
        t_univ = time.time() - t0
        if univ["stats"]["size"] == 0:
            from .errors import UapError
            raise UapError(f"D_univ is empty under constructed.balance={c['balance']}: some target class was never "
                           "reached" + (" or every original class has a (original, new) pair that was never fooled"
                                        if c["balance"] == "independent" else "") + ". Raise "
                           "attacks.norms.<norm>.eps, constructed.univ_epochs or constructed.source_size. "
                           f"Table before balancing: {univ['stats']['contingency_before_balancing']}")
        if not univ["stats"]["labels_exactly_independent"]:
            v, bound = univ["stats"]["cramers_v"], c["max_cramers_v"]
            print(f"warning: D_univ's labels are not exactly independent (constructed.balance={c['balance']}); "
                  f"Cramér's V of D_univ's labels = {v:.3f} (0 = independent)"
                  + (f", PAST the bound constructed.max_cramers_v = {bound:g}" if v > bound else
                     f", within constructed.max_cramers_v = {bound:g}")
                  + "; the claims table's independence row tests it (χ², claims.independence_alpha)", flush=True)
        t0 = time.time()
        adv = build_d_adv(model, train.x, train.y, threat, table=torch.tensor(univ["stats"]["contingency"]),
                          steps=cfg["attacks"]["pgd"]["steps"], step_ratio=cfg["attacks"]["pgd"]["step_ratio"], gen=gen,
                          device=device, precision=cfg["precision"], max_images=cfg["max_batch_images"])
    t_adv = time.time() - t0
    common = {"norm": c["norm"], "eps": threat.eps, "source_model": mmeta.get("name"), "seed": cfg["seed"] + offset,
              "replicate": a.replicate,
              "classes": dmeta["classes"], "dataset": dmeta["dataset"]}
    univ["stats"]["seconds"] = round(t_univ, 1)
    adv["stats"]["seconds"] = round(t_adv, 1)
    save_tensors(out / "d_univ.safetensors",
                 {"x": univ["x"], "y": univ["y"], "y_orig": univ["y_orig"], "source_index": src[univ["source_index"]],
                  "group": univ["group"], "deltas": univ["deltas"], "group_targets": univ["group_targets"]},
                 {**common, "kind": "d_univ", "constructed": c, "metrics": univ["stats"]})
    save_tensors(out / "d_adv.safetensors",
                 {"x": adv["x"], "y": adv["y"], "y_orig": adv["y_orig"], "source_index": adv["source_index"]},
                 {**common, "kind": "d_adv", "pgd": cfg["attacks"]["pgd"], "metrics": adv["stats"]})
    rows = []
    for name, d in (("d_univ", univ), ("d_adv", adv)):
        table = contingency(d["y_orig"], d["y"], k)
        for i in range(k):
            for j in range(k):
                rows.append({"dataset": name, "original_label": i, "new_label": j, "count": int(table[i, j])})
    write_csv(out / "contingency.csv", pd.DataFrame(rows))
    write_json(out / "construction.json", {**common, "d_univ": univ["stats"], "d_adv": adv["stats"]})
    print(f"D_univ: {univ['stats']['size']} images (construction ASR {univ['stats']['construction_asr']:.3f}, "
          f"{t_univ:.0f}s); D_adv: {adv['stats']['size']} images (ASR {adv['stats']['construction_asr']:.3f}, {t_adv:.0f}s)")


def cmd_train_constructed(a, cfg):
    """Train a fresh model on a constructed dataset at one grid point; test on the original test set."""
    from .artifacts import load_tensors
    from .grid import train_settings
    c = cfg["constructed"]
    tcfg = train_settings(c, a.hp)
    seed = cfg["seed"] + REPLICATE_SEED_STRIDE * a.replicate + a.train_seed
    device = _runtime(cfg, seed - cfg["seed"])
    tensors, cmeta = load_tensors(a.dataset)
    check_images(tensors, {"classes": cmeta.get("classes")}, a.dataset)
    test, dmeta = _load_split(a.data_dir, "test")
    _fit_and_save(c["train"], dmeta, tensors["x"], tensors["y"], test, tcfg, seed=seed, cfg=cfg,
                  device=device, checkpoint=a.checkpoint, out=a.out, desc=f"{cmeta['kind']} {a.hp} s{a.train_seed}",
                  meta={"name": f"{cmeta['kind']}_{a.hp}", "constructed": cmeta["kind"], "hp": a.hp,
                        "norm": cmeta["norm"], "eps": cmeta["eps"], "dataset": dmeta["dataset"],
                        "source_model": cmeta.get("source_model"), "replicate": a.replicate,
                        "train_seed": a.train_seed})


def cmd_report_generalization(a, cfg):
    """Table 3 analogue (all grid points, best marked, paper values beside) + run metrics JSON."""
    import pandas as pd
    from .artifacts import read_json, write_csv, write_json
    from .paper import table3_reference
    rows = []
    for path in a.models:
        meta = read_json(Path(path).with_suffix(".json"))
        ref = table3_reference(cfg["data"]["dataset"], meta["norm"], meta["constructed"])
        rows.append({"constructed": meta["constructed"], "norm": meta["norm"], "eps": meta["eps"], "hp": meta["hp"],
                     "source_model": meta.get("source_model"), "replicate": meta.get("replicate", 0),
                     "train_seed": meta.get("train_seed", 0),
                     "train_size": meta["metrics"]["train_size"], "epochs": meta["train"]["epochs"],
                     "test_acc": meta["metrics"]["test_acc"] * 100,
                     "test_images": meta["metrics"].get("test_images"),
                     "paper_source": ref["source_dataset"] if ref else None,
                     "paper_eps": ref["eps"] if ref else None,
                     "paper_test_acc": ref["test_acc"] if ref else None})
    df = pd.DataFrame(rows).sort_values(["replicate", "constructed", "hp", "train_seed"]).reset_index(drop=True)
    # the grid point with the best mean over training seeds, per (chain, dataset): the paper reports the best
    mean = df.groupby(["replicate", "constructed", "hp"]).test_acc.transform("mean")
    df["hp_mean_acc"] = mean
    best_hp = df.loc[mean.groupby([df.replicate, df.constructed]).idxmax()].set_index(["replicate", "constructed"]).hp
    df["best"] = [best_hp[(r, c)] == h for r, c, h in zip(df.replicate, df.constructed, df.hp)]
    write_csv(a.out, df)
    main = df[df["best"] & (df.replicate == 0)]
    best = main.groupby("constructed").test_acc.mean().to_dict()
    metrics = {"generalization": {k: round(v, 2) for k, v in best.items()}}
    for path in a.sources:
        meta = read_json(Path(path).with_suffix(".json"))
        if "attack" in meta:
            key = f"{meta['attack']}_{meta['norm']}"
        elif "kind" in meta:
            key = f"{meta['kind']}_{meta['norm']}"
        else:
            key = meta.get("name", Path(path).stem)
        m = meta.get("metrics", {})
        metrics[key] = {k: v for k, v in m.items() if not isinstance(v, (list, dict))}
    write_json(a.metrics, metrics)
    print(df.to_string(index=False))


def cmd_notebook(a, cfg):
    """Execute a figure notebook with papermill and render it to HTML."""
    import shutil
    import tempfile

    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    from .artifacts import _mkdirs, after_commit, write_text
    from .errors import ArtifactError, UapError
    from .notebooks import portable_path, scrub_notebook
    if not Path(a.notebook).is_file():
        raise ArtifactError(f"--notebook {a.notebook} does not exist")
    if not Path(a.run_dir).is_dir():
        raise ArtifactError(f"--run-dir {a.run_dir} is not a folder (run the pipeline for this run first)")
    fig_dir = Path(a.fig_dir)
    _mkdirs(fig_dir.parent)
    # the notebook writes its figures into a staging folder, moved into fig_dir only on success
    stage = Path(tempfile.mkdtemp(dir=fig_dir.parent, prefix=f".{fig_dir.name}."))
    try:
        with tempfile.TemporaryDirectory() as work:
            executed = Path(work) / Path(a.out).name
            # paths relative to the folder the command runs in (the repository root under Snakemake), and the
            # kernel runs there too: the executed notebook and its HTML do not depend on where the clone lives
            params = {"run_dir": portable_path(a.run_dir), "fig_dir": portable_path(stage)}
            try:
                pm.execute_notebook(a.notebook, str(executed), parameters=params, kernel_name=a.kernel,
                                    progress_bar=False, cwd=os.getcwd())
            except pm.PapermillExecutionError as exc:
                raise UapError(f"notebook {a.notebook} failed in cell {exc.exec_count} with {exc.ename}: "
                               f"{exc.evalue} (run dir {a.run_dir}); see the log") from exc
            nb = nbformat.reads(executed.read_text(), as_version=4)
        scrub_notebook(nb, a.notebook, a.out, stage=params["fig_dir"], fig_dir=portable_path(fig_dir))
        # code cells stay in the executed .ipynb; the HTML shows the prose, tables and figures
        html, _ = HTMLExporter(exclude_input=True).from_notebook_node(nb)
        write_text(a.out, nbformat.writes(nb) + "\n")
        write_text(a.html, html)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise

    def publish():
        fig_dir.mkdir(parents=True, exist_ok=True)
        for f in stage.iterdir():
            os.replace(f, fig_dir / f.name)
        shutil.rmtree(stage, ignore_errors=True)
    after_commit(publish)
    print(f"rendered {a.notebook} -> {a.out}, {a.html}")


# ----------------------------------------------------------------------------------------------- S4
def _s4_inputs(a, cfg, model_path):
    from .models import hidden_layers
    from .train import load_model
    from .utils import generator
    device = _runtime(cfg, autocast=False)
    model, mmeta = load_model(model_path, device, keep=hidden_layers)   # S4 hooks their outputs
    train, _ = _load_split(a.data_dir, "train")
    test, _ = _load_split(a.data_dir, "test")
    sub, _ = _eval_subset(test, cfg["s4"]["eval_images"], cfg["seed"])
    gen = generator(cfg["seed"] + 404)
    return device, model, mmeta, train, sub, gen


def cmd_sv_layers(a, cfg):
    """S4: singular value and fooling rate of the SV-UAP of every hidden layer of one model, per seed."""
    import torch
    import pandas as pd
    from .artifacts import save_tensors, write_csv
    from .models import hidden_layers
    from .s4 import layer_sweep
    s = cfg["s4"]
    device, model, mmeta, train, sub, gen = _s4_inputs(a, cfg, a.model)
    layers = hidden_layers(model)
    tables, deltas = [], []
    for seed in range(s["seeds"]):      # each seed: its own base batch and power-method start
        base = train.floats()[torch.randperm(len(train), generator=gen)[:s["batch_images"]]]
        t, d = layer_sweep(model, layers, base, sub.x, norm=s["norm"], eps=s["eps"], q=s["q"], iters=s["iters"],
                           gen=gen, device=device, seed=seed, tol=s["tol"])
        tables.append(t)
        deltas.append(d)
    df = pd.concat(tables, ignore_index=True)
    df.insert(0, "model", mmeta["name"])
    df.insert(1, "arch", mmeta["model"]["arch"])
    write_csv(a.table, df)
    # delta: seed 0's singular vectors (figures); delta_seeds: every seed's (the transfer matrix per seed)
    save_tensors(a.out, {"delta": deltas[0], "delta_seeds": torch.stack(deltas)},
                 {"attack": "sv_uap", "model": mmeta["name"], "layers": layers, "s4": s, "seed": cfg["seed"],
                  "metrics": {"best_fooling_rate": float(df.fooling_rate.max())}})


def cmd_sv_images(a, cfg):
    """S4: fooling rate against the number of images, SV-UAP vs the DeepFool UAP."""
    import pandas as pd
    from .artifacts import write_csv
    from .s4 import best_layer, images_sweep
    s = cfg["s4"]
    device, model, mmeta, train, sub, gen = _s4_inputs(a, cfg, a.model)
    layer = best_layer(pd.read_csv(a.layers))
    df = images_sweep(model, layer, train.floats(), sub.x, s["n_images"], norm=s["norm"], eps=s["eps"], q=s["q"],
                      iters=s["iters"], df_cfg=s["deepfool"], gen=gen, device=device, tol=s["tol"],
                      batches=s["base_batches"])
    df.insert(0, "model", mmeta["name"])
    df.insert(1, "layer", layer)
    write_csv(a.table, df)


def cmd_sv_q(a, cfg):
    """S4: dependence of the SV-UAP on q."""
    import torch
    import pandas as pd
    from .artifacts import write_csv
    from .s4 import best_layer, q_sweep
    s = cfg["s4"]
    device, model, mmeta, train, sub, gen = _s4_inputs(a, cfg, a.model)
    layer = best_layer(pd.read_csv(a.layers))
    base = train.floats()[torch.randperm(len(train), generator=gen)[:s["batch_images"]]]
    df = q_sweep(model, layer, base, sub.x, s["q_values"], norm=s["norm"], eps=s["eps"], iters=s["iters"], gen=gen,
                 device=device, tol=s["tol"])
    df.insert(0, "model", mmeta["name"])
    df.insert(1, "layer", layer)
    write_csv(a.table, df)


def cmd_sv_transfer(a, cfg):
    """S4: transfer matrix — each model's best-layer SV-UAP evaluated on every model."""
    import pandas as pd
    from .artifacts import load_tensors, write_csv
    from .s4 import best_layer, transfer_matrix
    from .train import load_model
    from .utils import generator
    s = cfg["s4"]
    device = _runtime(cfg, autocast=False)
    test, _ = _load_split(a.data_dir, "test")
    sub, _ = _eval_subset(test, s["eval_images"], cfg["seed"])
    models, deltas = {}, {}
    for mpath, lpath, dpath in zip(a.models, a.layers, a.deltas):
        model, mmeta = load_model(mpath, device)
        table = pd.read_csv(lpath)
        t, dmeta = load_tensors(dpath)
        per_seed = t["delta_seeds"] if "delta_seeds" in t else t["delta"][None]
        deltas[mmeta["name"]] = per_seed[:, dmeta["layers"].index(best_layer(table))]
        models[mmeta["name"]] = model
    gen = generator(cfg["seed"] + 405)
    seeds = min(d.shape[0] for d in deltas.values())
    # one matrix per layer-sweep seed (its own base batches, its own noise draw): the claims' interval is over them
    df = pd.concat([transfer_matrix(models, {k: d[i] for k, d in deltas.items()}, sub.x, device, s["norm"], s["eps"],
                                    gen).assign(seed=i) for i in range(seeds)], ignore_index=True)
    write_csv(a.table, df)


def cmd_claims(a, cfg):
    """The claims table: one row per headline finding, paper value, ours, verdict."""
    from .artifacts import write_csv
    from .claims import claims_table
    s1a = None
    if a.s1_models:
        s1a = {"models": a.s1_models, "locality": a.s1_locality, "shifts": a.s1_shifts, "scaling": a.s1_scaling,
               "transfer": a.s1_transfer, "locality_images": a.s1_locality_images,
               "shifts_images": a.s1_shifts_images, "scaling_images": a.s1_scaling_images,
               "transfer_images": a.s1_transfer_images}
    df = claims_table(cfg, generalization=a.generalization, s4_layers=a.s4_layers, s4_images=a.s4_images,
                      s4_transfer=a.s4_transfer, s1a=s1a, s2_claims=a.s2_claims,
                      s1u={"interpolation": a.s1_interpolation, "leakage": a.s1_leakage},
                      s3={"juap_vs_plain": a.s3_juap_vs_plain} if a.s3_juap_vs_plain else None,
                      construction=a.construction)
    write_csv(a.out, df)
    if a.summary:
        from .artifacts import write_json
        from .claims_summary import claims_summary
        write_json(a.summary, claims_summary(a.out))
    print(df.to_string(index=False))


# ----------------------------------------------------------------------------------------------- parser
# Commands of other systems live beside their science: each module named here has a
# `register(add)` that adds its subcommands with the `add` helper of build_parser.
COMMAND_MODULES: tuple[str, ...] = ("uap.s1.commands", "uap.s1.universality_commands", "uap.upi.commands",
                                     "uap.juap.commands", "uap.readme", "uap.claims_compare")


CHECKPOINT_HELP = ("checkpoint of the PGD loops for resuming after a kill or SIGTERM (files <stem>.pgd<i>.*, deleted "
                   "on success; default: under $UAP_CHECKPOINT_DIR if set, else none)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m uap", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, fn, help_, config=True):
        s = sub.add_parser(name, help=help_, description=fn.__doc__)
        if config:
            s.add_argument("--config", required=True, help="YAML file, or inline JSON (as Snakemake passes it)")
        else:
            s.set_defaults(config=None)
        s.add_argument("--threads", type=_positive_int, default=None,
                       help="torch CPU threads (default: torch's choice)")
        s.set_defaults(fn=fn)
        return s

    s = add("prepare-data", cmd_prepare_data, "verify, subset and store the dataset as tensors")
    s.add_argument("--out-dir", required=True)
    s = add("train", cmd_train, "train a model of config.models")
    s.add_argument("--model", required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--checkpoint", help="per-epoch checkpoint for resuming (deleted on success)")
    for name, fn, h in (("pgd", cmd_pgd, "per-example targeted PGD and its ASR"),
                        ("universal", cmd_universal, "targeted universal perturbations, one per class")):
        s = add(name, fn, h)
        s.add_argument("--model", required=True, help="model weights (.safetensors)")
        s.add_argument("--data-dir", required=True)
        s.add_argument("--norm", required=True, choices=["l2", "linf"])
        s.add_argument("--out", required=True)
        s.add_argument("--table", required=True)
        s.add_argument("--checkpoint", help=CHECKPOINT_HELP)
        if name == "universal":
            s.add_argument("--curves", required=True)
    s = add("construct", cmd_construct, "build D_univ and D_adv")
    s.add_argument("--model", required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--replicate", type=_nonnegative_int, default=0,
                   help="replicate chain (0: the main one); offsets every seed of the construction")
    s.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    s = add("train-constructed", cmd_train_constructed, "train on a constructed dataset at one grid point")
    s.add_argument("--dataset", required=True)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--hp", required=True, help="grid label, e.g. lr0.1_bs128_drop")
    s.add_argument("--replicate", type=_nonnegative_int, default=0, help="replicate chain of the dataset")
    s.add_argument("--train-seed", type=_nonnegative_int, default=0, help="training seed within the chain")
    s.add_argument("--out", required=True)
    s.add_argument("--checkpoint")
    s = add("report-generalization", cmd_report_generalization, "Table 3 analogue + metrics.json")
    s.add_argument("--models", nargs="+", required=True)
    s.add_argument("--sources", nargs="*", default=[], help="model/attack artifacts whose metrics go in metrics.json")
    s.add_argument("--out", required=True)
    s.add_argument("--metrics", required=True)
    for name, fn, h in (("sv-layers", cmd_sv_layers, "S4 per-layer singular vectors"),
                        ("sv-images", cmd_sv_images, "S4 fooling rate vs number of images"),
                        ("sv-q", cmd_sv_q, "S4 dependence on q")):
        s = add(name, fn, h)
        s.add_argument("--model", required=True)
        s.add_argument("--data-dir", required=True)
        s.add_argument("--table", required=True)
        if name == "sv-layers":
            s.add_argument("--out", required=True)
        else:
            s.add_argument("--layers", required=True, help="the model's sv-layers table (best layer is used)")
    s = add("sv-transfer", cmd_sv_transfer, "S4 transfer matrix")
    s.add_argument("--data-dir", required=True)
    s.add_argument("--models", nargs="+", required=True)
    s.add_argument("--layers", nargs="+", required=True)
    s.add_argument("--deltas", nargs="+", required=True)
    s.add_argument("--table", required=True)
    s = add("claims", cmd_claims, "claims table (paper vs ours, verdicts)")
    s.add_argument("--generalization", required=True)
    s.add_argument("--s4-layers", nargs="+", required=True)
    s.add_argument("--s4-images", required=True)
    s.add_argument("--s4-transfer", required=True)
    s.add_argument("--s2-claims", help="S2 claims rows, as upi-tables writes them (upi/claims.csv)")
    s.add_argument("--s1-models", help="S1 Table 7 analogue (models.csv)")
    s.add_argument("--s1-locality", nargs="*", default=[])
    s.add_argument("--s1-shifts", nargs="*", default=[])
    s.add_argument("--s1-scaling")
    s.add_argument("--s1-transfer")
    s.add_argument("--s1-locality-images", nargs="*", default=[], help="per-image outcomes, in --s1-locality's order")
    s.add_argument("--s1-shifts-images", nargs="*", default=[], help="per-image outcomes, in --s1-shifts' order")
    s.add_argument("--s1-scaling-images")
    s.add_argument("--s1-transfer-images")
    s.add_argument("--construction", nargs="*", default=[],
                   help="constructed/<norm>/<chain>/construction.json of every chain (D_univ's label independence)")
    s.add_argument("--s1-interpolation", help="S1 interpolation table (Tables 1, 2, 5, App. A.3)")
    s.add_argument("--s1-leakage", help="S1 linear-probe table (Table 4)")
    s.add_argument("--s3-juap-vs-plain", help="S3: JUAP vs generative UAP table (s3-tables)")
    s.add_argument("--out", required=True)
    s.add_argument("--summary", help="also write verdict counts of the table as JSON (DVC metrics)")
    s = add("notebook", cmd_notebook, "run a figure notebook with papermill and render HTML")
    s.add_argument("--notebook", required=True)
    s.add_argument("--run-dir", required=True)
    s.add_argument("--fig-dir", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--html", required=True)
    s.add_argument("--kernel", default="python3")
    import importlib
    for mod in COMMAND_MODULES:
        importlib.import_module(mod).register(add)
    return p


# Argument names that are outputs of a command (files, or folders for *_dir): checked for
# writability before any work is done.
OUTPUT_ARGS = ("out", "out_dir", "table", "table1", "table2", "curves", "metrics", "html", "fig_dir", "checkpoint")


def _int_at_least(minimum: int, what: str):
    """An argparse type: an integer >= `minimum`, or an error saying it must be `what`."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {v}")
        return v
    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonnegative_int = _int_at_least(0, "a non-negative integer")


def _check_outputs(args) -> None:
    from .artifacts import check_writable
    from .errors import ArtifactError
    for name in OUTPUT_ARGS:
        value = getattr(args, name, None)
        for v in (value if isinstance(value, list) else [value] if value else []):
            p = Path(v)
            if name.endswith("_dir"):
                check_writable(p)
            elif p.is_dir():
                raise ArtifactError(f"--{name.replace('_', '-')} {p} is a folder; give a file path")
            else:
                check_writable(p.parent)
    _check_no_overwrite(args)


def _paths(value) -> list[str]:
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v]


def _check_no_overwrite(args) -> None:
    """No output file is an input of the command (e.g. a notebook rule writing over its source
    notebook: `run: ..` made results/../notebooks/x.ipynb the source itself) or another output."""
    from .errors import ArtifactError

    def same(a: str, b: str) -> bool:
        try:
            return Path(a).resolve() == Path(b).resolve()
        except (OSError, RuntimeError):
            return False
    outs = [(n, v) for n in OUTPUT_ARGS if not n.endswith("_dir") for v in _paths(getattr(args, n, None))]
    ins = [(n, v) for n, value in vars(args).items() if n not in OUTPUT_ARGS and n not in ("fn", "command")
           for v in _paths(value) if not v.lstrip().startswith("{") and Path(v).exists()]
    for i, (name, out) in enumerate(outs):
        for other, v in ins + outs[:i]:
            if same(out, v):
                what = "input" if (other, v) in ins else "output"
                raise ArtifactError(f"--{name.replace('_', '-')} {out} is the same file as the {what} "
                                    f"--{other.replace('_', '-')} {v}; give another --{name.replace('_', '-')}")


def _raise_on_sigterm(command: str):
    """Until the returned function is called, SIGTERM raises Terminated wherever the command is (the
    transaction then removes its outputs); a training loop replaces this with its own handler, which
    checkpoints first (utils.sigterm_flag)."""
    import signal
    import threading
    from .errors import Terminated
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise Terminated(f"{signal.Signals(signum).name} before `{command}` finished: its outputs were removed; "
                         "re-run it")
    old = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, old)


def _one_line(exc: BaseException) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    """Run one command. The error boundary: an expected failure (UapError) prints one line
    `error: …` naming the file or key and exits 2; anything else is an internal error whose
    traceback stays on stderr (the rule's log), exit 1. A failing command leaves no outputs behind.
    SIGTERM (a SLURM time limit) stops the command with one line `stopped: …` and EXIT_TERMINATED (3):
    training saves a checkpoint at the end of its current batch first (re-running resumes there); any
    other command's outputs are removed, as on a failure."""
    from .artifacts import transaction
    from .config import load_config
    from .errors import EXIT_TERMINATED, Terminated, UapError
    from .execution import apply_execution_env
    global _THREADS
    args = build_parser().parse_args(argv)
    _THREADS = args.threads
    restore = _raise_on_sigterm(args.command)
    try:
        with transaction():
            _check_outputs(args)
            cfg = apply_execution_env(load_config(args.config)) if args.config is not None else {}
            rc = args.fn(args, cfg)        # a command may return a non-zero status (claims-compare: 1 on a flip)
    except Terminated as exc:
        print(f"stopped: {_one_line(exc)}", file=sys.stderr)
        return EXIT_TERMINATED
    except UapError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        print(f"internal error: {type(exc).__name__}: {_one_line(exc)} (a bug: the traceback above is in the "
              "log; please report it)", file=sys.stderr)
        return 1
    finally:
        restore()
    return int(rc or 0)
