"""README's results block is generated from a claims table: content, idempotence, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from uap.claims import as_table, row
from uap.errors import UapError
from uap.readme import BEGIN, COST_BEGIN, COST_END, END, MODELS_BEGIN, MODELS_END, replace_block, results_markdown

REPO = Path(__file__).resolve().parents[2]


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


def test_the_cli_rewrites_a_readme_and_names_a_missing_table(tmp_path):
    from uap.cli import main
    claims = tmp_path / "claims.csv"
    _claims().to_csv(claims, index=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{BEGIN}\n{END}\n")
    cfg = str(REPO / "config" / "smoke.yaml")
    assert main(["readme-results", "--config", cfg, "--claims", str(claims), "--readme", str(readme)]) == 0
    assert "per-example transfer better" in readme.read_text()
    assert main(["readme-results", "--config", cfg, "--claims", str(tmp_path / "missing.csv"),
                 "--readme", str(readme)]) == 2


def test_the_repository_readme_has_the_generated_block():
    text = (REPO / "README.md").read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1 and text.index(BEGIN) < text.index(END)


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
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{BEGIN}\n{END}\nmiddle\n{COST_BEGIN}\nold numbers\n{COST_END}\n"
                      f"{MODELS_BEGIN}\nold models\n{MODELS_END}\n")
    cfg = str(REPO / "config" / "smoke.yaml")
    assert main(["readme-results", "--config", cfg, "--claims", str(claims), "--readme", str(readme),
                 "--benchmarks", str(run)]) == 0
    text = readme.read_text()
    assert "old numbers" not in text and "| train_model | 1 | 12.5 |" in text and "middle" in text
    assert "peak memory of a job 321 MB" in text
    assert "old models" not in text and "| natural | resnet18 | 16 | 60000 | 5 |  | 91.2 % | 10000 | 300.0 |" in text
    assert main(["readme-results", "--config", cfg, "--claims", str(claims), "--readme", str(readme),
                 "--benchmarks", str(tmp_path / "none")]) == 2
