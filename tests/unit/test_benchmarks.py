import pytest

from uap.benchmarks import collect, main, summarise

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _write(path, wall, cpu):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t100.0\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_sums_per_rule_over_wildcard_jobs(tmp_path):
    _write(tmp_path / "benchmarks" / "train_model" / "natural.tsv", 10.0, 15.0)
    _write(tmp_path / "benchmarks" / "train_model" / "vgg.tsv", 30.0, 40.0)
    _write(tmp_path / "benchmarks" / "claims_table.tsv", 2.0, 1.0)
    jobs = collect(tmp_path)
    assert set(jobs["job"]) == {"natural", "vgg", "claims_table"}
    t = summarise(jobs)
    assert list(t.index) == ["train_model", "claims_table"]          # sorted by summed wall time
    assert t.loc["train_model", "jobs"] == 2
    assert t.loc["train_model", "wall_s"] == pytest.approx(40.0)
    assert t.loc["train_model", "max_job_wall_s"] == pytest.approx(30.0)
    assert t.loc["train_model", "cpu_s"] == pytest.approx(55.0)


def test_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert "no benchmarks folder" in capsys.readouterr().err


def test_compare_reports_speedup_and_peak_memory(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    _write(old / "benchmarks" / "train_model" / "natural.tsv", 30.0, 30.0)
    _write(old / "benchmarks" / "only_before.tsv", 5.0, 5.0)
    _write(new / "benchmarks" / "train_model" / "natural.tsv", 10.0, 10.0)
    _write(new / "benchmarks" / "only_after.tsv", 1.0, 1.0)
    assert main([str(new), "--compare", str(old), "--csv", str(tmp_path / "cmp.csv")]) == 0
    import pandas as pd
    t = pd.read_csv(tmp_path / "cmp.csv").set_index("rule")
    assert t.loc["train_model", "speedup"] == pytest.approx(3.0)
    assert t.loc["train_model", "peak_rss_mb"] == pytest.approx(100.0)
    assert (t.loc["train_model", "cpu_before_s"], t.loc["train_model", "cpu_after_s"]) == (30.0, 10.0)
    assert pd.isna(t.loc["only_before", "after_s"]) and pd.isna(t.loc["only_after", "before_s"])
    assert t.loc["total (rules in both)", "before_s"] == pytest.approx(30.0)   # rules in one run only are left out
    assert main([str(new), "--compare", str(tmp_path / "nope")]) == 2
    assert "no benchmarks folder" in capsys.readouterr().err


def test_markdown_table(tmp_path, capsys):
    _write(tmp_path / "benchmarks" / "train_model" / "natural.tsv", 10.0, 15.0)
    assert main([str(tmp_path), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| rule | jobs | wall_s |" in out and "| train_model | 1 | 10 |" in out


# --------------------------------------------------------------------------- critical path
from pathlib import Path  # noqa: E402

from uap.benchmarks import critical_path, dependencies, growth, parse_dryrun  # noqa: E402
from uap.errors import UapError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_critical_path_of_a_hand_made_dag_with_a_tie_and_a_missing_job():
    #   a(1) -> b(5) -> d(2) -> e(missing)        f(3) alone
    #   a(1) -> c(5) -> d
    deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": ["d"], "f": []}
    cp = critical_path(deps, {"a": 1.0, "b": 5.0, "c": 5.0, "d": 2.0, "f": 3.0})
    assert [j for j, _, _ in cp.path] == ["a", "b", "d", "e"]      # the tie b/c goes to the name that sorts first
    assert [f for _, _, f in cp.path] == [1.0, 6.0, 8.0, 8.0]
    assert cp.total_s == 8.0 and cp.summed_s == 16.0 and cp.ratio == pytest.approx(0.5)
    assert cp.missing == ["e"]                                       # counted 0 and listed
    # the same answer whatever the dict order
    rev = critical_path(dict(reversed(list(deps.items()))), {"f": 3.0, "d": 2.0, "c": 5.0, "b": 5.0, "a": 1.0})
    assert rev.path == cp.path


def test_critical_path_ends_tie_and_undeclared_dependencies_and_cycles():
    cp = critical_path({"y": ["x"], "z": []}, {"x": 2.0, "y": 1.0, "z": 3.0})   # x only appears as a dependency
    assert [j for j, _, _ in cp.path] == ["x", "y"] and cp.total_s == 3.0      # x→y (3 s) ties z (3 s): x sorts first
    assert cp.summed_s == 6.0 and cp.missing == []
    long = critical_path({"y": ["x"], "z": []}, {"x": 2.0, "y": 1.0, "z": 4.0})
    assert [j for j, _, _ in long.path] == ["z"]
    assert critical_path({}, {}).total_s == 0.0
    with pytest.raises(UapError, match="cycle"):
        critical_path({"a": ["b"], "b": ["a"], "c": []}, {})


DRYRUN = """Building DAG of jobs...
Job stats:
job      count
total        4

[Thu Dec  3 19:44:36 2026]
localrule prepare_data:
    output: results/r/data/train.safetensors, results/r/data/test.safetensors
    log: results/r/logs/prepare_data.log
    jobid: 4
    benchmark: results/r/benchmarks/prepare_data.tsv
    reason: Forced execution
    resources: tmpdir=/tmp
[Thu Dec  3 19:44:36 2026]
rule train_model:
    input: results/r/data/train.safetensors, results/r/data/test.safetensors
    output: results/r/models/natural.safetensors, results/r/models/natural.json
    jobid: 3
    benchmark: results/r/benchmarks/train_model/natural.tsv
    reason: Forced execution
    wildcards: model=natural
    resources: tmpdir=/tmp, gpu_job=1
[Thu Dec  3 19:44:36 2026]
rule train_model:
    input: results/r/data/train.safetensors
    output: results/r/models/vgg.safetensors
    jobid: 5
    benchmark: results/r/benchmarks/train_model/vgg.tsv
    wildcards: model=vgg
[Thu Dec  3 19:44:36 2026]
rule construct:
    input: results/r/models/natural.safetensors, results/r/outdir/part.csv
    output: results/r/constructed/d.safetensors
    jobid: 6
    benchmark: results/r/benchmarks/construct/l2_natural.tsv
    wildcards: norm=l2, chain=natural
[Thu Dec  3 19:44:36 2026]
rule make_dir:
    input: results/r/models/vgg.safetensors
    output: results/r/outdir
    jobid: 7
[Thu Dec  3 19:44:36 2026]
localrule all:
    input: results/r/constructed/d.safetensors, results/r/models/vgg.json
    jobid: 0
    reason: Forced execution
    resources: tmpdir=/tmp
Job stats:
job      count
total        6
"""


def test_parse_dryrun_and_dependencies_from_files():
    jobs = {j.jobid: j for j in parse_dryrun(DRYRUN)}
    assert sorted(jobs) == ["0", "3", "4", "5", "6", "7"]
    assert jobs["4"].rule == "prepare_data" and jobs["4"].benchmark == "results/r/benchmarks/prepare_data.tsv"
    assert jobs["6"].wildcards == "norm=l2, chain=natural" and jobs["0"].benchmark is None
    deps = dependencies(list(jobs.values()))
    assert deps == {"4": set(), "3": {"4"}, "5": {"4"}, "6": {"3", "7"}, "7": {"5"}, "0": {"6"}}  # 7: a directory output
    with pytest.raises(UapError, match="no job"):
        parse_dryrun("Building DAG of jobs...\nNothing to be done.\n")


def test_critical_path_cli_on_a_saved_dry_run(tmp_path, capsys):
    run = tmp_path / "r"
    _write(run / "benchmarks" / "prepare_data.tsv", 2.0, 2.0)
    _write(run / "benchmarks" / "train_model" / "natural.tsv", 10.0, 10.0)
    _write(run / "benchmarks" / "train_model" / "vgg.tsv", 30.0, 30.0)
    _write(run / "benchmarks" / "construct" / "l2_natural.tsv", 5.0, 5.0)
    (tmp_path / "dag.txt").write_text(DRYRUN)
    out_csv = tmp_path / "cp.csv"
    assert main([str(run), "--critical-path", "--dag", str(tmp_path / "dag.txt"), "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    # prepare 2 -> vgg 30 -> make_dir (no benchmark directive) -> construct 5 -> all: 37 s of 47 s summed
    import pandas as pd
    t = pd.read_csv(out_csv)
    assert list(t["job"]) == ["prepare_data", "train_model/vgg", "make_dir", "construct/l2_natural", "all"]
    assert list(t["benchmark"]) == ["ok", "ok", "none", "ok", "none"]
    assert t["finish_s"].iloc[-1] == pytest.approx(37.0)
    assert "37.0 s" in out and "summed job time: 47.0 s" in out and "path / sum = 0.787" in out
    assert "no benchmark: directive (0 s): all, make_dir" in out
    (run / "benchmarks" / "train_model" / "vgg.tsv").unlink()                 # now missing: 0 s, listed
    assert main([str(run), "--critical-path", "--dag", str(tmp_path / "dag.txt")]) == 0
    out = capsys.readouterr().out
    assert "1 job(s) without a benchmark file, counted as 0 s: train_model/vgg" in out
    assert "17.0 s" in out                                                  # prepare -> natural -> construct


def test_critical_path_cli_builds_the_smoke_dag_with_snakemake(tmp_path, capsys):
    """`snakemake -n --forceall` on the smoke profile (found by the run folder's name; nothing runs) and
    fake benchmark files in a copy of the run folder: a train_model job made the longest."""
    run = tmp_path / "smoke"
    _write(run / "benchmarks" / "prepare_data.tsv", 1.0, 1.0)
    _write(run / "benchmarks" / "train_model" / "vgg.tsv", 1000.0, 1.0)
    _write(run / "benchmarks" / "train_model" / "natural.tsv", 10.0, 1.0)
    assert main([str(run), "--critical-path", "--workdir", str(ROOT), "--csv", str(tmp_path / "cp.csv")]) == 0
    import pandas as pd
    t = pd.read_csv(tmp_path / "cp.csv")
    assert list(t["job"][:2]) == ["prepare_data", "train_model/vgg"] and t["job"].iloc[-1] == "all"
    assert t["finish_s"].iloc[-1] == pytest.approx(1001.0)
    out = capsys.readouterr().out
    assert "summed job time: 1011.0 s" in out and "without a benchmark file" in out
    assert main([str(tmp_path / "nosuchprofile"), "--critical-path", "--workdir", str(ROOT)]) == 2
    assert "run: nosuchprofile" in capsys.readouterr().err


# --------------------------------------------------------------------------- growth
def test_growth_tabulates_time_per_rule_against_the_scale(tmp_path, capsys):
    for scale, (train, table) in {1: (10.0, 2.0), 2: (20.0, 2.0), 4: (40.0, 2.0)}.items():
        _write(tmp_path / f"x{scale}" / "benchmarks" / "train_on_constructed" / "a.tsv", train, train)
        _write(tmp_path / f"x{scale}" / "benchmarks" / "claims_table.tsv", table, table)
    _write(tmp_path / "x4" / "benchmarks" / "only_at_4.tsv", 1.0, 1.0)
    runs = [str(tmp_path / f"x{s}") for s in (4, 1, 2)]                     # any order: sorted by scale
    assert main([*runs, "--growth", "4,1,2", "--csv", str(tmp_path / "g.csv")]) == 0
    import pandas as pd
    t = pd.read_csv(tmp_path / "g.csv").set_index("rule")
    assert list(t.columns) == ["1x", "2x", "4x", "exponent"]
    assert t.loc["train_on_constructed", "exponent"] == pytest.approx(1.0)   # linear in the data
    assert t.loc["claims_table", "exponent"] == pytest.approx(0.0)           # flat
    assert pd.isna(t.loc["only_at_4", "1x"]) and pd.isna(t.loc["only_at_4", "exponent"])
    assert t.loc["total (rules in every run)", "4x"] == pytest.approx(42.0)
    assert list(t.index)[-1] == "total (rules in every run)"
    with pytest.raises(UapError, match="scale factor"):
        growth([pd.DataFrame({"wall_s": [1.0]})], [1.0, 2.0])
    assert main([runs[0], runs[1], "--growth", "1,x"]) == 2
    assert "--growth takes numbers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([runs[0], runs[1]])                                             # several runs need --growth
