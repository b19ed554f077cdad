"""The claims framework: row columns, the intervals (bootstrap, t over replicates) and the three verdicts."""
from __future__ import annotations

import math

import numpy as np
import pytest

from uap.claims import COLUMNS, all_of, as_table, bootstrap_ci, judge, not_measured, replicate_interval, row, seed_interval


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


def test_three_verdicts_from_where_the_interval_lies():
    # the paper's side at or above the threshold
    assert judge((0.06, 0.2), ">=", 0.05) == "reproduced"       # wholly on the paper's side
    assert judge((0.04, 0.2), ">=", 0.05) == "inconclusive"     # straddles: point estimate above, near end below
    assert judge((-0.2, 0.04), ">=", 0.05) == "contradicted"    # wholly on the other side
    # the paper's side at or below it
    assert judge((0.0, 0.04), "<=", 0.05) == "reproduced"
    assert judge((0.0, 0.06), "<=", 0.05) == "inconclusive"
    assert judge((0.051, 0.3), "<=", 0.05) == "contradicted"
    assert judge((math.nan, math.nan), ">=", 0.0) is None
    with pytest.raises(ValueError):
        judge((0, 1), ">", 0)


def test_all_of_combines_conditions():
    assert all_of("reproduced", True) == "reproduced"
    assert all_of("reproduced", "inconclusive") == "inconclusive"
    assert all_of("inconclusive", False) == "contradicted"         # one condition decided against the paper
    assert all_of("reproduced", None) is None


def test_a_replicate_that_flips_a_row_makes_it_inconclusive_not_reproduced():
    """Three chains agree: decided. One chain on the other side of the threshold: the t-interval straddles."""
    agree = replicate_interval([30.0, 33.0, 35.0])
    assert judge(agree, ">=", 10.0) == "reproduced"
    flipped = replicate_interval([30.0, 33.0, 2.0])
    assert flipped[0] < 10.0 < flipped[1]
    assert judge(flipped, ">=", 10.0) == "inconclusive"
    assert judge(replicate_interval([-5.0, -3.0, -4.0]), ">=", 10.0) == "contradicted"


def test_replicate_interval_width_and_coverage_on_a_known_hierarchy():
    """Chains with a chain effect (sd 3) and, inside each, 2 training seeds (sd 2) and a test-image term
    (sd 0.5): a chain's mean has variance 9 + 4/2 + 0.25/2. With k = 3 chains, the t-interval's mean
    width is 2·t(0.975, 2)·E[s]/√3 with E[s] = c4(3)·σ; it covers the true mean ~95 % of the time."""
    rng = np.random.default_rng(0)
    sigma = math.sqrt(9 + 4 / 2 + 0.25 / 2)
    k, sims, truth = 3, 4000, 20.0
    chain = truth + rng.normal(0, 3, size=(sims, k))
    seeds = rng.normal(0, 2, size=(sims, k, 2)).mean(-1)
    images = rng.normal(0, 0.5, size=(sims, k, 2)).mean(-1)
    values = chain + seeds + images
    cis = np.array([replicate_interval(v) for v in values])
    coverage = float(((cis[:, 0] <= truth) & (truth <= cis[:, 1])).mean())
    assert 0.93 <= coverage <= 0.97
    c4 = math.sqrt(2 / (k - 1)) * math.gamma(k / 2) / math.gamma((k - 1) / 2)
    analytic = 2 * 4.302652729911275 * c4 * sigma / math.sqrt(k)
    assert float(np.mean(cis[:, 1] - cis[:, 0])) == pytest.approx(analytic, rel=0.05)
    # percentiles over 3 chains ([min, max]) would cover the mean only ~75 % of the time: the reason for t
    mn, mx = values.min(1), values.max(1)
    assert float(((mn <= truth) & (truth <= mx)).mean()) < 0.8


def test_replicate_interval():
    lo, hi = replicate_interval([1.0, 2.0, 3.0])
    assert lo == pytest.approx(2 - 4.302652729911275 / math.sqrt(3)) and hi == pytest.approx(2 + 4.302652729911275 / math.sqrt(3))
    assert all(math.isnan(v) for v in replicate_interval([1.0]))
    assert seed_interval is replicate_interval


def test_an_inconclusive_row_says_how_many_replicates_would_decide_it():
    ci = replicate_interval([30.0, 33.0, 2.0])
    r = row("S1", "c", paper="p", ours="o", criterion="x", ok=judge(ci, ">=", 10.0), ci=ci, seeds=3,
            value=float(np.mean([30.0, 33.0, 2.0])), op=">=", threshold=10.0)
    assert r["verdict"] == "inconclusive"
    need = int(r["decide"].split()[0].lstrip("≈"))
    half, dist = (ci[1] - ci[0]) / 2, 21.666666666666668 - 10.0
    assert need == math.ceil(3 * (half / dist) ** 2) and need > 3 and "replicates" in r["decide"]
    decided = row("S1", "c", paper="p", ours="o", criterion="x", ok="reproduced", ci=(11.0, 12.0), seeds=3,
                  value=11.5, op=">=", threshold=10.0)
    assert decided["decide"] == ""
    assert decided["interval"].startswith("3 seeds")


def test_rows_have_every_column_and_kinds_are_checked():
    r = row("S1", "c", paper="p", ours="o", criterion="x", ok=True, n=10, ci=(0.1, 0.2))
    nm = not_measured("S1", "c", paper="p", why="not run", criterion="x")
    t = as_table([r, nm, {"system": "S2", "claim": "old-style", "verdict": "reproduced"}])
    assert list(t.columns) == COLUMNS
    assert list(t.verdict) == ["reproduced", "not measured", "reproduced"]
    assert list(t.kind) == ["finding", "finding", "finding"]
    with pytest.raises(ValueError, match="kind"):
        row("S1", "c", paper="p", ours="o", criterion="x", ok=True, kind="finding?")
