"""D_univ / D_adv construction: water-filling, label balancing, Cramér's V, the two builders."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from uap.constructed import (BALANCE_MODES, balance_labels, balance_summary, balanced_table, balanced_targets,
                             build_d_adv, build_d_univ, contingency, cramers_v, exactly_independent,
                             independence_test, independent_take, waterfill)
from uap.metrics import as_float
from uap.threats import L2, apply_perturbation


# ------------------------------------------------------------------------------------- contingency
def test_contingency_counts_pairs_rows_original_columns_new():
    orig = torch.tensor([0, 0, 1, 2, 2, 2])
    new = torch.tensor([1, 1, 0, 2, 0, 2])
    t = contingency(orig, new, 3)
    expected = torch.tensor([[0, 2, 0], [1, 0, 0], [1, 0, 2]])
    assert torch.equal(t, expected)


# --------------------------------------------------------------------------------------- waterfill
@pytest.mark.parametrize("counts,total,expected", [
    ([5, 5, 5], 9, [3, 3, 3]),
    ([1, 10, 10], 9, [1, 4, 4]),
    ([0, 7, 2], 6, [0, 4, 2]),
    ([3, 3], 6, [3, 3]),
    ([4, 4, 4], 0, [0, 0, 0]),
    ([2, 100, 100, 1], 11, [2, 4, 4, 1]),
])
def test_waterfill_examples(counts, total, expected):
    assert waterfill(torch.tensor(counts), total).tolist() == expected


def test_waterfill_rejects_more_than_available():
    with pytest.raises(ValueError):
        waterfill(torch.tensor([1, 2, 3]), 7)


def test_waterfill_properties_on_random_counts():
    """sum == total, never above the counts, and max-min fair: an unsaturated cell is at most one below
    every other cell (the unique most even allocation up to where the remainder goes)."""
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        k = int(torch.randint(1, 8, (1,), generator=g))
        counts = torch.randint(0, 12, (k,), generator=g)
        total = int(torch.randint(0, int(counts.sum()) + 1, (1,), generator=g))
        take = waterfill(counts, total)
        assert int(take.sum()) == total
        assert (take >= 0).all() and (take <= counts).all()
        top = int(take.max()) if k else 0
        unsat = take < counts
        assert (take[unsat] >= top - 1).all(), (counts.tolist(), total, take.tolist())


# ---------------------------------------------------------------------------------------- Cramér's V
def test_cramers_v_diagonal_is_one_and_uniform_is_zero():
    assert cramers_v(torch.diag(torch.tensor([7, 7, 7, 7]))) == pytest.approx(1.0)
    assert cramers_v(torch.diag(torch.tensor([3, 9, 1]))) == pytest.approx(1.0)
    assert cramers_v(torch.full((4, 4), 5)) == 0.0
    # rows proportional (independent but not uniform)
    assert cramers_v(torch.tensor([[2, 2, 2], [5, 5, 5], [1, 1, 1]])) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(cramers_v(torch.zeros(3, 3, dtype=torch.long)))


def test_cramers_v_of_2x2_is_the_phi_coefficient():
    a, b, c, d = 10, 3, 4, 8
    phi = abs(a * d - b * c) / math.sqrt((a + b) * (c + d) * (a + c) * (b + d))
    assert cramers_v(torch.tensor([[a, b], [c, d]])) == pytest.approx(phi, rel=1e-12)


# ---------------------------------------------------------------------------------- balance_labels
def _labels_from_table(table: torch.Tensor, gen: torch.Generator):
    k = table.shape[0]
    orig = torch.arange(k).repeat_interleave(table.sum(1))
    new = torch.cat([torch.arange(k).repeat_interleave(table[a]) for a in range(k)])
    perm = torch.randperm(len(orig), generator=gen)
    return orig[perm], new[perm]


def test_balance_labels_with_an_empty_cell_keeps_new_labels_uniform_and_columns_even():
    table = torch.tensor([[9, 0, 7], [5, 6, 12], [8, 10, 5]])       # an empty cell: column totals 22, 16, 24 -> c = 16
    g = torch.Generator().manual_seed(0)
    orig, new = _labels_from_table(table, g)
    idx, final = balance_labels(orig, new, 3, g, "exact")
    c = int(table.sum(0).min())
    assert len(idx) == 3 * c
    assert len(torch.unique(idx)) == len(idx)
    assert torch.equal(idx, torch.sort(idx).values)
    assert torch.equal(torch.bincount(new[idx], minlength=3), torch.full((3,), c))
    assert torch.equal(contingency(orig[idx], new[idx], 3), final)
    assert (final <= table).all()
    assert final[:, 1].tolist() == [0, 6, 10]                       # the smallest column is kept whole
    for b in (0, 2):                                                # the others: max-min fair
        col, cnt = final[:, b], table[:, b]
        assert int(col.sum()) == c
        assert (col[col < cnt] >= int(col.max()) - 1).all()


def test_balance_labels_keeps_the_smallest_cell_count_everywhere_when_no_cell_is_empty():
    table = torch.tensor([[9, 4, 7], [5, 6, 12], [8, 10, 5]])
    g = torch.Generator().manual_seed(0)
    orig, new = _labels_from_table(table, g)
    idx, final = balance_labels(orig, new, 3, g, "exact")
    assert torch.equal(final, torch.full((3, 3), int(table.min())))
    assert torch.equal(contingency(orig[idx], new[idx], 3), final)
    assert cramers_v(final) == 0.0


def test_balance_labels_gives_a_uniform_table_when_the_smallest_column_is_uniform():
    table = torch.tensor([[5, 6, 9], [5, 7, 6], [5, 6, 7]])        # c = 15, 5 per cell possible everywhere
    g = torch.Generator().manual_seed(1)
    orig, new = _labels_from_table(table, g)
    idx, final = balance_labels(orig, new, 3, g, "exact")
    assert torch.equal(final, torch.full((3, 3), 5))
    assert torch.equal(contingency(orig[idx], new[idx], 3), final)
    assert cramers_v(final) == 0.0


def test_balance_labels_is_exactly_independent_whenever_every_cell_has_enough():
    table = torch.tensor([[10, 20], [12, 20]])                     # every cell >= 10: [[10,10],[10,10]] possible
    g = torch.Generator().manual_seed(3)
    orig, new = _labels_from_table(table, g)
    idx, final = balance_labels(orig, new, 2, g, "exact")
    assert torch.equal(torch.bincount(new[idx], minlength=2), torch.full((2,), int(final[:, 0].sum())))
    assert (final == final[0, 0]).all(), final.tolist()
    assert cramers_v(final) == 0.0


def test_balance_labels_with_a_rare_cell_is_as_even_as_possible():
    table = torch.tensor([[0, 10, 10], [10, 10, 10], [11, 10, 10]])   # empty cell; c = 21
    g = torch.Generator().manual_seed(2)
    orig, new = _labels_from_table(table, g)
    idx, final = balance_labels(orig, new, 3, g, "exact")
    assert final[:, 0].tolist() == [0, 10, 11]                      # column 0 takes everything
    assert final[:, 1].tolist() == [7, 7, 7] and final[:, 2].tolist() == [7, 7, 7]
    assert torch.equal(contingency(orig[idx], new[idx], 3), final)
    assert 0 < cramers_v(final) < 1


def test_balance_labels_is_seeded_and_picks_among_equal_candidates():
    table = torch.tensor([[30, 30], [30, 30]])
    orig, new = _labels_from_table(table, torch.Generator().manual_seed(0))
    # make one column the smallest so that some images are dropped
    keep = ~((orig == 0) & (new == 1))
    keep[torch.nonzero((orig == 0) & (new == 1)).flatten()[:20]] = True
    orig, new = orig[keep], new[keep]                              # table [[30, 20], [30, 30]] -> m = 20
    a, fa = balance_labels(orig, new, 2, torch.Generator().manual_seed(5), "exact")
    b, fb = balance_labels(orig, new, 2, torch.Generator().manual_seed(5), "exact")
    c, _ = balance_labels(orig, new, 2, torch.Generator().manual_seed(6), "exact")
    assert torch.equal(a, b) and torch.equal(fa, fb)
    assert fa.tolist() == [[20, 20], [20, 20]]
    assert not torch.equal(a, c)
    assert torch.equal(a, torch.sort(a).values)


# ---------------------------------------------------------------------- balance "independent" (#28)
# The fooled (original, new) tables of the default profile's three chains (Fashion-MNIST, 10,240 source
# images in 40 groups of 256, fp32; results/fp32/constructed/l2/{natural,natural2,natural3}/construction.json
# of the 2026-12-04 benchmark run, built with balance "uniform").
DEFAULT_PROFILE_TABLES = {
    "natural": [[103, 73, 96, 94, 110, 92, 97, 17, 101, 75], [101, 107, 87, 87, 112, 107, 96, 51, 89, 93],
                [105, 67, 116, 76, 96, 93, 101, 8, 104, 50], [106, 91, 93, 104, 108, 110, 121, 65, 108, 91],
                [93, 75, 88, 75, 86, 86, 102, 21, 114, 66], [101, 58, 101, 90, 97, 103, 102, 80, 110, 43],
                [103, 64, 93, 84, 101, 94, 96, 17, 102, 45], [115, 118, 97, 107, 106, 110, 106, 100, 99, 105],
                [87, 52, 89, 53, 114, 62, 102, 8, 91, 44], [103, 55, 85, 82, 86, 103, 97, 71, 101, 94]],
    "natural2": [[103, 98, 98, 84, 97, 50, 112, 37, 97, 59], [90, 91, 54, 91, 91, 99, 120, 62, 103, 82],
                 [65, 75, 106, 29, 106, 56, 97, 10, 103, 41], [99, 98, 71, 99, 101, 106, 92, 70, 103, 76],
                 [68, 81, 90, 59, 91, 75, 87, 34, 95, 64], [101, 73, 86, 81, 66, 102, 101, 71, 106, 54],
                 [95, 66, 80, 59, 85, 51, 113, 15, 89, 41], [106, 97, 113, 99, 98, 106, 95, 98, 108, 110],
                 [55, 30, 61, 30, 88, 25, 90, 11, 94, 19], [53, 55, 52, 50, 85, 112, 116, 54, 89, 115]],
    "natural3": [[106, 72, 80, 86, 78, 71, 103, 55, 106, 79], [106, 112, 99, 86, 110, 99, 99, 85, 93, 86],
                 [98, 65, 87, 68, 94, 60, 96, 11, 94, 38], [91, 91, 103, 100, 110, 122, 83, 100, 116, 83],
                 [95, 73, 86, 91, 96, 66, 90, 35, 95, 74], [97, 40, 93, 70, 83, 106, 99, 48, 92, 67],
                 [114, 71, 79, 69, 97, 86, 110, 18, 97, 39], [99, 99, 118, 99, 97, 108, 112, 126, 107, 110],
                 [81, 14, 83, 47, 99, 40, 124, 36, 105, 16], [91, 48, 83, 54, 107, 109, 107, 60, 89, 111]],
}


REALISTIC = torch.tensor(DEFAULT_PROFILE_TABLES["natural"])


def _check_independent(table, final, idx=None, orig=None, new=None):
    k = table.shape[0]
    r = table.min(1).values
    assert torch.equal(final, r[:, None].expand(-1, k))              # r_y in every new label
    assert (final <= table).all()
    cols = final.sum(0)
    assert torch.equal(cols, torch.full((k,), int(r.sum())))         # new labels uniform
    assert exactly_independent(final)                                  # outer product of the marginals
    n = int(final.sum())
    assert torch.equal(final * n, final.sum(1, keepdim=True) * cols[None])
    test = independence_test(final)
    assert test["chi2"] == 0.0 and test["chi2_pvalue"] == 1.0
    if idx is not None:
        assert torch.equal(contingency(orig[idx], new[idx], k), final)
        assert len(torch.unique(idx)) == len(idx) == n


def test_independent_balance_is_uniform_and_independent_on_a_realistic_table():
    g = torch.Generator().manual_seed(0)
    orig, new = _labels_from_table(REALISTIC, g)
    idx, final = balance_labels(orig, new, 10, g, "independent")
    _check_independent(REALISTIC, final, idx, orig, new)
    sizes = {m: int(balanced_table(REALISTIC, m).sum()) for m in BALANCE_MODES}
    # the rows with a rare pair (8 fooled images) keep 8 per new label, the others their own minimum: far
    # more than the global minimum everywhere ("exact"), less than "uniform", whose table is dependent
    assert sizes["independent"] == 10 * int(independent_take(REALISTIC).sum()) == 3820
    assert sizes["exact"] == 100 * 8 < sizes["independent"] < sizes["uniform"] == 10 * int(REALISTIC.sum(0).min())


@pytest.mark.parametrize("chain,sizes", [("natural", (3820, 800, 4380)), ("natural2", (4300, 1000, 4620)),
                                         ("natural3", (4860, 1100, 5740))])
def test_independent_balance_on_the_default_profiles_tables(chain, sizes):
    """On the real tables "independent" keeps 87-94 % of "uniform"'s images (and 4-5x "exact"'s), and its
    table passes the χ² test that "uniform"'s fails (p 6e-13, 3e-9, 3e-21)."""
    table = torch.tensor(DEFAULT_PROFILE_TABLES[chain])
    assert tuple(int(balanced_table(table, m).sum()) for m in ("independent", "exact", "uniform")) == sizes
    _check_independent(table, balanced_table(table, "independent"))
    assert independence_test(balanced_table(table, "uniform"))["chi2_pvalue"] < 1e-8


