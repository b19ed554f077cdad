"""`python -m uap claims-compare A.csv B.csv`: does a re-run agree with a published claims table?

Row by row (matched on system and claim): both values, both intervals, both verdicts, and whether the
two runs agree. Two runs agree on a row when neither value lies outside the other run's interval and
the verdicts do not go reproduced ↔ contradicted. A *flip* (reproduced in one run, contradicted in the
other) is the one disagreement that intervals covering their row's randomness should never show: the
command exits 1 when any row flips, so a reviewer's re-run checks itself against the reference table."""
from __future__ import annotations

import math
from pathlib import Path

from .errors import UapError

DECIDED = {"reproduced", "contradicted"}


def _inside(v: float, lo: float, hi: float) -> bool | None:
    if any(map(math.isnan, (v, lo, hi))):
        return None
    return lo <= v <= hi


def compare_tables(a, b, names: tuple[str, str] = ("a", "b")):
    """One row per claim of either table: value, interval and verdict of each run, `values_inside`
    (each value inside the other run's interval; empty where a row has no interval), `flip` and `agree`."""
    import pandas as pd
    key = ["system", "claim"]
    cols = ["kind", "value", "ci_low", "ci_high", "verdict"]
    for df, name in ((a, names[0]), (b, names[1])):
        missing = [c for c in key + ["verdict"] if c not in df]
        if missing:
            raise UapError(f"{name}: not a claims table (no column {', '.join(missing)})")
    a = a.reindex(columns=key + cols).drop_duplicates(key)
    b = b.reindex(columns=key + cols).drop_duplicates(key)
    m = a.merge(b, on=key, how="outer", suffixes=("_a", "_b"), indicator="where")
    out = []
    for both in m.to_dict("records"):
        va, vb = float(both["value_a"]), float(both["value_b"])
        inside = [_inside(va, float(both["ci_low_b"]), float(both["ci_high_b"])),
                  _inside(vb, float(both["ci_low_a"]), float(both["ci_high_a"]))]
        known = [x for x in inside if x is not None]
        flip = {str(both["verdict_a"]), str(both["verdict_b"])} == DECIDED
        present = both["where"] == "both"
        out.append({"system": both["system"], "claim": both["claim"],
                    "kind": both["kind_a"] if isinstance(both["kind_a"], str) else both["kind_b"],
                    "value_a": va, "ci_low_a": both["ci_low_a"], "ci_high_a": both["ci_high_a"],
                    "verdict_a": both["verdict_a"] if present or both["where"] == "left_only" else "absent",
                    "value_b": vb, "ci_low_b": both["ci_low_b"], "ci_high_b": both["ci_high_b"],
                    "verdict_b": both["verdict_b"] if present or both["where"] == "right_only" else "absent",
                    "values_inside": (all(known) if known else pd.NA) if present else pd.NA,
                    "flip": bool(flip),
                    "agree": bool(present and not flip and (all(known) if known else
                                                            both["verdict_a"] == both["verdict_b"]))})
    res = pd.DataFrame(out)
    res["verdict_a"] = res["verdict_a"].fillna("absent")
    res["verdict_b"] = res["verdict_b"].fillna("absent")
    return res


def summary_line(res) -> str:
    both = res[(res.verdict_a != "absent") & (res.verdict_b != "absent")]
    same = int((both.verdict_a == both.verdict_b).sum())
    return (f"{len(both)} rows in both tables: {same} with the same verdict, {int(both.agree.sum())} agree "
            f"(values inside each other's intervals, no flip), {int(res.flip.sum())} flip reproduced ↔ contradicted; "
            f"{int((res.verdict_a == 'absent').sum())} only in B, {int((res.verdict_b == 'absent').sum())} only in A")


def _read(path_text: str):
    import pandas as pd
    path = Path(path_text)
    if not path.is_file():
        raise UapError(f"{path}: no such claims table")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UapError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from exc


