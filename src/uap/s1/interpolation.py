"""Interpolating universality (S1 Sec. 5.3, App. A.4; Tables 1, 2, 5) and the D_det-style dataset of
App. A.3.

Every dataset here is a D_univ built by the one construction of `uap.constructed.build_d_univ`
(groups of K images share one universal perturbation; only images the source model then puts in
the group's target class are kept; labels are balanced). The variants differ only in how the
source images are grouped and which target each group gets:

- ``random_K{K}``: K random images per group, balanced random targets (Table 1; K = 1 is a
  per-example adversarial perturbation, large K a universal one);
- ``class_K{K}`` / ``subclass_K{K}``: every group is drawn from one class / one sub-class (Table 2);
  sub-classes need a dataset with a real hierarchy (`uap.data.FINE_LABELS`);
- ``random_K1_half``: K = 1 at half the budget ε/2 (Table 5, compared with ``random_K2``), built the
  paper's way, like D_adv: per-example targeted PGD (attacks.pgd: 10 steps of ε/3) toward balanced
  random targets, every image kept (no success filter, no balancing);
- ``cyclic_K{K}``: class-restricted groups whose target is (y + 1) mod k — the D_det-style dataset
  of App. A.3, where robust features point away from the new label.
"""
from __future__ import annotations

import torch

from ..constructed import balanced_targets, build_d_univ, contingency, cramers_v
from ..threats import apply_perturbation, make_threat
from .variants import has_hierarchy, parse_variant, variant_label

