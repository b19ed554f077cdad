"""The claims framework: row columns, the bootstrap interval and the near-end verdict rule."""
from __future__ import annotations

import math

import numpy as np
import pytest

from uap.claims import COLUMNS, as_table, bootstrap_ci, judge, not_measured, row, seed_interval


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small = rng.binomial(1, 0.3, size=100)
    large = rng.binomial(1, 0.3, size=10_000)
    lo_s, hi_s = bootstrap_ci(small, resamples=1000)
    lo_l, hi_l = bootstrap_ci(large, resamples=1000)
    assert lo_s <= small.mean() <= hi_s and lo_l <= large.mean() <= hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 3          # ~1/sqrt(100) shrink
    # binomial standard error at n=100 is ~0.046: a 95 % interval is ~0.18 wide
    assert 0.12 < hi_s - lo_s < 0.25


def test_bootstrap_is_deterministic_and_seed_dependent():
    x = np.arange(50.0)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x, seed=3) != bootstrap_ci(x, seed=4)


def test_bootstrap_two_samples_and_custom_stat():
    a, b = np.ones(40), np.zeros(60)
    assert bootstrap_ci(a, b) == (1.0, 1.0)            # difference of means, independent resampling
    paired = np.stack([np.arange(30.0), np.arange(30.0) + 2], axis=1)
    lo, hi = bootstrap_ci(paired, stat=lambda p: p[..., 1].mean(1) - p[..., 0].mean(1))
    assert lo == pytest.approx(2.0) and hi == pytest.approx(2.0)
    assert all(math.isnan(v) for v in bootstrap_ci(np.array([])))


def test_judge_uses_the_near_end():
    assert judge((0.06, 0.2), ">=", 0.05) is True
    assert judge((0.04, 0.2), ">=", 0.05) is False     # point estimate above, near end below
    assert judge((0.0, 0.04), "<=", 0.05) is True
    assert judge((0.0, 0.06), "<=", 0.05) is False
    assert judge((math.nan, math.nan), ">=", 0.0) is None
    with pytest.raises(ValueError):
        judge((0, 1), ">", 0)


def test_seed_interval():
    assert seed_interval([1.0, 2.0, 3.0], level=1.0) == (1.0, 3.0)
    assert all(math.isnan(v) for v in seed_interval([1.0]))


def test_rows_have_every_column_and_kinds_are_checked():
    r = row("S1", "c", paper="p", ours="o", criterion="x", ok=True, n=10, ci=(0.1, 0.2))
    nm = not_measured("S1", "c", paper="p", why="not run", criterion="x")
    t = as_table([r, nm, {"system": "S2", "claim": "old-style", "verdict": "reproduced"}])
    assert list(t.columns) == COLUMNS
    assert list(t.verdict) == ["reproduced", "not measured", "reproduced"]
    assert list(t.kind) == ["finding", "finding", "finding"]
    with pytest.raises(ValueError, match="kind"):
        row("S1", "c", paper="p", ours="o", criterion="x", ok=True, kind="finding?")
