"""S1 claims rows on small hand-made tables: both verdicts and "not measured" for each row function."""
from __future__ import annotations

import itertools
import json
import math

import pandas as pd
import pytest

from uap.claims import COLUMNS, as_table, s1_rows, s1_universality_rows, s1a_rows
from uap.config import validate_config


@pytest.fixture()
def cfg():
    c = validate_config({"run": "t"})
    c["claims"]["bootstrap_resamples"] = 400          # fast; the intervals below are far from the thresholds
    return c


def _write(tmp_path, name, df):
    path = str(tmp_path / f"{name}.csv")
    df.to_csv(path, index=False)
    return path


def _shift_images(far_pe_hit_every=0, uni_far_hits=5):
    rows = []
    for dy, dx in itertools.product([-8, 0, 8], repeat=2):
        far = max(abs(dy), abs(dx)) >= 8
        for i in range(60):                               # per-example: hits at zero shift, at far shifts
            hit = 1 if not far else int(far_pe_hit_every > 0 and i % far_pe_hit_every == 0)
            rows.append({"kind": "per_example", "norm": "l2", "image": i, "dy": dy, "dx": dx, "hits": hit, "counted": 1})
        for i in range(100, 160):                          # universal / noise: summed over 10 targets (9 counted)
            rows.append({"kind": "universal", "norm": "l2", "image": i, "dy": dy, "dx": dx,
                         "hits": uni_far_hits if far else 8, "counted": 9})
            rows.append({"kind": "noise", "norm": "l2", "image": i, "dy": dy, "dx": dx, "hits": 0.1 * (i % 2), "counted": 9})
    rows += [{"kind": "clean", "norm": "l2", "image": i, "dy": 0, "dx": 0, "hits": int(i % 10 == 0), "counted": 9}
             for i in range(100, 160)]
    return pd.DataFrame(rows)


def _scaling_images(rob_rise=0):
    rows = []
    for j, t in enumerate([0.0, 0.2, 1.0, 3.0]):          # t = 0.2: rob-univ-ptb (eps_factor 5) at the natural budget
        for i in range(50):
            for pert, model, hits in (("natural_universal", "natural", 3 * j), ("natural_universal", "natural2", 2 * j),
                                      ("natural_universal", "robust_l2", rob_rise * j),
                                      ("robust_universal", "robust_l2", 3 * j), ("robust_universal", "natural", 3 * j)):
                rows.append({"perturbation": pert, "norm": "l2", "model": model, "t": t, "image": i,
                             "hits": hits, "counted": 9})
    return pd.DataFrame(rows)


def _transfer_images(uni_hits=2):
    return pd.DataFrame([{"kind": k, "target_model": m, "image": i, "transferred": tr, "counted": c}
                         for m in ("natural2", "vgg") for i in range(200)
                         for k, tr, c in (("per_example", int(i % 2 == 0), 1), ("universal", uni_hits, 9))])


def _locality(norm="l2", flat=False, equal_norms=False):
    table = pd.DataFrame([{"kind": "universal", "norm": norm, "size": 10, "rescaled": norm == "l2", "target": t,
                           "patch": p, "patch_norm": 1.0 if equal_norms else 1.0 + p, "asr": p / 10}
                          for t in range(3) for p in range(8)])
    images = pd.DataFrame([{"norm": norm, "target": t, "patch": p, "image": i,
                            "hit": int((i % 10) < (4 if flat else p))}
                           for t in range(3) for p in range(8) for i in range(60)])
    return table, images


def _s1a(tmp_path, *, robust_acc=40.0, far_pe_hit_every=0, rob_rise=0, uni_hits=2, flat=False, images=True):
    models = pd.DataFrame([
        {"model": "natural", "training": "standard", "threat": "l2", "eps": 2.0, "standard_acc": 90.0, "robust_acc": 1.0, "images": 250},
        {"model": "robust_l2", "training": "l2", "threat": "l2", "eps": 2.0, "standard_acc": 80.0, "robust_acc": robust_acc, "images": 250}])
    shifts = pd.DataFrame([{"kind": "universal", "norm": "l2", "target": 0, "dy": dy, "dx": dx, "asr": 0.5, "kept_norm": 0.6}
                           for dy, dx in itertools.product([-8, 0, 8], repeat=2)])
    loc_table, loc_images = _locality(flat=flat)
    kw = {"models": _write(tmp_path, "models", models), "shifts": [_write(tmp_path, "shifts", shifts)],
          "scaling": _write(tmp_path, "scaling", pd.DataFrame()), "transfer": _write(tmp_path, "transfer", pd.DataFrame()),
          "locality": [_write(tmp_path, "locality", loc_table)]}
    if images:
        kw.update(shifts_images=[_write(tmp_path, "shifts_images", _shift_images(far_pe_hit_every))],
                  scaling_images=_write(tmp_path, "scaling_images", _scaling_images(rob_rise)),
                  transfer_images=_write(tmp_path, "transfer_images", _transfer_images(uni_hits)),
                  locality_images=[_write(tmp_path, "locality_images", loc_images)])
    return kw