def test_independent_balance_is_the_exact_mode_when_rows_share_their_minimum():
    table = torch.tensor([[9, 4, 7], [5, 6, 4], [8, 4, 5]])
    assert torch.equal(balanced_table(table, "independent"), balanced_table(table, "exact"))


def test_independent_balance_is_the_largest_uniform_independent_table():
    """Brute force over 3x3 tables within small availabilities: no table with uniform columns and exact
    independence keeps more than r_y = min_t a[y, t] per cell."""
    import itertools
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        a = torch.randint(0, 4, (2, 3), generator=g)
        best = 0
        for cells in itertools.product(*[range(int(v) + 1) for v in a.flatten()]):
            t = torch.tensor(cells).view(2, 3)
            cols = t.sum(0)
            if (cols == cols[0]).all() and exactly_independent(t):
                best = max(best, int(t.sum()))
        assert best == int(balanced_table(a, "independent").sum()), a.tolist()


def test_independent_balance_is_seeded():
    table = REALISTIC[:4, :4]
    orig, new = _labels_from_table(table, torch.Generator().manual_seed(0))
    a, fa = balance_labels(orig, new, 4, torch.Generator().manual_seed(5), "independent")
    b, fb = balance_labels(orig, new, 4, torch.Generator().manual_seed(5), "independent")
    c, fc = balance_labels(orig, new, 4, torch.Generator().manual_seed(6), "independent")
    assert torch.equal(a, b) and torch.equal(fa, fb) and torch.equal(fa, fc)
    assert not torch.equal(a, c)                                       # other images, same table
    _check_independent(table, fa, a, orig, new)