def verdict_matrix(tables: dict):
    """Every row's verdict in each run, side by side (runs named by the dict's keys), with `flip` (some run
    reproduced and another contradicted) and `outside` (how many ordered pairs of runs have one run's value
    outside the other's interval, of the pairs where both are defined)."""
    import pandas as pd
    names = list(tables)
    key = ["system", "claim"]
    out = None
    for n in names:
        t = tables[n].reindex(columns=key + ["kind", "verdict"]).drop_duplicates(key).rename(columns={"verdict": n})
        out = t if out is None else out.merge(t.drop(columns="kind"), on=key, how="outer")
    out[names] = out[names].fillna("absent")
    out["flip"] = [DECIDED <= set(r) for r in out[names].itertuples(index=False)]
    outside, pairs = [0] * len(out), [0] * len(out)
    for i, a_ in enumerate(names):
        for b_ in names[i + 1:]:
            c = compare_tables(tables[a_], tables[b_]).set_index(key)
            for j, k in enumerate(zip(out.system, out.claim)):
                if k in c.index and not pd.isna(c.loc[k, "values_inside"]):
                    pairs[j] += 1
                    outside[j] += int(not bool(c.loc[k, "values_inside"]))
    out["pairs_outside"] = [f"{o}/{p}" for o, p in zip(outside, pairs)]
    return out


def cmd_claims_compare(a, cfg):
    """Compare claims tables row by row (the first is the reference); exit status 1 when a verdict flips
    reproduced ↔ contradicted between any two of them."""
    import pandas as pd
    tables = [_read(p) for p in a.tables]
    if len(tables) < 2:
        raise UapError("claims-compare: give at least two claims tables (the reference first)")
    if len(tables) > 2:
        m = verdict_matrix({p: t for p, t in zip(a.tables, tables)})
        if a.out:
            from .artifacts import write_csv
            write_csv(a.out, m)
        with pd.option_context("display.width", 250, "display.max_colwidth", 50):
            print(m.assign(claim=m.claim.str.slice(0, 50)).to_string(index=False))
        for r in m[m.flip].itertuples():
            print(f"FLIP: {r.system} — {r.claim}")
        print(f"{len(m)} rows in {len(tables)} tables: {int(m.flip.sum())} flip reproduced ↔ contradicted")
        return 1 if m.flip.any() else 0
    (ta, tb), (pa, pb) = tables, a.tables
    res = compare_tables(ta, tb, names=(pa, pb))
    if a.out:
        from .artifacts import write_csv
        write_csv(a.out, res)
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        from .artifacts import _atomic_write
        from .claims_forest import forest_plot
        fig = forest_plot(tb, ta, labels=(f"B: {pb}", f"A: {pa}"))
        fig.tight_layout()
        _atomic_write(Path(a.plot), lambda tmp: fig.savefig(tmp, dpi=110, format=Path(a.plot).suffix.lstrip(".") or "png"))
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        show = res.assign(claim=res.claim.str.slice(0, 60))
        print(show[["system", "claim", "verdict_a", "verdict_b", "values_inside", "flip"]].to_string(index=False))
    print(summary_line(res))
    flips = res[res.flip]
    for r in flips.itertuples():
        print(f"FLIP: {r.system} — {r.claim}: {r.verdict_a} in {pa}, {r.verdict_b} in {pb}")
    return 1 if len(flips) else 0


def register(add) -> None:
    s = add("claims-compare", cmd_claims_compare,
            "compare claims tables, the reference first (exit 1 on a reproduced/contradicted flip)", config=False)
    s.add_argument("tables", nargs="+", metavar="TABLE",
                   help="claims tables: the reference first (e.g. benchmarks/reference/claims.csv), then re-runs "
                        "(e.g. results/default/tables/claims.csv); with three or more, a verdict matrix")
    s.add_argument("--out", help="also write the comparison (two tables) or the verdict matrix (more) as CSV")
    s.add_argument("--plot", help="two tables: also draw both runs' intervals side by side (forest plot, PNG or PDF)")
