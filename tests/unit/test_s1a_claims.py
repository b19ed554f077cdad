"""Verdicts of the S1 analyses' claims rows on small hand-made tables (both outcomes)."""
from __future__ import annotations

import itertools

import pandas as pd
import pytest

from uap.claims import s1a_rows
from uap.config import validate_config


def _tables(tmp_path, *, robust_acc=40.0, far_pe=0.1, rob_rise=0.0, uni_transfer=0.2, corr_sign=1):
    models = pd.DataFrame([
        {"model": "natural", "training": "standard", "threat": "l2", "eps": 2.0, "standard_acc": 90.0, "robust_acc": 1.0},
        {"model": "robust_l2", "training": "l2", "threat": "l2", "eps": 2.0, "standard_acc": 80.0, "robust_acc": robust_acc}])
    rows = []
    for dy, dx in itertools.product([-8, 0, 8], repeat=2):
        far = max(abs(dy), abs(dx)) >= 8
        rows.append({"kind": "per_example", "norm": "l2", "target": -1, "dy": dy, "dx": dx, "asr": far_pe if far else 0.9})
        for t in range(10):
            rows.append({"kind": "universal", "norm": "l2", "target": t, "dy": dy, "dx": dx, "asr": 0.5})
    shifts = pd.DataFrame(rows)
    scaling = pd.DataFrame(
        [{"perturbation": "natural_universal", "model": "natural", "target": 0, "t": t, "asr": a}
         for t, a in zip([0, 1, 3], [0.0, 0.3, 0.7])]
        + [{"perturbation": "natural_universal", "model": "robust_l2", "target": 0, "t": t, "asr": 0.05 + rob_rise * t}
           for t in [0, 1, 3]])
    transfer = pd.DataFrame([{"kind": k, "target_model": m, "target": -1, "transfer_rate": r}
                             for m in ("natural2", "vgg") for k, r in (("per_example", 0.5), ("universal", uni_transfer))])
    locality = pd.DataFrame([{"kind": "universal", "norm": "l2", "rescaled": True, "target": t, "patch": p,
                              "patch_norm": float(p), "asr": 0.1 * p * corr_sign + 0.5} for t in range(3) for p in range(5)])
    paths = {}
    for name, df in (("models", models), ("shifts", shifts), ("scaling", scaling), ("transfer", transfer),
                     ("locality", locality)):
        paths[name] = str(tmp_path / f"{name}.csv")
        df.to_csv(paths[name], index=False)
    return {"models": paths["models"], "shifts": [paths["shifts"]], "scaling": paths["scaling"],
            "transfer": paths["transfer"], "locality": [paths["locality"]]}


@pytest.fixture()
def cfg():
    return validate_config({"run": "t"})


def test_every_claim_reproduced_on_tables_that_show_it(tmp_path, cfg):
    rows = s1a_rows(cfg, **_tables(tmp_path))
    assert len(rows) == 5 and [r["verdict"] for r in rows] == ["reproduced"] * 5
    assert "0.100" in rows[1]["ours"] and "0.500" in rows[1]["ours"]


@pytest.mark.parametrize("change, row", [({"robust_acc": 5.0}, 0), ({"far_pe": 0.4}, 1), ({"rob_rise": 0.2}, 2),
                                         ({"uni_transfer": 0.48}, 3), ({"corr_sign": -1}, 4)])
def test_a_finding_that_does_not_hold_is_not_reproduced(tmp_path, cfg, change, row):
    rows = s1a_rows(cfg, **_tables(tmp_path, **change))
    assert rows[row]["verdict"] == "not reproduced"
    assert sum(r["verdict"] == "reproduced" for r in rows) == 4