def test_independent_balance_drops_a_class_with_an_empty_cell_and_records_it():
    table = torch.tensor([[9, 0, 7], [5, 6, 12], [8, 10, 5]])        # class 0 never became new label 1
    g = torch.Generator().manual_seed(0)
    orig, new = _labels_from_table(table, g)
    idx, final = balance_labels(orig, new, 3, g, "independent")
    assert final.tolist() == [[0, 0, 0], [5, 5, 5], [5, 5, 5]]
    _check_independent(table, final, idx, orig, new)
    assert not (orig[idx] == 0).any()
    s = balance_summary(table, final)
    assert s["original_labels_dropped"] == [{"original_label": 0, "new_labels_never_reached": [1]}]
    assert s["kept_per_original_label"] == [0, 15, 15]
    assert s["sizes_by_balance"] == {"independent": 30, "exact": int(balanced_table(table, "uniform").sum()),
                                     "uniform": 3 * 16, "reached": 3 * 16}
    # a class that was never fooled at all is absent, not dropped; every class dropped: empty, no error
    assert balance_summary(torch.tensor([[0, 0], [3, 4]]), torch.tensor([[0, 0], [3, 3]]))["original_labels_dropped"] == []
    empty = balanced_table(torch.tensor([[0, 2], [3, 0]]), "independent")
    assert int(empty.sum()) == 0 and independence_test(empty)["chi2_pvalue"] is None