FAILED = ("contradicted", "inconclusive")
NAMES = ["table7", "shifts", "scaling_natural", "scaling_control", "scaling_robust", "scaling_rob_univ",
         "scaling_rob_univ_on_natural", "transfer", "locality"]
I = {name: i for i, name in enumerate(NAMES)}


def test_s1a_rows_reproduced_on_tables_that_show_it(tmp_path, cfg):
    rows = s1a_rows(cfg, **_s1a(tmp_path))
    assert [r["verdict"] for r in rows] == ["reproduced"] * len(NAMES)
    assert [r["kind"] for r in rows] == ["sanity", "finding", "finding", "finding", "finding", "sanity", "finding",
                                         "finding", "finding"]
    t = as_table(rows)
    assert list(t.columns) == COLUMNS
    findings = t[t.kind == "finding"]
    assert findings.ci_low.notna().all() and (findings.ci_low <= findings.ci_high).all()
    # shifts: floor measured from noise (~0.0056), not 1/k; retention gap ≈ (0.556-0.006)/(0.889-0.006) + 0.006
    assert "floor (same-norm noise)" in rows[1]["ours"] and 0.55 < rows[1]["ci_low"] <= rows[1]["ci_high"] < 0.7
    assert "clamp keeps 60%" in rows[1]["ours"]
    # scaling (no image varies): natural rise beyond t = 1 (9 − 6)/9, control rise 6/9, robust rise 0,
    # rob-univ-ptb on the natural model at t = 0.2: 3/9
    assert rows[I["scaling_natural"]]["ci_low"] == pytest.approx(3 / 9)
    assert rows[I["scaling_control"]]["ci_low"] == pytest.approx(6 / 9)
    assert rows[I["scaling_robust"]]["ci_high"] == pytest.approx(0.0)
    assert rows[I["scaling_rob_univ_on_natural"]]["value"] == pytest.approx(3 / 9)
    assert "up to 3·ε" in rows[I["scaling_robust"]]["ours"]
    # locality: 3 highest (ASR ~0.5-0.7) vs 2 lowest (0-0.1) patches on held-out images; norms 1.5 vs 7
    assert rows[I["locality"]]["ci_low"] > 0.25 and "norm ratio low/high 0.21" in rows[I["locality"]]["ours"]


@pytest.mark.parametrize("change, index", [({"robust_acc": 5.0}, 0), ({"far_pe_hit_every": 2}, 1),
                                           ({"rob_rise": 1}, I["scaling_robust"]), ({"uni_hits": 4}, I["transfer"]),
                                           ({"flat": True}, I["locality"])])
def test_s1a_rows_not_reproduced_when_the_finding_fails(tmp_path, cfg, change, index):
    rows = s1a_rows(cfg, **_s1a(tmp_path, **change))
    assert rows[index]["verdict"] in FAILED, rows[index]
    assert sum(r["verdict"] == "reproduced" for r in rows) == len(NAMES) - 1


def test_transfer_gap_decided_by_the_interval_not_the_point(tmp_path, cfg):
    # per-example 0.5 vs universal 4/9 = 0.444: the point gap 0.056 passes 0.05, the interval's near end does not
    rows = s1a_rows(cfg, **_s1a(tmp_path, uni_hits=4))
    tr = rows[I["transfer"]]
    assert "gap 0.056" in tr["ours"] and tr["ci_low"] < 0.05 < tr["ci_high"]
    assert tr["verdict"] == "inconclusive"


def test_s1a_rows_not_measured_without_per_image_outcomes(tmp_path, cfg):
    rows = s1a_rows(cfg, **_s1a(tmp_path, images=False))
    assert rows[0]["verdict"] == "reproduced"                    # Table 7 needs no per-image outcomes
    assert [r["verdict"] for r in rows[1:]] == ["not measured"] * 4


