"""S2 commands: `upi-attack` (one model × one interpretation) and `upi-tables`."""
from __future__ import annotations

import time
from pathlib import Path


from ..errors import UapError


def cmd_upi_attack(a, cfg):
    """Every perturbation of S2's Table 1 for one model and one interpretation, evaluated on test images."""
    from ..artifacts import save_tensors, write_csv
    from ..cli import _eval_subset, _load_split, _runtime
    from ..train import load_model
    from ..utils import generator
    from .experiment import run_experiment
    u = cfg["upi"]
    if a.interpreter not in u["interpreters"]:
        raise UapError(f"interpreter {a.interpreter!r} is not in upi.interpreters ({u['interpreters']})")
    device = _runtime(cfg, autocast=False)
    model, mmeta = load_model(a.model, device)
    train, dmeta = _load_split(a.data_dir, "train")
    test, _ = _load_split(a.data_dir, "test")
    sub, test_idx = _eval_subset(test, u["eval_images"], cfg["seed"])
    base, train_idx = _eval_subset(train, u["train_images"], cfg["seed"] + 505)
    gen = generator(cfg["seed"] + 506 + (a.interpreter == "ig"))
    t0 = time.time()
    df, tensors, diag = run_experiment(model, a.interpreter, base.floats(), sub.floats(), u, gen=gen, device=device)
    secs = time.time() - t0
    df.insert(0, "model", mmeta["name"])
    df.insert(1, "arch", mmeta["model"]["arch"])
    df.insert(2, "dataset", dmeta["dataset"])
    write_csv(a.table, df)
    save_tensors(a.out, {**tensors, "test_index": test_idx, "train_index": train_idx},
                 {"system": "S2", "model": mmeta["name"], "arch": mmeta["model"]["arch"], "dataset": dmeta["dataset"],
                  "interpreter": a.interpreter, "upi": u, "seed": cfg["seed"], "eps_l2_pixels01": u["eps"],
                  "model_test_acc": mmeta.get("metrics", {}).get("test_acc"),
                  "metrics": {"seconds": round(secs, 1), **diag,
                              **{f"dissimilarity_{m}": v for m, v in zip(df.method, df.dissimilarity)}}})
    print(df[["method", "dissimilarity", "fooling_rate", "seconds"]].to_string(index=False))
    print(f"{mmeta['name']} / {a.interpreter}: {secs:.1f}s")


def cmd_upi_tables(a, cfg):
    """Tables 1–2 analogues (paper beside ours) and the cross-correlation of the universal perturbations."""
    import pandas as pd
    from ..artifacts import load_tensors, write_csv
    from .experiment import METHODS, UNIVERSAL
    from .tables import correlation_table, paper_tables
    results = pd.concat([pd.read_csv(p) for p in a.tables], ignore_index=True)
    t1, t2 = paper_tables(results, cfg["data"]["dataset"])
    write_csv(a.table1, t1)
    write_csv(a.table2, t2)
    deltas, per_image = {}, []
    for path in a.deltas:
        t, meta = load_tensors(path)
        per_image += [pd.DataFrame({"model": meta["model"], "interpreter": meta["interpreter"], "method": m,
                                    "image": range(len(t[f"dissimilarity_{m}"])),
                                    "dissimilarity": t[f"dissimilarity_{m}"].numpy()})
                      for m, _, _ in METHODS if f"dissimilarity_{m}" in t]
        for m in UNIVERSAL:
            if m == "classification_uap" and meta["interpreter"] != cfg["upi"]["interpreters"][0]:
                continue     # the classification UAP does not depend on the interpretation: list it once
            deltas[(meta["model"], meta["interpreter"] if m != "classification_uap" else "-", m)] = t[f"delta_{m}"]
    write_csv(a.correlation, correlation_table(deltas))
    # this run's S2 rows of the claims table, written here so that a run holding S2 alone (e.g. on
    # mnist5k) gets its verdicts; the claims table of a full run reads them from this file
    from ..claims import as_table, s2_rows
    per_image = pd.concat(per_image, ignore_index=True) if per_image else None
    write_csv(a.claims, as_table(s2_rows(cfg, a.table1, a.correlation, per_image)))
    print(t1.to_string(index=False))


def register(add):
    s = add("upi-attack", cmd_upi_attack, "S2: UPIs and baselines for one model and interpretation")
    s.add_argument("--model", required=True, help="model weights (.safetensors)")
    s.add_argument("--interpreter", required=True, help="a name of the interpretation registry (sg, ig)")
    s.add_argument("--data-dir", required=True)
    s.add_argument("--out", required=True, help="perturbations and example maps (.safetensors)")
    s.add_argument("--table", required=True, help="per-method dissimilarity and fooling rate (.csv)")
    s = add("upi-tables", cmd_upi_tables, "S2: Tables 1–2 analogues and cross-correlations")
    s.add_argument("--tables", nargs="+", required=True)
    s.add_argument("--deltas", nargs="+", required=True)
    s.add_argument("--table1", required=True)
    s.add_argument("--table2", required=True)
    s.add_argument("--correlation", required=True)
    s.add_argument("--claims", required=True, help="S2's claims rows (thresholds: config.claims)")