def test_independence_test_rejects_a_dependent_table_and_ignores_empty_rows():
    dep = torch.tensor([[30, 10, 10], [10, 30, 10], [10, 10, 30]])
    assert independence_test(dep)["chi2_pvalue"] < 1e-6 and not exactly_independent(dep)
    padded = torch.tensor([[0, 0, 0], [4, 4, 4], [2, 2, 2]])
    assert independence_test(padded) == {"chi2": 0.0, "chi2_dof": 2, "chi2_pvalue": 1.0}


def test_balance_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="independent"):
        balanced_table(torch.ones(2, 2, dtype=torch.long), "outer")


def test_balanced_targets_are_even_and_shuffled():
    g = torch.Generator().manual_seed(0)
    t = balanced_targets(23, 5, g)
    counts = torch.bincount(t, minlength=5)
    assert int(counts.sum()) == 23 and int(counts.max() - counts.min()) <= 1
    assert not torch.equal(t, torch.arange(23) % 5)


# ------------------------------------------------------------------------------- D_univ and D_adv
K = 3            # digits 0, 1, 2 of MNIST-5k
EPS = 6.0


@pytest.fixture(scope="module")
def digits(mnist5k_train):
    """300 shuffled digits of classes 0-2 and a nearest-centroid linear classifier built from them."""
    d = mnist5k_train
    m = d.y < K
    idx = torch.nonzero(m).flatten()
    idx = idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(0))]
    x, y = d.x[idx], d.y[idx]
    xf = as_float(x).flatten(1)
    mu = torch.stack([xf[y == c].mean(0) for c in range(K)])
    lin = nn.Linear(xf.shape[1], K)
    with torch.no_grad():                       # argmax of -||x - mu_c||^2
        lin.weight.copy_(2 * mu)
        lin.bias.copy_(-(mu * mu).sum(1))
    model = nn.Sequential(nn.Flatten(), lin).eval()
    return x, y, model