def test_shift_row_not_measured_without_far_shifts(tmp_path, cfg):
    cfg["claims"]["shift_far_px"] = 12
    rows = s1a_rows(cfg, **_s1a(tmp_path))
    assert rows[1]["verdict"] == "not measured" and "12 px" in rows[1]["ours"]


def test_locality_linf_needs_similar_norms(tmp_path, cfg):
    kw = _s1a(tmp_path)
    for equal, verdict in ((True, "reproduced"), (False, "contradicted")):
        table, images = _locality("linf", equal_norms=equal)
        kw["locality"] = [_write(tmp_path, "loc_linf", table)]
        kw["locality_images"] = [_write(tmp_path, "loc_linf_images", images)]
        assert s1a_rows(cfg, **kw)[I["locality"]]["verdict"] == verdict


def _generalization(tmp_path, adv=54.0, univ=29.0, n=10000):
    g = pd.DataFrame([{"constructed": k, "best": True, "test_acc": a, "test_images": n, "paper_test_acc": p,
                       "paper_source": "CIFAR-10"} for k, a, p in (("d_adv", adv, 64.3), ("d_univ", univ, 23.3))])
    return _write(tmp_path, "generalization", g)


def _construction(tmp_path, v):
    """A construction.json whose D_univ label table is uniform (v == 0) or leans to the diagonal (v > 0)."""
    table = [[48 + (int(200 * v) if i == j else 0) for j in range(10)] for i in range(10)]
    path = tmp_path / "construction.json"
    path.write_text(json.dumps({"d_univ": {"cramers_v": v, "size": sum(map(sum, table)), "contingency": table,
                                           "labels_exactly_independent": v == 0}}))
    return str(path)


def test_s1_rows_verdicts_use_the_near_end(tmp_path, cfg):
    ok = s1_rows(cfg, _generalization(tmp_path), _construction(tmp_path, 0.0))
    assert [r["verdict"] for r in ok] == ["reproduced", "reproduced"] and [r["kind"] for r in ok] == ["finding", "sanity"]
    assert ok[0]["ci_low"] < 25.0 < ok[0]["ci_high"] and ok[0]["n"] == 10000
    # a 10.5-point gap on 100 test images each: the point passes 10, the interval does not
    close = s1_rows(cfg, _generalization(tmp_path, 60.5, 50.0, n=100), _construction(tmp_path, 0.3))
    assert [r["verdict"] for r in close] == ["inconclusive", "contradicted"]
    assert s1_rows(cfg, _generalization(tmp_path))[1]["verdict"] == "not measured"


def _interp(tmp_path, accs=(60.0, 58.0, 45.0), half=63.0, k2=58.0, cyclic=13.2, n=10000, budget=True, probes=(90.0, 50.0)):
    rows = [{"table": "Table 1", "row": f"K={K}", "K": K, "test_acc": a, "size": 5000, "trained_size": 4000,
             "construction_asr": 0.8, "chance": 10.0, "test_images": n} for K, a in zip((1, 2, 16), accs)]
    if budget:
        rows += [{"table": "Table 5", "row": "eps, K=2", "K": 2, "test_acc": k2, "size": 5000, "trained_size": 4000,
                  "construction_asr": 0.8, "chance": 10.0, "test_images": n},
                 {"table": "Table 5", "row": "eps/2, K=1", "K": 1, "test_acc": half, "size": 5760, "trained_size": 4000,
                  "construction_asr": 0.9, "chance": 10.0, "test_images": n}]
    rows.append({"table": "A.3", "row": "D_det-style (cyclic labels)", "K": 256, "test_acc": cyclic, "size": 3000,
                 "construction_asr": 0.5, "chance": 10.0, "test_images": n})
    leak = pd.DataFrame([{"feature_source": s, "robust": r, "test_acc": a, "test_images": n} for s, r, a in
                         (("natural", False, probes[0]), ("natural, diff init", False, probes[1]),
                          ("robust (ℓ2)", True, 25.0))])
    return {"interpolation": _write(tmp_path, "interp", pd.DataFrame(rows)), "leakage": _write(tmp_path, "leak", leak)}


