"""A small summary of the finished claims table, for DVC's `metrics` (`dvc metrics show/diff`).

It reads only the CSV the claims rule wrote, never the rows' construction, so it keeps working when
claim rows or columns change: counts per verdict, and per kind / per system and verdict where those
columns exist."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def claims_summary(table: str | Path) -> dict:
    df = pd.read_csv(table)
    out: dict = {"claims": int(len(df))}
    if "verdict" in df.columns:
        out["verdicts"] = {str(k): int(v) for k, v in df["verdict"].value_counts().sort_index().items()}
        if "kind" in df.columns:
            out["by_kind"] = {str(s): {str(k): int(v) for k, v in g["verdict"].value_counts().sort_index().items()}
                              for s, g in df.groupby("kind", sort=True)}
        if "system" in df.columns:
            out["by_system"] = {str(s): {str(k): int(v) for k, v in g["verdict"].value_counts().sort_index().items()}
                                for s, g in df.groupby("system", sort=True)}
    return out
