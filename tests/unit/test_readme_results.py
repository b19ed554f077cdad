"""The generated blocks of README.md and docs/ come from a claims table and a run's benchmark files:
content, idempotence, where each block is written, errors."""
from __future__ import annotations

import json

import pytest

from uap.claims import as_table, row
from uap.errors import UapError
from uap.readme import (BEGIN, COST_BEGIN, COST_END, END, GLANCE_BEGIN, GLANCE_END, MODELS_BEGIN, MODELS_END,
                        glance_markdown, replace_block, results_markdown)



def _claims():
    return as_table([
        row("S1", "per-example transfer better", paper="Fig. 6", ours="0.41 vs 0.38", criterion="gap >= 0.05",
            ok=False, n=1000, ci=(-0.01, 0.07)),
        row("S1", "Table 7 robust", paper="Table 7", ours="43.6 %", criterion=">= 20", ok=True, kind="sanity"),
        row("S4", "SV-UAP | from 64 images", paper="Sec. 6.4", ours="not run", criterion="-", ok=None)])


def test_markdown_holds_every_row_its_interval_and_counts():
    md = results_markdown(_claims(), "results/x/tables/claims.csv")
    assert "**finding** rows: 2 — 0 reproduced, 1 contradicted, 0 inconclusive, 0 not judged, 1 not measured" in md
    assert "**sanity** rows: 1 — 1 reproduced" in md
    assert "[-0.010, 0.070]" in md and "| 1000 |" in md
    assert "SV-UAP \\| from 64 images" in md                    # a pipe in a cell is escaped
    assert md.index("**S1**") < md.index("**S4**")


def test_block_replacement_is_idempotent_and_leaves_the_rest(tmp_path):
    text = f"# title\n\nbefore\n{BEGIN}\nold numbers 12.3 %\n{END}\nafter\n"
    block = results_markdown(_claims(), "t.csv")
    once = replace_block(text, block)
    assert "old numbers" not in once and once.startswith("# title\n\nbefore\n") and once.endswith(f"{END}\nafter\n")
    assert replace_block(once, block) == once
    with pytest.raises(UapError, match="README"):
        replace_block("no markers here", block)


def _tree(tmp_path, performance: str = "") -> tuple:
    readme, docs = tmp_path / "README.md", tmp_path / "docs"
    docs.mkdir()
    readme.write_text(f"x\n{GLANCE_BEGIN}\nold glance\n{GLANCE_END}\ny\n")
    (docs / "claims.md").write_text(f"# claims\n{BEGIN}\nold table\n{END}\nend\n")
    (docs / "performance.md").write_text(performance or f"# perf\n{COST_BEGIN}\n{COST_END}\n{MODELS_BEGIN}\n{MODELS_END}\n")
    return readme, docs


def test_the_glance_block_counts_every_row_per_system_and_kind():
    md = glance_markdown(_claims(), "t.csv")
    assert "| system | kind | reproduced | contradicted | inconclusive | not judged | not measured |" in md
    assert "| S1 | finding | 0 | 1 | 0 | 0 | 0 |" in md and "| S1 | sanity | 1 | 0 | 0 | 0 | 0 |" in md
    assert "| S4 | finding | 0 | 0 | 0 | 0 | 1 |" in md
    assert "| **all** | **finding** | 0 | 1 | 0 | 0 | 1 |" in md
    old = _claims().assign(verdict=["not reproduced", "reproduced", "not measured"])     # an older table's names
    md = glance_markdown(old, "old.csv")
    assert "older verdict names (not reproduced)" in md and "| S1 | finding | 0 | 0 | 0 | 0 | 0 | 1 |" in md


def test_the_cli_writes_each_block_where_it_lives_and_names_a_missing_table(tmp_path):
    from uap.cli import main
    claims = tmp_path / "claims.csv"
    _claims().to_csv(claims, index=False)
    readme, docs = _tree(tmp_path)
    perf = (docs / "performance.md").read_text()
    args = ["readme-results", "--claims", str(claims), "--readme", str(readme), "--docs", str(docs)]
    assert main(args) == 0
    text, table = readme.read_text(), (docs / "claims.md").read_text()
    assert "old glance" not in text and "| S1 | finding | 0 | 1 |" in text and text.endswith(f"{GLANCE_END}\ny\n")
    assert "per-example transfer better" not in text                       # the rows are in docs/claims.md
    assert "old table" not in table and "per-example transfer better" in table and table.endswith(f"{END}\nend\n")
    assert (docs / "performance.md").read_text() == perf                   # without --benchmarks: untouched
    assert main(args) == 0 and readme.read_text() == text and (docs / "claims.md").read_text() == table
    assert main(["readme-results", "--claims", str(tmp_path / "missing.csv"), "--readme", str(readme),
                 "--docs", str(docs)]) == 2


def test_a_missing_marker_changes_no_file(tmp_path, capsys):
    from uap.cli import main
    claims = tmp_path / "claims.csv"
    _claims().to_csv(claims, index=False)
    readme, docs = _tree(tmp_path)
    (docs / "claims.md").write_text("# claims without markers\n")
    before = readme.read_text()
    assert main(["readme-results", "--claims", str(claims), "--readme", str(readme), "--docs", str(docs)]) == 2
    assert readme.read_text() == before and "claims.md" in capsys.readouterr().err
    with pytest.raises(UapError, match="more than once"):
        replace_block(f"{BEGIN}\n{END}\n{BEGIN}\n{END}\n", "x")


def test_the_cost_block_is_regenerated_from_benchmark_files(tmp_path):
    from uap.cli import main
    claims = tmp_path / "claims.csv"
    _claims().to_csv(claims, index=False)
    run = tmp_path / "run"
    (run / "benchmarks" / "train_model").mkdir(parents=True)
    (run / "benchmarks" / "train_model" / "natural.tsv").write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "12.5\t0:00:12\t321.0\t1\t1\t1\t0\t0\t50\t20.0\n")
    (run / "models").mkdir()
    (run / "models" / "natural.json").write_text(json.dumps({
        "name": "natural", "model": {"arch": "resnet18", "width": 16}, "config": {"train": {"epochs": 5}},
        "metrics": {"test_acc": 0.9123, "train_size": 60000, "test_images": 10000, "train_seconds": 300.0}}))
    readme, docs = _tree(tmp_path, f"x\n{COST_BEGIN}\nold numbers\n{COST_END}\nmiddle\n"
                                   f"{MODELS_BEGIN}\nold models\n{MODELS_END}\n")
    args = ["readme-results", "--claims", str(claims), "--readme", str(readme), "--docs", str(docs)]
    assert main(args + ["--benchmarks", str(run)]) == 0
    text = (docs / "performance.md").read_text()
    assert "old numbers" not in text and "| train_model | 1 | 12.5 |" in text and "middle" in text
    assert "peak memory of a job 321 MB" in text
    assert "old models" not in text and "| natural | resnet18 | 16 | 60000 | 5 |  | 91.2 % | 10000 | 300.0 |" in text
    assert main(args + ["--benchmarks", str(tmp_path / "none")]) == 2
    assert (docs / "performance.md").read_text() == text                   # nothing written on a failure
