"""What a run cost: sums the Snakemake `benchmark:` files of results/<run>/benchmarks per rule.

    python -m uap.benchmarks results/default [--compare results_old/default] [--csv out.csv] [--markdown]

Prints one row per rule (jobs, summed and largest wall time, summed CPU time, peak memory) and the
totals. With --compare, per rule: summed wall time before (the older run) and after, the speed-up,
summed CPU time before and after, and the peak memory after (rules present in one run only show as
blank on the other side). The sum of wall times is what the run costs on one job slot; with several
cores Snakemake overlaps jobs, so the elapsed time of a run lies between the largest job and this sum.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .errors import UapError


def collect(run_dir: str | Path) -> pd.DataFrame:
    """One row per benchmark file: rule, job (wildcards part of the path), wall s, cpu s, max RSS MB."""
    root = Path(run_dir) / "benchmarks"
    if not root.is_dir():
        raise UapError(f"no benchmarks folder under {run_dir!s} (run the pipeline first)")
    rows = []
    for f in sorted(root.rglob("*.tsv")):
        rel = f.relative_to(root).with_suffix("")
        try:
            t = pd.read_csv(f, sep="\t")
        except (ValueError, pd.errors.ParserError) as exc:
            raise UapError(f"{f} is not a Snakemake benchmark table ({exc}); delete it and re-run its rule") from exc
        if t.empty:
            continue
        if "s" not in t.columns:
            raise UapError(f"{f} has no column 's' (wall seconds): not a Snakemake benchmark table")
        last = t.iloc[-1]            # a benchmark file holds one row per repeat; the last is the latest
        rows.append({"rule": rel.parts[0], "job": "/".join(rel.parts[1:]) or rel.parts[0],
                     "wall_s": float(last["s"]), "cpu_s": float(last.get("cpu_time", float("nan"))),
                     "max_rss_mb": float(last.get("max_rss", float("nan")))})
    return pd.DataFrame(rows, columns=["rule", "job", "wall_s", "cpu_s", "max_rss_mb"])


def summarise(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, summed / largest wall time, summed CPU time; sorted by summed wall time."""
    g = jobs.groupby("rule")
    out = pd.DataFrame({"jobs": g.size(), "wall_s": g["wall_s"].sum(), "max_job_wall_s": g["wall_s"].max(),
                        "cpu_s": g["cpu_s"].sum(), "peak_rss_mb": g["max_rss_mb"].max()})
    return out.sort_values("wall_s", ascending=False).round(1)


def compare(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per rule (union of both runs): summed wall s before/after, speed-up (before / after), summed CPU s
    before/after, peak RSS after. A last row `total` sums the times of rules present in both runs
    (speed-up over those) and takes the largest peak. Job wall times only add up to a run's elapsed
    time when one job runs at a time; with jobs side by side, CPU time is the comparable cost."""
    t = pd.DataFrame({"before_s": before["wall_s"], "after_s": after["wall_s"]})
    t["speedup"] = t["before_s"] / t["after_s"]
    t["cpu_before_s"], t["cpu_after_s"] = before["cpu_s"], after["cpu_s"]
    t["peak_rss_mb"] = after["peak_rss_mb"]
    both = t.dropna(subset=["before_s", "after_s"])
    t = t.sort_values("before_s", ascending=False, na_position="last")
    t.loc["total (rules in both)"] = [both["before_s"].sum(), both["after_s"].sum(),
                                      both["before_s"].sum() / both["after_s"].sum(), both["cpu_before_s"].sum(),
                                      both["cpu_after_s"].sum(), t["peak_rss_mb"].max()]
    t.index.name = "rule"
    return t.round({"before_s": 1, "after_s": 1, "speedup": 2, "cpu_before_s": 1, "cpu_after_s": 1, "peak_rss_mb": 0})


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (index first; blanks for missing values), without extra dependencies."""
    t = table.reset_index()
    cell = lambda v: "" if pd.isna(v) else (f"{v:g}" if isinstance(v, float) else str(v))  # noqa: E731
    lines = ["| " + " | ".join(map(str, t.columns)) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m uap.benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="results/<run>")
    p.add_argument("--compare", metavar="OLDER_RUN_DIR", help="an older run's results/<run>: before/after per rule")
    p.add_argument("--csv", help="also write the table here")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    a = p.parse_args(argv)
    from .artifacts import write_csv
    try:
        table = summarise(collect(a.run_dir))
        if a.compare:
            table = compare(summarise(collect(a.compare)), table)
        if a.csv:       # written atomically (temporary file, fsync, rename)
            write_csv(a.csv, table.reset_index())
    except UapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown(table) if a.markdown else table.to_string())
    if not a.compare:
        print(f"\n{int(table['jobs'].sum())} jobs; summed wall time {table['wall_s'].sum() / 60:.1f} min, "
              f"summed CPU time {table['cpu_s'].sum() / 60:.1f} min, peak memory {table['peak_rss_mb'].max():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
