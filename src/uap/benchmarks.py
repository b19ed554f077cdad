"""What a run cost: sums the Snakemake `benchmark:` files of results/<run>/benchmarks per rule.

    python -m uap.benchmarks results/default [--compare results_old/default] [--csv out.csv] [--markdown]
    python -m uap.benchmarks results/default --critical-path [--configfile F] [--csv path.csv]
    python -m uap.benchmarks results/x1 results/x2 results/x4 --growth 1,2,4 [--csv growth.csv]

Prints one row per rule (jobs, summed and largest wall time, summed CPU time, peak memory) and the
totals. With --compare, per rule: summed wall time before (the older run) and after, the speed-up,
summed CPU time before and after, and the peak memory after (rules present in one run only show as
blank on the other side). The sum of wall times is what the run costs on one job slot; with several
cores Snakemake overlaps jobs, so the elapsed time of a run lies between the largest job and this sum.

--critical-path: the longest chain of dependent jobs, i.e. the run's wall time with unlimited cores.
The job graph comes from `snakemake -n --forceall --nolock` (nothing runs, no lock is taken; run from
the repository root or pass --workdir) for the profile whose `run:` is the run folder's name
(config.yaml for results/default, config/smoke.yaml for results/smoke; or --configfile); a job depends
on the jobs producing its inputs, and each job's `benchmark:` path names its file under
RUN_DIR/benchmarks. Prints the jobs on the path (seconds, start and finish), the path's length, the
summed job time and path / sum; jobs whose benchmark file is missing count 0 s and are listed.

--growth: runs of one profile at several scale factors (e.g. 1x, 2x, 4x the training images of the
constructed datasets): summed wall time per rule at each scale and the exponent b of time ∝ scale^b.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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


# --------------------------------------------------------------------------- critical path
@dataclass
class DagJob:
    """One job of a Snakemake dry run: its rule, files and (if the rule has one) benchmark path."""
    jobid: str
    rule: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    benchmark: str | None = None
    wildcards: str = ""


_JOB_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\S+):\s*$")
_JOB_FIELD = re.compile(r"^\s+(input|output|benchmark|jobid|wildcards): (.*)$")


def parse_dryrun(text: str) -> list[DagJob]:
    """The jobs of `snakemake -n --forceall` output (one block per job: `rule NAME:` then indented
    `input:`, `output:`, `benchmark:`, `jobid:`, `wildcards:` lines; the same format Snakemake 5-9
    prints). Raises UapError when there is no job or a job has no jobid."""
    jobs, cur = [], None
    for line in text.splitlines():
        m = _JOB_START.match(line)
        if m:
            cur = DagJob(jobid="", rule=m.group(1))
            jobs.append(cur)
            continue
        f = _JOB_FIELD.match(line) if cur is not None else None
        if f is None:
            if line and not line[0].isspace():
                cur = None                                # the block ended (a timestamp, "Job stats:", ...)
            continue
        key, value = f.group(1), f.group(2).strip()
        if key in ("input", "output"):
            getattr(cur, key + "s").extend(v.strip() for v in value.split(", ") if v.strip())
        elif key == "benchmark":
            cur.benchmark = value
        elif key == "jobid":
            cur.jobid = value
        else:
            cur.wildcards = value
    if not jobs:
        raise UapError("no job in the Snakemake dry run (is it the output of `snakemake -n --forceall`?)")
    missing = [j.rule for j in jobs if not j.jobid]
    if missing:
        raise UapError(f"dry-run job(s) without a jobid: {missing} (unknown Snakemake output format)")
    return jobs


def dependencies(jobs: list[DagJob]) -> dict[str, set[str]]:
    """job id -> ids of the jobs that produce its inputs (a file, or a file inside a directory output)."""
    producer = {}
    for j in jobs:
        for o in j.outputs:
            producer[o.rstrip("/")] = j.jobid
    deps = {}
    for j in jobs:
        d = set()
        for i in j.inputs:
            p = Path(i.rstrip("/"))
            for cand in (p, *p.parents):
                if str(cand) in producer:
                    d.add(producer[str(cand)])
                    break
        d.discard(j.jobid)
        deps[j.jobid] = d
    return deps


@dataclass
class CriticalPath:
    path: list[tuple[str, float, float]]      # (job, its seconds, its finish time with unlimited cores)
    total_s: float                            # the path's length: the run's wall time with unlimited cores
    summed_s: float                           # every job's seconds added up: the wall time on one job slot
    missing: list[str]                        # jobs of the DAG without seconds (counted as 0)

    @property
    def ratio(self) -> float:
        return self.total_s / self.summed_s if self.summed_s > 0 else float("nan")


def critical_path(deps: Mapping[str, Iterable[str]], seconds: Mapping[str, float]) -> CriticalPath:
    """The longest chain of dependent jobs. `deps`: job -> the jobs it needs (every job of the DAG is a
    key; a dependency that is not a key is added with no dependencies of its own); `seconds`: job ->
    wall time, a job absent from it counts 0 and is listed in `missing`. The path ends at a job nothing
    depends on; ties go to the job that sorts first (by name), so the answer does not depend on dict
    order. Raises UapError on a cycle."""
    graph = {j: set(d) for j, d in deps.items()}
    for d in list(graph.values()):
        for j in d:
            graph.setdefault(j, set())
    children = {j: [] for j in graph}
    for j, d in graph.items():
        for p in d:
            children[p].append(j)
    waiting = {j: len(d) for j, d in graph.items()}
    ready = sorted(j for j, n in waiting.items() if n == 0)
    finish, best = {}, {}
    while ready:
        j = ready.pop()
        pred = min(graph[j], key=lambda p: (-finish[p], p)) if graph[j] else None
        best[j] = pred
        finish[j] = float(seconds.get(j, 0.0)) + (finish[pred] if pred is not None else 0.0)
        for c in children[j]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    if len(finish) != len(graph):
        raise UapError(f"the job graph has a cycle through {sorted(set(graph) - set(finish))[:5]}")
    if not graph:
        return CriticalPath([], 0.0, 0.0, [])
    end = min((j for j in graph if not children[j]), key=lambda j: (-finish[j], j))   # a path runs to a last job
    path = []
    while end is not None:
        path.append((end, float(seconds.get(end, 0.0)), finish[end]))
        end = best[end]
    path.reverse()
    return CriticalPath(path=path, total_s=path[-1][2], summed_s=float(sum(seconds.get(j, 0.0) for j in graph)),
                        missing=sorted(j for j in graph if j not in seconds))


def find_configfile(workdir: Path, run: str) -> Path | None:
    """The profile whose `run:` is `run`: None for config.yaml (Snakemake's default), else the file under
    config/ (for --configfile). Raises UapError when none or several match."""
    import yaml
    found = []
    for f in [workdir / "config.yaml", *sorted((workdir / "config").glob("*.yaml"))]:
        try:
            cfg = yaml.safe_load(f.read_text()) if f.is_file() else None
        except yaml.YAMLError:
            continue
        if isinstance(cfg, dict) and str(cfg.get("run")) == run:
            found.append(f)
    if not found:
        raise UapError(f"no config.yaml or config/*.yaml under {workdir} has run: {run}; pass --configfile")
    if found[0] == workdir / "config.yaml":
        return None
    if len(found) > 1:
        raise UapError(f"several profiles have run: {run} ({', '.join(map(str, found))}); pass --configfile")
    return found[0]


def snakemake_dryrun(workdir: Path, configfile: Path | None) -> str:
    """`snakemake -n --forceall --nolock` in `workdir`: every job of the DAG, nothing run or locked."""
    import subprocess
    cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--nolock"]
    if configfile is not None:
        cmd += ["--configfile", str(Path(configfile).resolve())]
    r = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if r.returncode != 0:
        raise UapError(f"{' '.join(cmd[2:])} failed in {workdir} (exit {r.returncode}):\n{(r.stdout + r.stderr)[-2000:]}")
    return r.stdout + r.stderr


def _benchmark_key(path: str) -> str:
    """results/<run>/benchmarks/<rule>/<wildcards>.tsv -> <rule>/<wildcards> (collect's rule/job)."""
    parts = Path(path).with_suffix("").parts
    if "benchmarks" not in parts:
        raise UapError(f"benchmark path {path} has no benchmarks/ folder")
    return "/".join(parts[parts.index("benchmarks") + 1:])


def run_critical_path(run_dir: str | Path, dag_text: str) -> tuple[CriticalPath, pd.DataFrame, list[str]]:
    """The critical path of the dry run `dag_text` with the wall times of run_dir's benchmark files.
    Returns the path, its table (one row per job on it) and the jobs with no `benchmark:` directive."""
    jobs = parse_dryrun(dag_text)
    bench = collect(run_dir) if (Path(run_dir) / "benchmarks").is_dir() else pd.DataFrame(columns=["rule", "job", "wall_s"])
    have = {(r if j == r else f"{r}/{j}"): s for r, j, s in zip(bench["rule"], bench["job"], bench["wall_s"])}
    name, seconds, unbenchmarked = {}, {}, []
    for j in jobs:
        if j.benchmark:
            n = _benchmark_key(j.benchmark)
            if n in have:
                seconds[n] = have[n]
        else:
            n = j.rule + (f"[{j.wildcards}]" if j.wildcards else "")
            seconds[n] = 0.0                       # no benchmark: directive (target / stage rules): nothing to time
            unbenchmarked.append(n)
        if n in name.values():
            n = f"{n}#{j.jobid}"
        name[j.jobid] = n
    deps = {name[j]: {name[d] for d in ds} for j, ds in dependencies(jobs).items()}
    cp = critical_path(deps, seconds)
    table = pd.DataFrame([{"step": i + 1, "job": j, "wall_s": s, "start_s": round(f - s, 3), "finish_s": f,
                           "benchmark": "missing" if j in cp.missing else ("none" if j in unbenchmarked else "ok")}
                          for i, (j, s, f) in enumerate(cp.path)])
    return cp, table, sorted(unbenchmarked)


def print_critical_path(cp: CriticalPath, table: pd.DataFrame, unbenchmarked: list[str], md: bool = False,
                        out=None) -> None:
    out = out or sys.stdout
    print(markdown(table.round(1).set_index("step")) if md else table.round(1).to_string(index=False), file=out)
    print(f"\ncritical path: {len(cp.path)} jobs, {cp.total_s:.1f} s ({cp.total_s / 60:.1f} min; the run's wall "
          f"time with unlimited cores)\nsummed job time: {cp.summed_s:.1f} s ({cp.summed_s / 60:.1f} min); "
          f"path / sum = {cp.ratio:.3f}", file=out)
    if cp.missing:
        print(f"{len(cp.missing)} job(s) without a benchmark file, counted as 0 s: {', '.join(cp.missing)}", file=out)
    if unbenchmarked:
        print(f"no benchmark: directive (0 s): {', '.join(unbenchmarked)}", file=out)


# --------------------------------------------------------------------------- growth with the data
def growth(summaries: list[pd.DataFrame], scales: list[float]) -> pd.DataFrame:
    """Per rule, the summed wall time of each run (one `summarise` table per run, at scale factors
    `scales`, e.g. 1, 2, 4 times the training images) and the exponent b of wall ∝ scale^b (least
    squares in log-log over the runs where the rule took time; 1 = linear, 0 = flat). A last row
    `total` sums the rules present in every run."""
    if len(summaries) != len(scales):
        raise UapError(f"{len(summaries)} run(s) but {len(scales)} scale factor(s)")
    if len(set(scales)) != len(scales) or any(s <= 0 for s in scales):
        raise UapError(f"scale factors must be distinct and positive, got {scales}")
    order = sorted(range(len(scales)), key=lambda i: scales[i])
    cols = [f"{scales[i]:g}x" for i in order]
    t = pd.DataFrame({c: summaries[i]["wall_s"] for c, i in zip(cols, order)})
    t.loc["total (rules in every run)"] = t.dropna().sum()
    xs = [math.log(scales[i]) for i in order]

    def slope(row) -> float:
        pts = [(x, math.log(v)) for x, v in zip(xs, row) if pd.notna(v) and v > 0]
        if len(pts) < 2:
            return float("nan")
        mx, my = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
        return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
    t["exponent"] = [slope(r) for r in t[cols].itertuples(index=False)]
    t.index.name = "rule"
    body = t.drop(index="total (rules in every run)").sort_values(cols[-1], ascending=False, na_position="last")
    return pd.concat([body, t.loc[["total (rules in every run)"]]]).round({**{c: 1 for c in cols}, "exponent": 2})


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (index first; blanks for missing values), without extra dependencies."""
    t = table.reset_index()
    cell = lambda v: "" if pd.isna(v) else (f"{v:g}" if isinstance(v, float) else str(v))  # noqa: E731
    lines = ["| " + " | ".join(map(str, t.columns)) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join(lines)


def _workdir(given: str | None) -> Path:
    """--workdir, else the nearest folder holding a Snakefile, from the current one upwards."""
    if given:
        return Path(given)
    for d in (Path.cwd(), *Path.cwd().parents):
        if (d / "Snakefile").is_file():
            return d
    raise UapError("no Snakefile in this folder or above; pass --workdir (the repository root)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m uap.benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", nargs="+", help="results/<run> (several with --growth)")
    p.add_argument("--compare", metavar="OLDER_RUN_DIR", help="an older run's results/<run>: before/after per rule")
    p.add_argument("--critical-path", action="store_true",
                   help="the longest chain of dependent jobs (from `snakemake -n --forceall`) with their wall times")
    p.add_argument("--configfile", help="with --critical-path: the run's profile (default: the config.yaml or "
                                        "config/*.yaml whose `run:` is the run folder's name)")
    p.add_argument("--workdir", help="with --critical-path: the repository root (default: the nearest folder "
                                     "with a Snakefile, from here upwards)")
    p.add_argument("--dag", metavar="DRYRUN_TXT", help="with --critical-path: a saved `snakemake -n --forceall` "
                                                       "output instead of running it")
    p.add_argument("--growth", metavar="SCALES", help="comma-separated scale factors, one per run_dir (e.g. 1,2,4): "
                                                      "summed wall time per rule against the scale, and its exponent")
    p.add_argument("--csv", help="also write the table here")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    a = p.parse_args(argv)
    if len(a.run_dir) > 1 and not a.growth:
        p.error("several run folders need --growth")
    if sum(map(bool, (a.compare, a.critical_path, a.growth))) > 1:
        p.error("--compare, --critical-path and --growth are exclusive")
    from .artifacts import write_csv
    cp = None
    try:
        if a.critical_path:
            run_dir = Path(a.run_dir[0])
            if a.dag:
                text = Path(a.dag).read_text()
            else:
                wd = _workdir(a.workdir)
                cfg = Path(a.configfile) if a.configfile else find_configfile(wd, run_dir.resolve().name)
                text = snakemake_dryrun(wd, cfg)
            cp, table, unbenchmarked = run_critical_path(run_dir, text)
        elif a.growth:
            try:
                scales = [float(v) for v in a.growth.split(",")]
            except ValueError:
                raise UapError(f"--growth takes numbers separated by commas, got {a.growth!r}") from None
            table = growth([summarise(collect(d)) for d in a.run_dir], scales)
        else:
            table = summarise(collect(a.run_dir[0]))
            if a.compare:
                table = compare(summarise(collect(a.compare)), table)
        if a.csv:       # written atomically (temporary file, fsync, rename)
            write_csv(a.csv, table if cp is not None else table.reset_index())
    except (UapError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if cp is not None:
        print_critical_path(cp, table, unbenchmarked, md=a.markdown)
        return 0
    print(markdown(table) if a.markdown else table.to_string())
    if not a.compare and not a.growth:
        print(f"\n{int(table['jobs'].sum())} jobs; summed wall time {table['wall_s'].sum() / 60:.1f} min, "
              f"summed CPU time {table['cpu_s'].sum() / 60:.1f} min, peak memory {table['peak_rss_mb'].max():.0f} MB")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
