"""Fixtures that run the real pipeline: a copy of this checkout in a temp dir, the smoke profile
as its config.yaml, and the snakemake / dvc CLIs of the venv."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def pipeline_env(slurm: bool = False) -> dict[str, str]:
    """The environment of a pipeline run: the venv's CLIs first, no progress bars and, unless the run
    uses SLURM, SLURM_CONF=/dev/null. At every start, Snakemake's SLURM executor plugin runs `scontrol
    show config`, which waits 9-10 s where SLURM is installed but no controller answers (this machine
    after the SLURM tests); an empty config makes it fail at once. Nothing in a local run uses SLURM."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "UAP_NO_PROGRESS": "1"}
    return env if slurm else {**env, "SLURM_CONF": os.devnull}


def run(cmd: list[str] | str, cwd: Path, check: bool = True, timeout: int = 900,
        slurm: bool = False) -> subprocess.CompletedProcess:
    env = {**pipeline_env(slurm), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    shell = isinstance(cmd, str)
    res = subprocess.run(cmd, cwd=cwd, env=env, shell=shell, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"command failed ({res.returncode}): {cmd}\n--- stdout\n{res.stdout[-4000:]}\n"
                             f"--- stderr\n{res.stderr[-6000:]}")
    return res


def copy_checkout(dest: Path) -> Path:
    """Copy the tracked + untracked-but-not-ignored files of this checkout (what a clone would have)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = REPO / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)
    return dest


def make_project(dest: Path) -> Path:
    copy_checkout(dest)
    shutil.copy(dest / "config" / "smoke.yaml", dest / "config.yaml")   # the smoke profile is the default here
    run("git init -q && git add -A && git commit -qm smoke", cwd=dest)
    return dest


@pytest.fixture(scope="session")
def smoke_project(tmp_path_factory) -> Path:
    """A fresh copy with the whole smoke DAG run once through the snakemake CLI."""
    proj = make_project(tmp_path_factory.mktemp("smoke") / "proj")
    res = run(["snakemake", "--cores", "2"], cwd=proj, timeout=1200)
    (proj / "first_run.log").write_text(res.stdout + res.stderr)
    return proj
