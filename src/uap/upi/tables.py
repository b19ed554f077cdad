"""Tables 1 and 2 analogues (paper values beside ours) and the cross-correlation of UPIs (Fig. 3–5)."""
from __future__ import annotations

import pandas as pd
import torch

from ..metrics import cross_correlation
from . import paper

LABELS = {"sg": "Simple Gradient", "ig": "Integrated Gradients"}


def paper_tables(results: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """results: the rows of every (model, interpretation) experiment (columns model, arch, …).
    Table 1: mean eq. 9 dissimilarity; Table 2: fooling rate in %. "n/a": no such cell in the paper."""
    base = results[["interpreter", "attack", "method", "type", "model", "arch"]].copy()
    base.insert(0, "interpretation", base.interpreter.map(LABELS))
    base["dataset"] = dataset
    t1, t2 = base.copy(), base.copy()
    t1["ours"] = results.dissimilarity.round(4).values
    t1["ours_sd"] = results.dissimilarity_sd.round(4).values
    if "images" in results:                      # per-image attacks run on a subset (upi.per_image.images)
        t1["images"] = results.images.values
    t2["ours"] = (100 * results.fooling_rate).round(2).values
    for t, table in ((t1, paper.TABLE1), (t2, paper.TABLE2)):
        ref = [paper.reference(table, dataset, a, i, m) for a, i, m in zip(t.arch, t.interpreter, t.method)]
        t["paper"] = ["n/a" if v is None else v for v in ref]
        t["paper_setting"] = [f"{paper.DATASET_NAMES[dataset]}, {a}" if v is not None else "n/a"
                              for v, a in zip(ref, t.arch)]
    return t1, t2.assign(seconds=results.seconds.values)


def correlation_table(deltas: dict[tuple[str, str, str], torch.Tensor]) -> pd.DataFrame:
    """Long table of |cosine| between every pair of perturbations, keyed (model, interpreter, method)."""
    keys = list(deltas)
    c = cross_correlation(torch.stack([deltas[k] for k in keys]))
    rows = []
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            rows.append({"model_a": a[0], "interpreter_a": a[1], "method_a": a[2], "model_b": b[0],
                         "interpreter_b": b[1], "method_b": b[2], "correlation": float(c[i, j])})
    return pd.DataFrame(rows)