@pytest.fixture(scope="module")
def d_univ(digits):
    x, y, model = digits
    gen = torch.Generator().manual_seed(0)
    out = build_d_univ(model, x[:300], y[:300], L2(EPS), num_classes=K, group_size=20, lr=1.0, epochs=4,
                       batch_size=10, gen=gen, device="cpu")
    return out


def test_d_univ_shapes_labels_and_balance(digits, d_univ):
    x, y, _ = digits
    u, s = d_univ, d_univ["stats"]
    n = len(u["y"])
    assert n > 0, "the test set-up should give a non-empty D_univ"
    assert u["x"].shape == (n, 1, 28, 28) and u["x"].dtype == torch.float32
    assert u["x"].min() >= 0 and u["x"].max() <= 1
    assert u["deltas"].shape == (15, 1, 28, 28) and u["group_targets"].shape == (15,)
    assert ((u["y"] >= 0) & (u["y"] < K)).all() and ((u["y_orig"] >= 0) & (u["y_orig"] < K)).all()
    # new labels exactly uniform
    assert torch.equal(torch.bincount(u["y"], minlength=K), torch.full((K,), n // K))
    assert s["size"] == n and s["per_new_label"] * K == n
    # bookkeeping is consistent with the source set
    assert len(torch.unique(u["source_index"])) == n
    assert torch.equal(u["y_orig"], y[u["source_index"]])
    assert torch.equal(u["group"], u["source_index"] // 20)
    assert torch.equal(u["y"], u["group_targets"][u["group"]])
    assert torch.equal(contingency(u["y_orig"], u["y"], K), torch.tensor(s["contingency"]))
    assert s["kept_before_balancing"] == int(torch.tensor(s["contingency_before_balancing"]).sum())
    assert s["source_images"] == 300 and s["groups"] == 15
    tgt_counts = torch.bincount(u["group_targets"], minlength=K)
    assert int(tgt_counts.max() - tgt_counts.min()) <= 1
    assert s["cramers_v"] == pytest.approx(cramers_v(torch.tensor(s["contingency"])))
    # the default balance: exactly independent, r_y = min_t of the fooled table per cell, recorded
    assert s["balance"] == "independent" and s["labels_exactly_independent"] and s["chi2_pvalue"] == 1.0
    before = torch.tensor(s["contingency_before_balancing"])
    assert torch.equal(torch.tensor(s["contingency"]), balanced_table(before, "independent"))
    assert s["sizes_by_balance"]["independent"] == n


def test_d_univ_images_are_the_source_plus_their_group_perturbation_within_eps(digits, d_univ):
    x, _, _ = digits
    u = d_univ
    src = as_float(x[u["source_index"]])
    assert torch.allclose(u["x"], apply_perturbation(src, u["deltas"][u["group"]]))
    assert (L2(EPS).norm(u["deltas"]) <= EPS + 1e-4).all()
    assert (L2(EPS).norm(u["x"] - src) <= EPS + 1e-4).all()


def test_every_d_univ_image_is_classified_as_its_new_label(digits, d_univ):
    _, _, model = digits
    with torch.no_grad():
        logits = model(d_univ["x"])
    pred = logits.argmax(1)
    wrong = pred != d_univ["y"]
    if wrong.any():   # only float ties may differ from the attack's own batched forward pass
        gap = logits[wrong].max(1).values - logits[wrong].gather(1, d_univ["y"][wrong, None])[:, 0]
        assert (gap < 1e-4).all(), f"{int(wrong.sum())} D_univ images are not classified as their new label"


def test_d_univ_construction_asr_matches_a_recount(digits, d_univ):
    x, y, model = digits
    u, s = d_univ, d_univ["stats"]
    src = as_float(x[:300]).view(15, 20, 1, 28, 28)
    with torch.no_grad():
        pred = model(apply_perturbation(src, u["deltas"][:, None]).flatten(0, 1)).argmax(1)
    new = u["group_targets"].repeat_interleave(20)
    success = pred == new
    assert s["construction_asr"] == pytest.approx(float(success.float().mean()), abs=1.5 / 300)
    assert torch.equal(contingency(y[:300][success], new[success], K), torch.tensor(s["contingency_before_balancing"]))


def test_d_univ_needs_one_full_group(digits):
    x, y, model = digits
    with pytest.raises(ValueError, match="group_size"):
        build_d_univ(model, x[:5], y[:5], L2(1.0), num_classes=K, group_size=10, lr=0.1, epochs=1, batch_size=5,
                     gen=torch.Generator().manual_seed(0), device="cpu")


def test_d_adv_has_the_same_table_and_perturbations_within_eps(digits, d_univ):
    x, y, model = digits
    table = torch.tensor(d_univ["stats"]["contingency"])
    a = build_d_adv(model, x, y, L2(EPS), table=table, steps=5, step_ratio=1 / 3,
                    gen=torch.Generator().manual_seed(1), device="cpu")
    n = int(table.sum())
    assert a["x"].shape == (n, 1, 28, 28) and a["stats"]["size"] == n
    assert torch.equal(contingency(a["y_orig"], a["y"], K), table)
    assert torch.equal(a["y_orig"], y[a["source_index"]])
    assert len(torch.unique(a["source_index"])) == n
    src = as_float(x[a["source_index"]])
    assert a["x"].min() >= 0 and a["x"].max() <= 1
    assert (L2(EPS).norm(a["x"] - src) <= EPS + 1e-4).all()
    assert a["stats"]["cramers_v"] == pytest.approx(cramers_v(table))
    with torch.no_grad():
        pred = model(a["x"]).argmax(1)
    assert a["stats"]["construction_asr"] == pytest.approx(float((pred == a["y"]).float().mean()), abs=1.5 / n)
    assert a["stats"]["delta_norm_mean"] <= EPS + 1e-4


def test_d_adv_raises_when_a_class_is_too_small(digits):
    x, y, model = digits
    table = torch.tensor([[0, 0, 0], [0, 0, 0], [0, 0, 0]])
    table[0, 1] = int((y == 0).sum()) + 1
    with pytest.raises(ValueError, match="class 0"):
        build_d_adv(model, x, y, L2(1.0), table=table, steps=1, step_ratio=0.5,
                    gen=torch.Generator().manual_seed(0), device="cpu")
