"""The non-robust datasets of S1 Sec. 5.1 / App. A.1.

D_univ: the source images are split into groups of K; each group gets a target t (targets spread
evenly over classes, then shuffled) and one universal perturbation crafted over the group itself;
only images the source model then classifies as t are kept, relabelled t. The kept set is then
balanced so that every (original, new) label pair keeps the same number of images: new labels are
exactly uniform and independent of the original ones. (Only if some pair was never fooled is this
impossible; then new labels stay uniform and the residual dependence, Cramér's V, is recorded.)

D_adv: the same number of images and the same (original, new) label table, each image
with its own targeted PGD perturbation (D_rand of Ilyas et al.); all images are kept.
"""
from __future__ import annotations

import torch

from .attacks import targeted_pgd, universal_pgd
from .metrics import as_float
from .threats import Threat, apply_perturbation


def contingency(orig: torch.Tensor, new: torch.Tensor, k: int) -> torch.Tensor:
    """k×k counts: rows original labels, columns new labels."""
    return torch.bincount(orig * k + new, minlength=k * k).view(k, k)


def waterfill(counts: torch.Tensor, total: int) -> torch.Tensor:
    """Integer take_i <= counts_i with sum = total, as equal as the counts allow (water-filling)."""
    counts = counts.long()
    if total > int(counts.sum()):
        raise ValueError("cannot take more than is available")
    take = torch.zeros_like(counts)
    remaining = total
    while remaining > 0:
        room = counts - take
        open_ = torch.nonzero(room > 0).flatten()
        share = max(1, remaining // len(open_))
        # fill the emptiest open cells first so rounding stays as even as possible
        for i in open_[torch.argsort(take[open_], stable=True)]:
            add = min(int(room[i]), share, remaining)
            take[i] += add
            remaining -= add
            if remaining == 0:
                break
    return take


def balance_labels(orig: torch.Tensor, new: torch.Tensor, k: int, gen: torch.Generator,
                   mode: str = "exact") -> tuple[torch.Tensor, torch.Tensor]:
    """Subset whose new labels are uniform and independent of the original labels (S1 App. A.1).

    mode "exact": when every (original, new) cell has at least one image, every cell keeps m = the
    smallest cell count — exactly uniform and independent, at the price of size when one pair is
    rarely fooled. mode "uniform" (or "exact" with an empty cell, where independence is impossible):
    every new label keeps c = the smallest column total and, within a column, the original labels are
    spread as evenly as the successes allow (water-filling); the caller reports Cramér's V.
    mode "reached": as "uniform", over the new labels that were reached at least once (a label the
    source model never reached stays empty instead of emptying the whole dataset).
    Returns (indices, final k×k table)."""
    if mode not in ("exact", "uniform", "reached"):
        raise ValueError(f"balance mode must be 'exact', 'uniform' or 'reached', got {mode!r}")
    table = contingency(orig, new, k)
    m = int(table.min())
    if m > 0 and mode == "exact":
        final = torch.full_like(table, m)
    else:
        totals = table.sum(0)
        reached = totals[totals > 0] if mode == "reached" else totals
        c = int(reached.min()) if len(reached) else 0
        final = torch.stack([waterfill(table[:, b], min(c, int(totals[b]))) for b in range(k)], dim=1)
    keep = []
    for a in range(k):
        for b in range(k):
            idx = torch.nonzero((orig == a) & (new == b)).flatten()
            keep.append(idx[torch.randperm(len(idx), generator=gen)[: int(final[a, b])]])
    return torch.sort(torch.cat(keep)).values, final


def cramers_v(table: torch.Tensor) -> float:
    """Association between original and new labels (0 = independent, 1 = determined)."""
    t = table.double()
    n = t.sum()
    if n == 0:
        return float("nan")
    expected = t.sum(1, keepdim=True) * t.sum(0, keepdim=True) / n
    chi2 = torch.where(expected > 0, (t - expected) ** 2 / expected.clamp_min(1e-12), torch.zeros_like(t)).sum()
    r = min(t.shape) - 1
    return float(torch.sqrt(chi2 / (n * r)))


def balanced_targets(n: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """n targets, as even over k classes as possible, in random order."""
    t = torch.arange(n) % k
    return t[torch.randperm(n, generator=gen)]


def build_d_univ(model, x: torch.Tensor, y: torch.Tensor, threat: Threat, *, num_classes: int, group_size: int,
                 lr: float, epochs: int, batch_size: int, gen: torch.Generator, device, precision="fp32",
                 max_images: int = 4096, balance: str = "exact", targets: torch.Tensor | None = None) -> dict:
    """Groups of `group_size` consecutive images of `x` share one perturbation. `targets`: one target per
    group (default: balanced over the classes in random order, independent of the original labels)."""
    n_groups = x.shape[0] // group_size
    if n_groups < 1:
        raise ValueError(f"need at least group_size={group_size} source images, got {x.shape[0]}")
    n = n_groups * group_size
    xs = as_float(x[:n]).view(n_groups, group_size, *x.shape[1:])
    if targets is None:
        targets = balanced_targets(n_groups, num_classes, gen)
    elif targets.shape != (n_groups,):
        raise ValueError(f"targets must have one entry per group ({n_groups}), got {tuple(targets.shape)}")
    res = universal_pgd(model, xs, targets, threat, lr=lr, epochs=epochs, batch_size=batch_size, generator=gen,
                        device=device, precision=precision, max_images=max_images, desc="D_univ universal PGD")
    new = targets[:, None].expand(n_groups, group_size).reshape(-1)
    orig = y[:n]
    success = res.success.reshape(-1)
    raw_table = contingency(orig[success], new[success], num_classes)
    kept = torch.nonzero(success).flatten()
    local, final = balance_labels(orig[kept], new[kept], num_classes, gen, balance)
    sel = kept[local]
    group_of = torch.arange(n) // group_size
    images = apply_perturbation(xs.reshape(n, *x.shape[1:])[sel], res.delta[group_of[sel]])
    return {
        "x": images, "y": new[sel], "y_orig": orig[sel], "source_index": sel,
        "group": group_of[sel], "deltas": res.delta, "group_targets": targets,
        "stats": {
            "source_images": n, "groups": n_groups, "group_size": group_size, "balance": balance,
            "construction_asr": float(success.float().mean()),
            "construction_asr_excluding_same_label": float(success[orig != new].float().mean()),
            "kept_before_balancing": int(success.sum()), "size": int(len(sel)),
            "per_new_label": int(len(sel) // num_classes),
            "new_labels_reached": int((final.sum(0) > 0).sum()),
            "labels_exactly_independent": bool((final == final[0, 0]).all()),
            "cramers_v": cramers_v(final),
            "contingency_before_balancing": raw_table.tolist(), "contingency": final.tolist(),
        },
    }


def build_d_adv(model, x: torch.Tensor, y: torch.Tensor, threat: Threat, *, table: torch.Tensor,
                steps: int, step_ratio: float, gen: torch.Generator, device, precision="fp32",
                max_images: int = 4096) -> dict:
    """table[a, b] images of original class a relabelled b (D_univ's final table), each with its own
    targeted PGD perturbation towards b."""
    num_classes = table.shape[0]
    picks, news = [], []
    for a in range(num_classes):
        pool = torch.nonzero(y == a).flatten()
        need = int(table[a].sum())
        if len(pool) < need:
            raise ValueError(f"class {a} has {len(pool)} images, D_adv needs {need}")
        chosen = pool[torch.randperm(len(pool), generator=gen)[:need]]
        picks.append(chosen)
        news.append(torch.arange(num_classes).repeat_interleave(table[a]))
    idx = torch.cat(picks)
    new = torch.cat(news)
    order = torch.randperm(len(idx), generator=gen)
    idx, new = idx[order], new[order]
    xs = as_float(x[idx])
    res = targeted_pgd(model, xs, new, threat, steps=steps, step_ratio=step_ratio, device=device,
                       precision=precision, max_images=max_images, desc="D_adv per-example PGD")
    images = apply_perturbation(xs, res.delta)
    success = res.success.reshape(-1)
    orig = y[idx]
    return {
        "x": images, "y": new, "y_orig": orig, "source_index": idx,
        "stats": {"size": int(len(idx)), "cramers_v": cramers_v(contingency(orig, new, num_classes)),
                  "construction_asr": float(success.float().mean()),
                  "construction_asr_excluding_same_label": float(success[orig != new].float().mean()),
                  "delta_norm_mean": float(threat.norm(res.delta).mean())},
    }
