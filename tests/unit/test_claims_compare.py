"""`python -m uap claims-compare`: agreement, disagreement within intervals, and a flip (exit 1)."""
from __future__ import annotations

import pandas as pd
import pytest

from uap.claims import as_table, judge, row
from uap.claims_compare import compare_tables
from uap.cli import main


def _table(value: float, ci: tuple[float, float], other: float = 0.5) -> pd.DataFrame:
    return as_table([
        row("S1", "Table 3", paper="p", ours="o", criterion="c", ok=judge(ci, ">=", 10.0), ci=ci, value=value, op=">=",
            threshold=10.0, seeds=3),
        row("S4", "transfer", paper="p", ours="o", criterion="c", ok=judge((other - 0.1, other + 0.1), ">=", 0.05),
            ci=(other - 0.1, other + 0.1), value=other, op=">=", threshold=0.05),
        row("S2", "sanity", paper="p", ours="o", criterion="c", ok=True, kind="sanity")])


def _write(tmp_path, name, df):
    p = tmp_path / f"{name}.csv"
    df.to_csv(p, index=False)
    return str(p)


def test_identical_tables_agree_and_exit_0(tmp_path, capsys):
    a = _write(tmp_path, "a", _table(30.0, (20.0, 40.0)))
    assert main(["claims-compare", a, a, "--out", str(tmp_path / "cmp.csv")]) == 0
    res = pd.read_csv(tmp_path / "cmp.csv")
    assert res.agree.all() and not res.flip.any()
    assert "3 rows in both tables: 3 with the same verdict, 3 agree" in capsys.readouterr().out


def test_a_value_outside_the_other_interval_disagrees_without_a_flip(tmp_path):
    a = _table(30.0, (25.0, 35.0))
    b = _table(12.0, (5.0, 19.0))                 # inconclusive vs reproduced: not a flip, but 30 ∉ [5, 19]
    res = compare_tables(a, b).set_index("claim")
    assert res.loc["Table 3", "verdict_a"] == "reproduced" and res.loc["Table 3", "verdict_b"] == "inconclusive"
    assert not res.loc["Table 3", "flip"] and not res.loc["Table 3", "agree"]
    assert res.loc["Table 3", "values_inside"] == False            # noqa: E712  (pd.NA-aware column)
    assert res.loc["transfer", "agree"]


def test_a_flip_exits_1_and_names_the_row(tmp_path, capsys):
    a = _write(tmp_path, "a", _table(30.0, (25.0, 35.0)))
    b = _write(tmp_path, "b", _table(3.0, (1.0, 5.0)))           # contradicted
    assert main(["claims-compare", a, b]) == 1
    out = capsys.readouterr().out
    assert "FLIP: S1 — Table 3: reproduced in" in out and "1 flip" in out


def test_rows_only_in_one_table_are_listed_not_flipped(tmp_path):
    a = _table(30.0, (25.0, 35.0))
    res = compare_tables(a, a.iloc[:2])
    assert list(res[res.claim == "sanity"].verdict_b) == ["absent"] and not res.flip.any()


@pytest.mark.parametrize("content, message", [(None, "no such claims table"), ("x,y\n1,2\n", "not a claims table")])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, content, message):
    good = _write(tmp_path, "a", _table(30.0, (25.0, 35.0)))
    bad = tmp_path / "bad.csv"
    if content is not None:
        bad.write_text(content)
    assert main(["claims-compare", good, str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_forest_axis_puts_the_paper_side_right_for_both_directions():
    from uap.claims_forest import normalised
    up = {"direction": ">=", "threshold": 10.0, "value": 20.0, "ci_low": 15.0, "ci_high": 30.0}
    down = {"direction": "<=", "threshold": 0.1, "value": 0.0, "ci_low": -0.05, "ci_high": 0.05}
    assert normalised(up, 20.0) == (0.5, 0.25, 1.0)
    v, lo, hi = normalised(down, 0.15)
    assert v == pytest.approx(2 / 3) and lo == pytest.approx(1 / 3) and hi == pytest.approx(1.0)   # below 0.1 → right


def test_compare_draws_both_runs(tmp_path):
    a = _write(tmp_path, "a", _table(30.0, (25.0, 35.0)))
    b = _write(tmp_path, "b", _table(28.0, (20.0, 36.0)))
    assert main(["claims-compare", a, b, "--plot", str(tmp_path / "forest.png")]) == 0
    assert (tmp_path / "forest.png").read_bytes()[:4] == b"\x89PNG"


def test_three_tables_give_a_verdict_matrix(tmp_path, capsys):
    a = _write(tmp_path, "a", _table(30.0, (25.0, 35.0)))
    b = _write(tmp_path, "b", _table(28.0, (20.0, 36.0)))
    c = _write(tmp_path, "c", _table(12.0, (5.0, 19.0)))
    assert main(["claims-compare", a, b, c, "--out", str(tmp_path / "m.csv")]) == 0
    m = pd.read_csv(tmp_path / "m.csv").set_index("claim")
    assert list(m.loc["Table 3", [a, b, c]]) == ["reproduced", "reproduced", "inconclusive"]
    assert m.loc["Table 3", "pairs_outside"] == "2/3" and not m.flip.any()     # c's 12 lies outside a's and b's
    d = _write(tmp_path, "d", _table(3.0, (1.0, 5.0)))
    assert main(["claims-compare", a, b, d]) == 1 and "FLIP: S1 — Table 3" in capsys.readouterr().out
