"""Compute rules through a real one-node SLURM cluster (workflow/scripts/local_slurm.sh)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ..workflow.conftest import REPO, make_project
from ..workflow.conftest import run as _run

pytestmark = pytest.mark.slurm
PROFILE = "workflow/profiles/slurm"


def run(*args, **kw) -> subprocess.CompletedProcess:
    """conftest.run with the real SLURM configuration (local runs get SLURM_CONF=/dev/null)."""
    return _run(*args, slurm=True, **kw)


def _have_slurm() -> bool:
    return all(shutil.which(t) for t in ("sbatch", "slurmctld", "slurmd", "munged"))


@pytest.fixture(scope="module")
def cluster():
    if not _have_slurm():
        if os.environ.get("CI"):
            pytest.fail("SLURM is not installed: `make test` (workflow/scripts/setup.sh --with-slurm) installs it")
        pytest.skip("slurm-wlm/munge not installed (run: bash workflow/scripts/setup.sh --with-slurm)")
    if os.geteuid() != 0 and not shutil.which("sudo"):
        pytest.skip("starting a local SLURM needs root or sudo")
    subprocess.run(["bash", str(REPO / "workflow/scripts/local_slurm.sh"), "start"], check=True, timeout=300)
    yield
    subprocess.run(["bash", str(REPO / "workflow/scripts/local_slurm.sh"), "stop"], timeout=120)


def test_profile_asks_gpus_for_compute_rules_and_keeps_light_rules_local():
    res = run(["snakemake", "-n", "--forceall", "--workflow-profile", PROFILE, "--configfile", "config/smoke.yaml"],
              cwd=REPO, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    resources = {}
    rule = None
    for line in out.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and rule:
            resources[rule] = line
    heavy = [rule for rule, line in resources.items() if "gpu_job=1" in line]   # the rules marked compute-heavy
    assert {"train_model", "pgd_attack", "universal_attack", "construct_datasets", "train_on_constructed",
            "sv_layers", "upi_attack", "locality", "interp_train", "s3_juap"} <= set(heavy)
    for rule in heavy:
        assert "gpu=1" in resources[rule], rule
    assert "runtime=720" in resources["train_model"]
    for light in ("prepare_data", "generalization_table", "claims_table"):
        assert "gpu=1" not in resources[light], light


def test_rules_run_through_sbatch(cluster, tmp_path):
    proj = make_project(tmp_path / "proj")
    target = "results/smoke/attacks/pgd_l2.csv"
    # the local node has no GPU gres: the same profile, with the GPU request switched off
    res = run(["snakemake", "--workflow-profile", PROFILE, "--slurm-status-command", "squeue",
               "--set-resources", "train_model:gpu=0", "pgd_attack:gpu=0",
               "train_model:mem_mb=4000", "pgd_attack:mem_mb=4000",
               "train_model:cpus_per_task=2", "pgd_attack:cpus_per_task=2",
               "--set-threads", "train_model=2", "pgd_attack=2", "--jobs", "2", target],
              cwd=proj, timeout=900)
    out = res.stdout + res.stderr
    assert "Job " in out and "has been submitted with SLURM jobid" in out
    assert (proj / target).is_file()
    slurm_logs = list((proj / "logs" / "slurm").rglob("*.log"))
    names = " ".join(str(p) for p in slurm_logs)
    assert "train_model" in names and "pgd_attack" in names, names
    assert "prepare_data" not in names and "localrule prepare_data:" in out     # a local rule
    assert (proj / "results/smoke/benchmarks/train_model/natural.tsv").is_file()
