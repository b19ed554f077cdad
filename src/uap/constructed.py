"""The non-robust datasets of S1 Sec. 5.1 / App. A.1.

D_univ: the source images are split into groups of K; each group gets a target t (targets spread
evenly over classes, then shuffled) and one universal perturbation crafted over the group itself;
only images the source model then classifies as t are kept, relabelled t. The kept set is then
balanced (`constructed.balance`). App. A.1 asks for new labels uniform AND independent of the
original ones; "independent" (the default) keeps, for each original class y, r_y = min_t a[y, t]
images in every new label t (a = the successes' (original, new) table): every new label gets
Σ_y r_y images, P(y | t) = r_y / Σ r for every t, so the table is the outer product of its marginals
(χ² exactly 0) -- and the largest table with both properties. An original class with a pair that
was never fooled (r_y = 0) drops out (recorded). "uniform" keeps more images but only the new labels
uniform (the original labels then depend on them; Cramér's V and the χ² p-value are recorded).

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


BALANCE_MODES = ("independent", "exact", "uniform", "reached")


def independent_take(table: torch.Tensor) -> torch.Tensor:
    """r_y = min_t table[y, t]: how many images of original class y every new label keeps under
    "independent". Any table with uniform columns and original labels independent of the new ones has
    every column equal (final[y, t] = n_y / k), so r is the largest such table within `table`."""
    return table.min(dim=1).values


def balanced_table(table: torch.Tensor, mode: str = "independent") -> torch.Tensor:
    """The k×k table `balance_labels` keeps from the available (original, new) counts `table`.

    mode "independent": every cell of row y keeps r_y = min_t table[y, t] (new labels uniform and
    independent of the original labels; a row with an empty cell keeps nothing).
    mode "exact": when every cell has at least one image, every cell keeps m = the smallest cell count
    (the special case r_y = m of "independent": it also makes the original labels uniform); with an
    empty cell it falls back to "uniform".
    mode "uniform": every new label keeps c = the smallest column total and, within a column, the
    original labels are spread as evenly as the successes allow (water-filling); dependent in general.
    mode "reached": as "uniform", over the new labels that were reached at least once (a label the
    source model never reached stays empty instead of emptying the whole dataset)."""
    if mode not in BALANCE_MODES:
        raise ValueError(f"balance mode must be one of {', '.join(map(repr, BALANCE_MODES))}, got {mode!r}")
    table = table.long()
    k = table.shape[1]
    if mode == "independent":
        return independent_take(table)[:, None].expand(-1, k).clone()
    m = int(table.min())
    if m > 0 and mode == "exact":
        return torch.full_like(table, m)
    totals = table.sum(0)
    reached = totals[totals > 0] if mode == "reached" else totals
    c = int(reached.min()) if len(reached) else 0
    return torch.stack([waterfill(table[:, b], min(c, int(totals[b]))) for b in range(k)], dim=1)


def balance_labels(orig: torch.Tensor, new: torch.Tensor, k: int, gen: torch.Generator,
                   mode: str = "independent") -> tuple[torch.Tensor, torch.Tensor]:
    """Subset with the table `balanced_table(contingency(orig, new), mode)` (S1 App. A.1); which images
    of a cell are kept is drawn from `gen`. Returns (sorted indices, final k×k table)."""
    final = balanced_table(contingency(orig, new, k), mode)
    keep = []
    for a in range(k):
        for b in range(k):
            idx = torch.nonzero((orig == a) & (new == b)).flatten()
            keep.append(idx[torch.randperm(len(idx), generator=gen)[: int(final[a, b])]])
    return torch.sort(torch.cat(keep)).values, final


def exactly_independent(table: torch.Tensor) -> bool:
    """The table equals the outer product of its marginals / n (χ² statistic exactly 0); True if empty."""
    t = table.long()
    n = int(t.sum())
    return bool(torch.equal(t * n, t.sum(1, keepdim=True) * t.sum(0, keepdim=True)))


def independence_test(table) -> dict:
    """Pearson's χ² test of independence of a (original, new) label table (no continuity correction),
    empty rows and columns left out (as the claims table's sanity row does). With fewer than two
    non-empty rows or columns there is nothing to test: statistic 0 and p-value None."""
    import numpy as np
    from scipy.stats import chi2_contingency
    t = np.asarray(table.tolist() if isinstance(table, torch.Tensor) else table, dtype=float)
    t = t[t.sum(1) > 0][:, t.sum(0) > 0]
    if min(t.shape) < 2:
        return {"chi2": 0.0, "chi2_dof": 0, "chi2_pvalue": None}
    res = chi2_contingency(t, correction=False)
    return {"chi2": float(res.statistic), "chi2_dof": int(res.dof), "chi2_pvalue": float(res.pvalue)}


def balance_summary(table: torch.Tensor, final: torch.Tensor) -> dict:
    """What balancing kept of the available table: sizes every mode would keep from it, the original
    classes that dropped out (some images were available but none kept) and the pairs never fooled."""
    kept_rows = final.sum(1)
    dropped = [{"original_label": y, "new_labels_never_reached": torch.nonzero(table[y] == 0).flatten().tolist()}
               for y in range(table.shape[0]) if int(kept_rows[y]) == 0 and int(table[y].sum()) > 0]
    return {"sizes_by_balance": {m: int(balanced_table(table, m).sum()) for m in BALANCE_MODES},
            "kept_per_original_label": kept_rows.tolist(),
            "original_labels_dropped": dropped}


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
                 max_images: int = 4096, balance: str = "independent", targets: torch.Tensor | None = None) -> dict:
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
    summary = balance_summary(raw_table, final)
    for d in summary["original_labels_dropped"]:
        print(f"warning: D_univ (balance {balance}): original class {d['original_label']} drops out "
              f"({int(raw_table[d['original_label']].sum())} fooled images kept none)"
              + (f": never relabelled to new label(s) {d['new_labels_never_reached']}"
                 if d["new_labels_never_reached"] else ""), flush=True)
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
            "labels_exactly_independent": exactly_independent(final) and int(final.sum()) > 0,
            "cramers_v": cramers_v(final), **independence_test(final), **summary,
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
