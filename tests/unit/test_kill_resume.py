"""`kill -9` of a real `python -m uap train` process, mid-epoch and mid-save (between the checkpoint's
tensors and its sidecar), then a rerun: the final weights must be bit-identical to an uninterrupted
run's. Subprocesses, because only a real process can be killed; tiny data (512 8×8 images)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers_uap import wait_for, write_tiny_splits
from uap.artifacts import file_sha256, sidecar_path

CFG = {"run": "k", "seed": 0, "device": "cpu",
       "models": {"natural": {"arch": "resnet18", "width": 2,
                              "train": {"epochs": 3, "lr": 0.05, "batch_size": 16, "crop_padding": 1}}},
       "constructed": {"source_model": "natural"}, "s4": {"models": ["natural"]}}
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    write_tiny_splits(root / "data", {"train": 512, "test": 32})
    (root / "cfg.yaml").write_text(yaml.safe_dump(CFG))
    ref = _start(root, "ref")
    assert ref.wait(timeout=600) == 0, (root / "ref.log").read_text()
    return root


def _start(root: Path, name: str, **env) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uap", "train", "--config", str(root / "cfg.yaml"), "--model", "natural",
           "--data-dir", str(root / "data"), "--out", str(root / name / "m.safetensors"),
           "--checkpoint", str(root / "ckpt" / f"{name}.safetensors"), "--threads", "1"]
    log = open(root / f"{name}.log", "a")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": SRC, "UAP_NO_PROGRESS": "1", **env})


def _wait_for(cond, proc, timeout=300):
    wait_for(cond, proc, timeout, "killed")


def _sidecar_epoch(ckpt: Path):
    try:
        return json.loads(sidecar_path(ckpt).read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return None


def _kill_and_rerun(world: Path, name: str, ready, **env) -> str:
    ckpt = world / "ckpt" / f"{name}.safetensors"
    proc = _start(world, name, **env)
    _wait_for(lambda: ready(ckpt), proc)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert not (world / name / "m.safetensors").exists() and ckpt.is_file()
    again = _start(world, name)
    assert again.wait(timeout=600) == 0, (world / f"{name}.log").read_text()
    assert not ckpt.exists(), "the checkpoint is dropped once the weights are in place"
    return (world / f"{name}.log").read_text()


def test_kill_mid_epoch_then_rerun_is_bit_identical(world):
    def ready(ckpt):        # epoch 1 is checkpointed: the process is now inside epoch 2
        if _sidecar_epoch(ckpt) == 0:
            time.sleep(0.05)
            return True
        return False
    log = _kill_and_rerun(world, "mid_epoch", ready)
    assert "resuming from" in log and "after epoch 1" in log
    assert file_sha256(world / "mid_epoch" / "m.safetensors") == file_sha256(world / "ref" / "m.safetensors")


def test_kill_mid_save_then_rerun_is_bit_identical(world):
    """Killed after epoch 2's tensors replaced epoch 1's but before the sidecar followed: the pair does
    not match, the rerun says so and starts afresh (never pairs epoch-2 weights with epoch-1 state)."""
    def ready(ckpt):
        side = sidecar_path(ckpt)
        try:
            meta = json.loads(side.read_text())
            return meta["epoch"] == 0 and file_sha256(ckpt) != meta["sha256"]
        except (OSError, ValueError, KeyError):
            return False
    log = _kill_and_rerun(world, "mid_save", ready, UAP_FAULT_PAUSE_S="1.5")
    assert "does not match its sidecar" in log and "starting afresh" in log
    assert file_sha256(world / "mid_save" / "m.safetensors") == file_sha256(world / "ref" / "m.safetensors")


def test_sigterm_mid_epoch_checkpoints_at_once_and_the_rerun_is_bit_identical(world):
    """A SLURM time limit: SIGTERM, then SIGKILL after the grace period. The run stops at the end of its
    current batch, checkpoints there (mid-epoch: weights, optimizer, the epoch's random state) and exits
    with EXIT_TERMINATED and one line saying so; the re-submission resumes in that epoch and ends with
    the uninterrupted run's weights."""
    from uap.errors import EXIT_TERMINATED
    name = "sigterm"
    ckpt = world / "ckpt" / f"{name}.safetensors"
    proc = _start(world, name)
    _wait_for(lambda: _sidecar_epoch(ckpt) == 0, proc)               # now early in epoch 2
    os.kill(proc.pid, signal.SIGTERM)
    # within a cluster's usual grace period (30 s) before SIGKILL; that it stopped at once, not at the end of
    # its epoch, is the mid-epoch checkpoint below (no wall-clock assertion: timings belong in benchmarks)
    assert proc.wait(timeout=30) == EXIT_TERMINATED, (world / f"{name}.log").read_text()
    log = (world / f"{name}.log").read_text()
    last = [line for line in log.splitlines() if line.strip()][-1]
    assert last.startswith("stopped: ") and "SIGTERM" in last and str(ckpt) in last and "re-run" in last, log
    assert "Traceback" not in log and "error:" not in log
    meta = json.loads(sidecar_path(ckpt).read_text())
    assert meta["epoch"] == 0 and meta["partial"]["epoch"] == 1 and 0 < meta["partial"]["next"] < 512, meta
    assert not (world / name / "m.safetensors").exists()
    assert not list((world / "ckpt").glob(f".{name}.*.tmp")), "half-written files left behind"
    again = _start(world, name)
    assert again.wait(timeout=600) == 0, (world / f"{name}.log").read_text()
    log = (world / f"{name}.log").read_text()
    assert f"in epoch 2 after image {meta['partial']['next']}" in log, log
    assert not ckpt.exists()
    assert file_sha256(world / name / "m.safetensors") == file_sha256(world / "ref" / "m.safetensors")


def test_sigterm_without_a_checkpoint_stops_with_one_line_and_leaves_nothing(world):
    """Any command: SIGTERM ends it with one `stopped:` line and EXIT_TERMINATED, and its outputs (here,
    a training run without --checkpoint) are removed as on a failure; no temporary files stay."""
    from uap.errors import EXIT_TERMINATED
    log_path = world / "nockpt.log"
    cmd = [sys.executable, "-m", "uap", "train", "--config", str(world / "cfg.yaml"), "--model", "natural",
           "--data-dir", str(world / "data"), "--out", str(world / "nockpt" / "m.safetensors"), "--threads", "1"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": SRC, "UAP_NO_PROGRESS": "1"})
    _wait_for(lambda: "epoch=1 " in log_path.read_text(), proc)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == EXIT_TERMINATED, log_path.read_text()
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    assert lines[-1].startswith("stopped: SIGTERM before `train` finished") and "Traceback" not in log_path.read_text()
    assert not (world / "nockpt").exists() or not list((world / "nockpt").rglob("*"))