def test_s1_universality_rows_both_verdicts_and_not_measured(tmp_path, cfg):
    rows = s1_universality_rows(cfg, **_interp(tmp_path))
    assert [r["verdict"] for r in rows] == ["reproduced"] * 4
    assert "trained on 4000 / 4000 images" in rows[1]["ours"] and "construction ASR 0.90 / 0.80" in rows[1]["ours"]
    bad = s1_universality_rows(cfg, **_interp(tmp_path, accs=(45.0, 58.0, 60.0), half=57.0, k2=58.0, cyclic=10.5,
                                              probes=(28.0, 27.0)))     # gap 2.5 passes 2 at the point, not the near end
    assert all(r["verdict"] in FAILED for r in bad), [r["verdict"] for r in bad]
    # Table 4: the diff-init arm (50) against the robust one (25); the source model's 90 is context only
    assert rows[3]["ci_low"] < 25.0 < rows[3]["ci_high"] and rows[3]["n"] == 10000
    assert "source model's own probe 90.0 %" in rows[3]["ours"]
    src_only = s1_universality_rows(cfg, **_interp(tmp_path, probes=(90.0, 24.0)))[3]
    assert src_only["verdict"] == "contradicted"          # a high source-model probe alone cannot pass the row
    missing = s1_universality_rows(cfg, **_interp(tmp_path, budget=False))
    assert missing[1]["verdict"] == "not measured"


def _interp_seeds(tmp_path, t1, half, k2, cyclic):
    """An interpolation table with three training seeds per model (test_acc_by_seed)."""
    def r(table, row, variant, K, accs):
        return {"table": table, "row": row, "variant": variant, "K": K, "test_acc": sum(accs) / len(accs),
                "test_acc_by_seed": ";".join(f"{a:.2f}" for a in accs), "seeds": len(accs), "size": 5000,
                "trained_size": 4000, "construction_asr": 0.8, "chance": 10.0, "test_images": 10000}
    rows = [r("Table 1", f"K={K}", f"random_K{K}", K, a) for K, a in zip((1, 2, 16), t1)]
    rows += [r("Table 5", "eps, K=2", "random_K2", 2, k2), r("Table 5", "eps/2, K=1", "random_K1_half", 1, half),
             r("A.3", "D_det-style (cyclic labels)", "cyclic_K256", 256, cyclic)]
    return {"interpolation": _write(tmp_path, "interp_seeds", pd.DataFrame(rows)), "leakage": None}


def test_interpolation_rows_take_their_intervals_over_training_seeds(tmp_path, cfg):
    ok = s1_universality_rows(cfg, **_interp_seeds(tmp_path, t1=((60, 61, 62), (58, 57, 59), (45, 44, 46)),
                                                    half=(63, 64, 62), k2=(58, 57, 59), cyclic=(13.2, 13.5, 12.9)))
    assert [r["verdict"] for r in ok] == ["reproduced"] * 3
    assert [r["seeds"] for r in ok] == [3, 3, 3]
    assert ok[0]["ci_high"] == pytest.approx(-1.0) and "Spearman per seed -1.00/-1.00/-1.00" in ok[0]["ours"]
    # t over 3 seeds: gaps 5/7/3 → 5 ± t(0.975, 2)·2/√3; cyclic 3.2/3.5/2.9 above chance → 3.2 ± t·0.3/√3
    half = 4.302652729911275 / math.sqrt(3)
    assert ok[1]["ci_low"] == pytest.approx(5 - 2 * half) and ok[1]["ci_high"] == pytest.approx(5 + 2 * half)
    assert "over seeds" in ok[2]["criterion"] and ok[2]["ci_low"] == pytest.approx(3.2 - 0.3 * half)
    assert all("training seeds" in r["interval"] and "not replicated" in r["interval"] for r in ok)
    # one seed in three goes the other way: each mean (or single test-image interval) would still pass
    bad = s1_universality_rows(cfg, **_interp_seeds(tmp_path, t1=((60, 61, 40), (58, 57, 50), (45, 44, 55)),
                                                     half=(63, 64, 20), k2=(58, 57, 59), cyclic=(13.2, 13.5, 11.0)))
    assert all(r["verdict"] in FAILED for r in bad), [r["verdict"] for r in bad]
    assert bad[0]["ci_high"] > -0.5 and bad[1]["ci_low"] < -30 and bad[2]["ci_low"] < 2.0


