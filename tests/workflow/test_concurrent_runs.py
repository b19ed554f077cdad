"""Issue #32: two runs at once. A second `snakemake` on the folder a running one is writing is refused by
Snakemake's lock (and leaves the first run alone); two different run names plan no common path that any
job writes (outputs, logs, benchmarks, checkpoints), so they can run side by side."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, make_project, pipeline_env, run

pytestmark = pytest.mark.workflow
TARGET = "results/lk/models/natural.safetensors"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The smoke profile (the whole DAG must parse) as run `lk`, its natural model trained 4 epochs on its
    3000 images: long enough for two more snakemake processes to start while the first is still running."""
    proj = make_project(tmp_path_factory.mktemp("concurrent") / "proj")
    cfg = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    cfg["run"] = "lk"
    cfg["models"]["natural"]["train"] = {"epochs": 4, "lr": 0.05, "batch_size": 64, "lr_drops": []}
    (proj / "config.yaml").write_text(yaml.safe_dump(cfg))
    return proj


def test_a_second_snakemake_on_a_running_folder_is_refused_and_the_first_finishes(project, tmp_path):
    """While the first run writes results/lk, a second `snakemake` on the same target is refused: plainly
    (its DAG finds the first's files in flight: IncompleteFilesException) and with --rerun-incomplete (what a
    re-submission after a crash uses, which would delete them) by the lock (LockException). Neither touches
    the first run, which finishes with complete, consistent outputs."""
    log1 = tmp_path / "first.log"
    with open(log1, "w") as out:
        first = subprocess.Popen(["snakemake", TARGET, "--cores", "1"], cwd=project, env=pipeline_env(), stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    try:
        t0 = time.time()
        while not (project / "results/lk/logs/prepare_data.log").exists():     # the first is running its jobs
            assert first.poll() is None, log1.read_text()[-3000:]
            assert time.time() - t0 < 600
            time.sleep(0.05)
        plain = run(["snakemake", TARGET, "--cores", "1"], cwd=project, check=False, timeout=600)
        rerun = run(["snakemake", TARGET, "--cores", "1", "--rerun-incomplete"], cwd=project, check=False,
                    timeout=600)
        assert first.poll() is None, "the first run ended before the second one tried: the test proves nothing"
        text = plain.stdout + plain.stderr
        assert plain.returncode != 0 and re.search(r"IncompleteFilesException|LockException", text), text[-3000:]
        text = rerun.stdout + rerun.stderr
        assert rerun.returncode != 0, text[-3000:]
        assert "LockException" in text and "Directory cannot be locked" in text, text[-3000:]
        assert first.wait(timeout=900) == 0, log1.read_text()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
    text = log1.read_text()
    assert "Finished job" in text and "Error" not in text, text[-3000:]
    assert (project / TARGET).is_file() and (project / "results/lk/models/natural.json").is_file()
    ck = project / "results/lk/checkpoints"
    assert not ck.exists() or not any(ck.iterdir())
    again = run(["snakemake", TARGET, "-n", "--cores", "1"], cwd=project)      # complete and consistent
    assert "Nothing to be done" in again.stdout + again.stderr


def _planned(project: Path, name: str) -> tuple[set[str], set[str]]:
    """(paths jobs of run `name` write, paths they read) over the whole DAG, from `snakemake -n -p
    --forceall`: outputs, logs, benchmarks, and every results/... path in a shell command (checkpoints)."""
    res = run(["snakemake", "-n", "-p", "--forceall", "--cores", "1", "--config", f"run={name}"], cwd=project)
    writes, reads = set(), set()
    for line in res.stdout.splitlines():
        m = re.match(r"\s+(input|output|log|benchmark): (.*)$", line)
        if m:
            paths = {p.strip() for p in m.group(2).split(",") if p.strip()}
            (reads if m.group(1) == "input" else writes).update(paths)
        elif line.startswith("Shell command: "):
            writes.update(re.findall(r"(?<![\w/])results/[^\s'\"]+", line))
    assert writes, res.stdout[-3000:]
    return writes, reads


def test_two_run_names_share_no_path_that_a_job_writes(project):
    wa, ra = _planned(project, "runa")
    wb, rb = _planned(project, "runb")
    for name, w in (("runa", wa), ("runb", wb)):       # every written path is in the run's own folder
        outside = sorted(p for p in w if not (p + "/").startswith(f"results/{name}/"))
        assert not outside, outside
    common = (wa | ra) & (wb | rb)
    assert not common & (wa | wb), sorted(common & (wa | wb))
    # what they do share is read-only: inputs no job makes (the notebooks, ...)
    assert all(not p.startswith("results/") for p in common), sorted(common)
