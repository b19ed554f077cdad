"""What a run cost: sums the Snakemake `benchmark:` files of results/<run>/benchmarks per rule.

    python -m uap.benchmarks results/default [--csv out.csv]

Prints one row per rule (jobs, summed and largest wall time, summed CPU time) and the totals. The sum
of wall times is what the run costs on one job slot; with several cores Snakemake overlaps jobs, so the
elapsed time of a run lies between the largest job and this sum.
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
                        "cpu_s": g["cpu_s"].sum()})
    return out.sort_values("wall_s", ascending=False).round(1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m uap.benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="results/<run>")
    p.add_argument("--csv", help="also write the per-rule table here")
    a = p.parse_args(argv)
    from .artifacts import write_csv
    try:
        table = summarise(collect(a.run_dir))
        if a.csv:       # written atomically (temporary file, fsync, rename)
            write_csv(a.csv, table.reset_index())
    except UapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table.to_string())
    print(f"\n{int(table['jobs'].sum())} jobs; summed wall time {table['wall_s'].sum() / 60:.1f} min, "
          f"summed CPU time {table['cpu_s'].sum() / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