def _chains(tmp_path, gaps, seeds=2, univ=30.0, n=10000):
    """A generalization table of replicate chains: chain r's D_adv/D_univ models at one grid point, `seeds`
    training seeds each, D_adv − D_univ = gaps[r] (± 1 point between the seeds)."""
    rows = []
    for r, gap in enumerate(gaps):
        for s in range(seeds):
            e = (s - (seeds - 1) / 2)
            for k, acc, paper in (("d_adv", univ + gap + e, 64.3), ("d_univ", univ - e, 23.3)):
                rows.append({"constructed": k, "best": True, "hp": "lr0.1_bs128_drop", "test_acc": acc, "test_images": n,
                             "replicate": r, "train_seed": s, "source_model": f"natural{r or ''}",
                             "paper_test_acc": paper, "paper_source": "CIFAR-10"})
    return _write(tmp_path, "generalization_chains", pd.DataFrame(rows))


def test_table3_interval_is_over_replicate_chains(tmp_path, cfg):
    rows = s1_rows(cfg, _chains(tmp_path, gaps=(30.0, 34.0, 26.0)), [_construction(tmp_path, 0.0)] * 3)
    t3 = rows[0]
    half = 4.302652729911275 * 4.0 / math.sqrt(3)                 # gaps 30/34/26: sd 4 over 3 chains
    assert (t3["ci_low"], t3["ci_high"]) == (pytest.approx(30 - half), pytest.approx(30 + half))
    assert t3["seeds"] == 3 and t3["verdict"] == "reproduced" and t3["value"] == pytest.approx(30.0)
    assert t3["interval"].startswith("t over 3 chains") and "training seeds' share" in t3["interval"]
    assert "natural2: " in t3["ours"] and "p 1, Cramér's V 0.000" in rows[1]["ours"] and "3 chain(s)" in rows[1]["ours"]
    # one chain of three on the other side of the threshold: the row cannot claim the finding any more
    flip = s1_rows(cfg, _chains(tmp_path, gaps=(30.0, 34.0, 2.0)), None)[0]
    assert flip["verdict"] == "inconclusive" and "replicates would decide it" in flip["decide"]
    assert s1_rows(cfg, _chains(tmp_path, gaps=(2.0, 4.0, 3.0)), None)[0]["verdict"] == "contradicted"
    # one chain: the interval is over test images only, and says so
    one = s1_rows(cfg, _chains(tmp_path, gaps=(30.0,), seeds=1), None)[0]
    assert one["seeds"] == 1 and "one chain" in one["interval"]


def test_label_independence_row_checks_every_chain(tmp_path, cfg):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    rows = s1_rows(cfg, _chains(tmp_path, gaps=(30.0, 34.0)), [_construction(a, 0.0), _construction(b, 0.3)])
    assert rows[1]["verdict"] == "contradicted" and rows[1]["value"] < 1e-6            # the χ² test rejects


def test_label_independence_row_tests_the_kept_table_of_each_balance_mode(tmp_path, cfg):
    """The row recomputes χ² on the kept table: a construction balanced "uniform" from a dependent table of
    fooled images fails it (whatever its own record says), the same images balanced "independent" pass
    with p = 1 (the table is the outer product of its marginals), also when an original class dropped out."""
    import torch

    from uap.constructed import balance_summary, balanced_table, cramers_v

    avail = torch.tensor([[90, 30, 40, 25], [20, 95, 30, 25], [30, 35, 90, 20], [0, 30, 40, 95]])   # (3, 0) empty

    def write(name, mode, claimed_independent=False):
        final = balanced_table(avail, mode)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"d_univ": {"balance": mode, "cramers_v": cramers_v(final), "size": int(final.sum()),
                                               "contingency": final.tolist(), "chi2_pvalue": 1.0 if claimed_independent else None,
                                               "labels_exactly_independent": claimed_independent,
                                               **balance_summary(avail, final)}}))
        return str(path)

    gen = _chains(tmp_path, gaps=(30.0,), seeds=1)
    dep = s1_rows(cfg, gen, write("uniform", "uniform", claimed_independent=True))[1]
    assert dep["verdict"] == "contradicted" and dep["value"] < cfg["claims"]["independence_alpha"]
    ind = s1_rows(cfg, gen, write("independent", "independent"))[1]
    assert ind["verdict"] == "reproduced" and ind["value"] == 1.0
    assert "balance independent" in ind["ours"] and "original class(es) [3] dropped" in ind["ours"]
    both = s1_rows(cfg, gen, [str(tmp_path / "independent.json"), str(tmp_path / "uniform.json")])[1]
    assert both["verdict"] == "contradicted"                                   # every chain must pass