def restricted_groups(labels: torch.Tensor, K: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Order of `labels`' indices in which every K consecutive indices share one label.

    Each label's images are shuffled and cut into whole groups of K (the remainder is dropped);
    the groups are then shuffled. Returns (order [G·K], group label [G])."""
    groups, glabels = [], []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        g = len(idx) // K
        if g:
            groups.append(idx[:g * K].view(g, K))
            glabels.append(torch.full((g,), int(c), dtype=torch.long))
    if not groups:
        raise ValueError(f"no label has {K} images: cannot form restricted base sets of K={K}")
    groups, glabels = torch.cat(groups), torch.cat(glabels)
    perm = torch.randperm(len(groups), generator=gen)
    return groups[perm].reshape(-1), glabels[perm]


def cyclic_targets(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The D_det-style relabelling of App. A.3: t = (y + 1) mod k."""
    return (labels + 1) % num_classes


def build_half_budget_adv(model, x: torch.Tensor, y: torch.Tensor, threat, *, num_classes: int, steps: int,
                          step_ratio: float, gen: torch.Generator, device="cpu", precision: str = "fp32",
                          max_images: int = 4096) -> dict:
    """Table 5's "K = 1 at ε/2" row as the paper builds it — a D_adv at the reduced budget: each image
    gets its own targeted PGD perturbation (steps of step_ratio·ε) toward a balanced random target,
    and every image is kept, fooled or not (the construction ASR is reported)."""
    from ..attacks import targeted_pgd
    from ..metrics import as_float
    xs = as_float(x)
    new = balanced_targets(len(y), num_classes, gen)
    res = targeted_pgd(model, xs, new, threat, steps=steps, step_ratio=step_ratio, device=device,
                       precision=precision, max_images=max_images, desc="Table 5 D_adv-style PGD (ε/2)")
    success = res.success.reshape(-1)
    table = contingency(y, new, num_classes)
    n = len(y)
    return {"x": apply_perturbation(xs, res.delta), "y": new, "y_orig": y, "source_index": torch.arange(n),
            "group": torch.arange(n), "deltas": res.delta, "group_targets": new,
            "stats": {"source_images": n, "groups": n, "group_size": 1, "balance": "none (D_adv-style: all kept)",
                      "construction_asr": float(success.float().mean()),
                      "construction_asr_excluding_same_label": float(success[y != new].float().mean()),
                      "kept_before_balancing": n, "size": n, "per_new_label": n // num_classes,
                      "new_labels_reached": int((table.sum(0) > 0).sum()), "labels_exactly_independent": False,
                      "cramers_v": cramers_v(table), "contingency_before_balancing": table.tolist(),
                      "contingency": table.tolist(), "construction": f"per-example PGD, {steps} steps of "
                                                                     f"{step_ratio:.3g}·ε"}}


def size_matched(y: torch.Tensor, size: int, num_classes: int, gen: torch.Generator) -> torch.Tensor:
    """Sorted indices of a seeded subset of `size` images (size ≤ len(y)) as even over the labels `y` as
    they allow (each label keeps ⌊size/k⌋ or one more, fewer only where it has fewer): every dataset of
    Tables 1, 2 and 5 trains on the same number of images."""
    if size > len(y):
        raise ValueError(f"cannot match size {size} with {len(y)} images")
    from ..constructed import waterfill
    counts = torch.bincount(y, minlength=num_classes)
    take = waterfill(counts, size)
    keep = []
    for c in range(num_classes):
        idx = torch.nonzero(y == c).flatten()
        keep.append(idx[torch.randperm(len(idx), generator=gen)[: int(take[c])]])
    return torch.sort(torch.cat(keep)).values


def build_variant(model, x: torch.Tensor, y: torch.Tensor, y_fine: torch.Tensor | None, label: str, *,
                  num_classes: int, norm: str, eps: float, lr: float, epochs: int, batch_size: int,
                  source_size: int, gen: torch.Generator, device="cpu", precision: str = "fp32", max_images: int = 4096,
                  balance: str = "reached", pgd_steps: int = 10, pgd_step_ratio: float = 1 / 3,
                  adv_source_size: int | None = None) -> dict:
    """Build one variant from the training images (uint8 or float [N, C, H, W]).

    The source set is a seeded random subset of `source_size` images; restricted variants group it
    by (sub)class. ε and the step size are both scaled by the variant's eps_scale. The half-budget
    variant is built like D_adv (`build_half_budget_adv`) from `adv_source_size` images."""
    v = parse_variant(label)
    K = v["K"]
    if v["eps_scale"] != 1.0:
        n = min(adv_source_size or source_size, len(y))
        src = torch.randperm(len(y), generator=gen)[:n]
        threat = make_threat(norm, eps * v["eps_scale"])
        res = build_half_budget_adv(model, x[src], y[src], threat, num_classes=num_classes, steps=pgd_steps,
                                    step_ratio=pgd_step_ratio, gen=gen, device=device, precision=precision,
                                    max_images=max_images)
        res["source_index"] = src
        res["stats"].update({"variant": label, **v, "eps": threat.eps, "lr": None})
        return res
    src = torch.randperm(len(y), generator=gen)[:min(source_size, len(y))]
    targets = None
    if v["kind"] == "random":
        order = src
    else:
        if v["kind"] == "subclass":
            if y_fine is None:
                raise ValueError(f"{label}: the dataset has no sub-class labels (y_fine); a sub-class row is "
                                 "not applicable here")
            group_by = y_fine[src]
        else:
            group_by = y[src]
        local, glabel = restricted_groups(group_by, K, gen)
        order = src[local]
        if v["kind"] == "cyclic":
            targets = cyclic_targets(y[order].view(-1, K)[:, 0], num_classes)
    threat = make_threat(norm, eps * v["eps_scale"])
    res = build_d_univ(model, x[order], y[order], threat, num_classes=num_classes, group_size=K,
                       lr=lr * v["eps_scale"], epochs=epochs, batch_size=batch_size, gen=gen, device=device,
                       precision=precision, max_images=max_images, balance=balance, targets=targets)
    n_used = res["stats"]["source_images"]
    res["source_index"] = order[:n_used][res["source_index"]]
    res["stats"].update({"variant": label, **v, "eps": threat.eps, "lr": lr * v["eps_scale"]})
    return res


# --------------------------------------------------------------------------------------------- table
def table_layout(cfg: dict) -> list[dict]:
    """The rows of results/<run>/s1/interpolation.csv: (paper table, row name, variant or None).

    A variant may appear in several tables (random_K2 in Tables 1 and 5). A sub-class row on a dataset
    without a class hierarchy has no variant: it is reported as not applicable."""
    ic = cfg["interpolation"]
    rk = ic["restricted_K"]
    rows = [{"table": "Table 1", "row": f"K={K}", "variant": variant_label("random", K)} for K in ic["K"]]
    rows.append({"table": "Table 2", "row": "Random", "variant": variant_label("random", rk)})
    names = {"class": "Single Class", "subclass": "Single Sub-class"}
    for kind in ic["restricted"]:
        ok = kind != "subclass" or has_hierarchy(cfg["data"]["dataset"])
        rows.append({"table": "Table 2", "row": names[kind], "variant": variant_label(kind, rk) if ok else None})
    if ic["budget_check"]:
        rows += [{"table": "Table 5", "row": "eps, K=2", "variant": variant_label("random", 2)},
                 {"table": "Table 5", "row": "eps/2, K=1", "variant": variant_label("random", 1, half=True)}]
    if cfg["leakage"]["cyclic"]:
        rows += [{"table": "A.3", "row": "D_univ (random labels)", "variant": variant_label("random", rk)},
                 {"table": "A.3", "row": "D_det-style (cyclic labels)", "variant": variant_label("cyclic", rk)}]
    return rows


def seed_path(path, s: int) -> str:
    """Weights of training seed s (0-based) of an interpolation model: `path` itself for s = 0,
    `<stem>.seed<s><suffix>` otherwise."""
    from pathlib import Path
    p = Path(path)
    return str(p if s == 0 else p.with_name(f"{p.stem}.seed{s}{p.suffix}"))


def table_row(layout: dict, dataset_meta: dict | None, model_meta: dict | None, dataset: str,
              seed_metas: list[dict] | None = None) -> dict:
    """One row: construction statistics of the dataset, test accuracy of the fresh model trained on it.
    seed_metas: the sidecars of every training seed (seed 0 first); test_acc is then their mean and
    test_acc_by_seed lists each (";"-separated, in seed order)."""
    from ..paper import s1_interpolation_reference
    row = {"table": layout["table"], "row": layout["row"], "variant": layout["variant"] or "",
           "K": parse_variant(layout["variant"])["K"] if layout["variant"] else None}
    nan = float("nan")
    if dataset_meta is None:
        row.update({"chance": nan, "eps": nan, "groups": None, "construction_asr": nan, "new_labels_reached": None,
                    "size": 0, "trained_size": 0, "cramers_v": nan, "test_acc": nan,
                    "note": f"not applicable: {dataset} has no class/sub-class hierarchy"})
    else:
        st = dataset_meta["metrics"]
        row.update({"chance": 100 / len(dataset_meta["classes"]), "eps": st["eps"], "groups": st["groups"],
                    "construction_asr": st["construction_asr"], "new_labels_reached": st["new_labels_reached"],
                    "size": st["size"],
                    "trained_size": model_meta["metrics"]["train_size"] if model_meta else None,
                    "cramers_v": st["cramers_v"],
                    "test_images": model_meta["metrics"].get("test_images") if model_meta else None, "note": ""})
        accs = [m["metrics"]["test_acc"] * 100 for m in (seed_metas or ([model_meta] if model_meta else []))]
        row.update({"test_acc": sum(accs) / len(accs), "seeds": len(accs),
                    "test_acc_by_seed": ";".join(f"{a:.2f}" for a in accs)} if accs else {"test_acc": nan})
    ref = s1_interpolation_reference(layout["table"], layout["row"])
    row["paper_test_acc"] = ref if ref is not None else nan
    return row
