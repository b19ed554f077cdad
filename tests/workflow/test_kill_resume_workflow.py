"""Snakemake deletes the outputs of a failed job; training checkpoints must not be among them. Kill the
whole `snakemake` process group (SIGKILL, as a lost node would) during a training rule, rerun, and
see the rule resume from its checkpoint and finish with the weights of an uninterrupted run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import yaml

from .conftest import make_project, pipeline_env, run

REPO = Path(__file__).resolve().parents[2]
TARGET = "results/kr/models/natural.safetensors"


def _config() -> dict:
    """The smoke profile (the whole DAG must parse), with a 3-epoch natural model on 1500 images."""
    cfg = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    cfg["run"] = "kr"
    cfg["data"]["train_subset"] = 1500
    cfg["models"]["natural"]["train"] = {"epochs": 3, "lr": 0.05, "batch_size": 64, "lr_drops": []}
    return cfg


def test_killed_snakemake_resumes_training_from_its_checkpoint(tmp_path):
    proj = make_project(tmp_path / "proj")
    (proj / "config.yaml").write_text(yaml.safe_dump(_config()))
    snake = ["snakemake", TARGET, "--cores", "1"]
    ckpt_meta = proj / "results/kr/checkpoints/natural.json"
    out = open(tmp_path / "snakemake.log", "w")
    proc = subprocess.Popen(snake, cwd=proj, env=pipeline_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.time()
    while True:
        assert proc.poll() is None, (tmp_path / "snakemake.log").read_text()[-3000:]
        assert time.time() - t0 < 600
        try:
            if json.loads(ckpt_meta.read_text())["epoch"] == 0:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)          # snakemake and its job, mid-way through epoch 2
    proc.wait(timeout=60)
    assert not (proj / TARGET).exists()
    assert (proj / "results/kr/checkpoints/natural.safetensors").is_file()

    run(snake + ["--unlock"], cwd=proj)           # a killed snakemake leaves its lock behind
    run(snake + ["--rerun-incomplete"], cwd=proj)
    log = (proj / "results/kr/logs/train_model/natural.log").read_text()
    assert "resuming from" in log and "after epoch 1" in log, log
    meta = json.loads((proj / "results/kr/models/natural.json").read_text())
    assert [h["epoch"] for h in meta["metrics"]["history"]] == [1, 2, 3]
    assert not (proj / "results/kr/checkpoints/natural.safetensors").exists()

    # the same training without the kill: bit-identical weights
    ref = proj / "ref.safetensors"
    run(f"PYTHONPATH=src python -m uap train --config config.yaml --model natural --data-dir results/kr/data --out {ref} "
        f"--threads 1", cwd=proj)
    assert (proj / TARGET).read_bytes() == ref.read_bytes()
