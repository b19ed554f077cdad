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
