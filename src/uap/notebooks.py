"""What `python -m uap notebook` writes must not depend on where the clone lives nor when it ran: the
figure notebooks get paths relative to the repository root, and the executed notebook drops papermill's
and nbclient's timings and temporary paths (the HTML is rendered from it, code cells hidden)."""
from __future__ import annotations

from pathlib import Path

# papermill's and nbclient's per-run records: wall-clock times and durations
_RUN_KEYS = ("start_time", "end_time", "duration")


def portable_path(path) -> str:
    """`path` relative to the current folder when it lies under it (the repository root under Snakemake),
    else absolute: what a notebook's parameters show."""
    p, cwd = Path(path).resolve(), Path.cwd().resolve()
    return p.relative_to(cwd).as_posix() if p.is_relative_to(cwd) else str(p)


def scrub_notebook(nb, notebook: str, out: str, stage: str, fig_dir: str) -> None:
    """In place: drop what differs between two renders of the same inputs (timestamps, durations, the
    temporary output path, the random id of papermill's parameters cell) and show the figures' final folder `fig_dir`, not the staging folder `stage`
    they were written to before publishing."""
    pm_meta = nb.metadata.get("papermill", {})
    for k in _RUN_KEYS:
        pm_meta.pop(k, None)
    pm_meta["input_path"], pm_meta["output_path"] = str(notebook), str(out)
    if pm_meta.get("parameters", {}).get("fig_dir") == stage:
        pm_meta["parameters"]["fig_dir"] = fig_dir
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for k in _RUN_KEYS:
            cell.metadata.get("papermill", {}).pop(k, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            if "id" in cell:
                cell.id = "injected-parameters"          # papermill gives the cell it adds a random id
            cell.source = cell.source.replace(f'"{stage}"', f'"{fig_dir}"').replace(repr(stage), repr(fig_dir))
