"""The claims table as a forest plot: one line per row, read in ten seconds.

Each row's value and interval are drawn on an axis normalised to the row's own test: the threshold
sits at 0 and the paper's side is to the right, whatever the row's direction (`>=` or `<=`), in units
of the row's largest distance from its threshold (so every row spans at most [-1, 1]). Colour is the
verdict; rows are grouped by system. With a second table (a re-run, `claims-compare`), both runs'
intervals are drawn side by side on one shared scale per row."""
from __future__ import annotations

import math

COLOURS = {"reproduced": "tab:green", "contradicted": "tab:red", "inconclusive": "tab:orange",
           "not judged": "tab:purple", "not measured": "tab:gray"}


def normalised(r, scale: float) -> tuple[float, float, float]:
    """(value, low, high) of a row on the forest axis: signed so the paper's side is positive, threshold 0."""
    sign = 1.0 if r["direction"] == ">=" else -1.0
    thr = float(r["threshold"])
    v, lo, hi = (sign * (float(r[k]) - thr) / scale for k in ("value", "ci_low", "ci_high"))
    return v, min(lo, hi), max(lo, hi)


def _testable(r) -> bool:
    import pandas as pd
    return r.get("direction") in (">=", "<=") and not pd.isna(r.get("threshold")) and not pd.isna(r.get("value"))


def _scale(*rows) -> float:
    d = [abs(float(r[k]) - float(r["threshold"])) for r in rows for k in ("value", "ci_low", "ci_high")
         if not math.isnan(float(r[k]))]
    return max(max(d, default=0.0), 1e-12)


def forest_plot(claims, other=None, labels: tuple[str, str] = ("this run", "other run"), ax=None):
    """Draw the forest plot of `claims` (and `other`, a second table of the same rows); returns the
    figure. Rows without a test (direction/threshold) or a value are listed with their verdict only."""
    import matplotlib.pyplot as plt
    import pandas as pd
    key = ["system", "claim"]
    a = claims.reset_index(drop=True)
    b = other.set_index(key) if other is not None else None
    a = a.sort_values(["system"], kind="stable").reset_index(drop=True)
    height = 0.32 * len(a) + 1.2
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(11, height))
    yticks, ylabels = [], []
    y = 0.0
    last_system = None
    for _, r in a.iterrows():
        if r["system"] != last_system:
            if last_system is not None:
                y += 0.6
                ax.axhline(-y + 0.3, color="0.85", lw=0.8)
            last_system = r["system"]
        pair = [(r, labels[0], 0.0)]
        if b is not None and (r["system"], r["claim"]) in b.index:
            o = b.loc[(r["system"], r["claim"])]
            o = o.iloc[0] if isinstance(o, pd.DataFrame) else o
            o = o.copy()
            o["system"], o["claim"] = r["system"], r["claim"]
            pair = [(r, labels[0], 0.17), (o, labels[1], -0.17)]
        testable = [p for p, _, _ in pair if _testable(p)]
        scale = _scale(*testable) if testable else 1.0
        for p, _label, dy in pair:
            colour = COLOURS.get(str(p["verdict"]), "black")
            if _testable(p):
                v, lo, hi = normalised(p, scale)
                if not (math.isnan(lo) or math.isnan(hi)):
                    ax.plot([lo, hi], [-y + dy] * 2, color=colour, lw=2.2, solid_capstyle="butt",
                            ls="-" if dy >= 0 else "--")
                ax.plot([v], [-y + dy], "o" if dy >= 0 else "s", color=colour, ms=5)
            else:
                ax.text(1.02, -y + dy, str(p["verdict"]), color=colour, fontsize=7, va="center",
                        transform=ax.get_yaxis_transform())
        kind = "" if r.get("kind", "finding") == "finding" else f" [{r['kind']}]"
        claim = str(r["claim"])
        ylabels.append(f"{r['system']}: {claim[:70]}{'…' if len(claim) > 70 else ''}{kind}")
        yticks.append(-y)
        y += 1.0
    ax.axvline(0, color="black", lw=1)
    ax.axvspan(0, 1.08, color="tab:green", alpha=0.06)
    ax.set_xlim(-1.08, 1.08)
    ax.set_yticks(yticks, ylabels, fontsize=7)
    ax.set_ylim(-y + 0.4, 0.6)
    ax.set_xlabel("distance from the row's threshold (0), the paper's side to the right; units: the row's largest "
                  "distance")
    handles = [plt.Line2D([], [], color=c, lw=2.2, label=v) for v, c in COLOURS.items()]
    if b is not None:
        handles += [plt.Line2D([], [], color="black", marker="o", lw=2, label=labels[0]),
                    plt.Line2D([], [], color="black", marker="s", ls="--", lw=2, label=labels[1])]
    ax.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(handles), frameon=False)
    return fig
