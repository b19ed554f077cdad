"""Issue #32: the grouped PGD loops (`universal`, `construct`, `interp-dataset`, `pgd`) checkpoint their
progress. A real `python -m uap` process gets SIGTERM (a SLURM time limit) or SIGKILL half-way, then the
same command is re-run: it resumes from the checkpoint and its outputs are byte-identical to an
uninterrupted run's. Subprocesses, because only a real process can be signalled; tiny data (8×8 images,
a width-2 ResNet-18 that is not trained: PGD only needs gradients)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from helpers_uap import wait_for
from uap.artifacts import file_sha256, save_tensors, sidecar_path

CFG = {"run": "p", "seed": 0, "device": "cpu",
       "models": {"natural": {"arch": "resnet18", "width": 2, "train": {"epochs": 1, "lr": 0.05, "batch_size": 16}}},
       "attacks": {"eval_images": 32, "pgd": {"steps": 30, "step_ratio": 0.25},
                   "norms": {"l2": {"eps": 8.0, "universal_lr": 2.0}},
                   "universal": {"base_size": 64, "epochs": 40, "batch_size": 16}},
       "constructed": {"source_model": "natural", "source_size": 128, "group_size": 32, "univ_epochs": 10,
                       "univ_batch_size": 16, "balance": "uniform", "norm": "l2"},
       "s4": {"models": ["natural"]}}
SRC = str(Path(__file__).resolve().parents[2] / "src")
NEVER = {"UAP_PGD_CHECKPOINT_S": "1e9"}       # no periodic checkpoint: only SIGTERM (and the end) save one
ALWAYS = {"UAP_PGD_CHECKPOINT_S": "0"}        # a checkpoint after every step


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Images whose label is their brightest quadrant, and a model trained on them for a few seconds (an
    untrained one predicts nearly one class whatever the input, and D_univ would be empty)."""
    from uap.train import build_from_spec, save_model, train_classifier
    root = tmp_path_factory.mktemp("pgd_resume")
    g = torch.Generator().manual_seed(0)
    meta = {"dataset": "mnist", "classes": list("abcd"), "num_classes": 4, "channels": 1, "image_size": 8,
            "flip_ok": False, "mean": [0.5], "std": [0.25]}
    data = {}
    for split, n in (("train", 512), ("test", 32)):
        x = torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
        y = x.float().view(n, 2, 4, 2, 4).mean((2, 4)).flatten(1).argmax(1)
        data[split] = (x, y)
        save_tensors(root / "data" / f"{split}.safetensors", {"x": x, "y": y}, {**meta, "split": split, "size": n})
    spec = {"arch": "resnet18", "width": 2, "in_channels": 1, "num_classes": 4, "image_size": 8,
            "mean": [0.5], "std": [0.25]}
    torch.manual_seed(0)
    model = build_from_spec(spec)
    train_classifier(model, *data["train"], *data["test"], {"epochs": 4, "lr": 0.05, "batch_size": 32,
                     "momentum": 0.9, "weight_decay": 5e-4, "augment": False}, seed=0, device=torch.device("cpu"))
    save_model(root / "model.safetensors", model, spec, {"name": "natural"})
    (root / "cfg.yaml").write_text(yaml.safe_dump(CFG))
    return root


def _cmd(root: Path, command: str, name: str) -> list[str]:
    common = ["--config", str(root / "cfg.yaml"), "--model", str(root / "model.safetensors"),
              "--data-dir", str(root / "data"), "--threads", "1", "--checkpoint", str(root / "ckpt" / f"{name}.safetensors")]
    if command == "universal":
        o = root / name
        return [command, *common, "--norm", "l2", "--out", str(o / "u.safetensors"), "--table", str(o / "u.csv"),
                "--curves", str(o / "curves.csv")]
    return [command, *common, "--out-dir", str(root / name)]


def _start(root: Path, command: str, name: str, env: dict) -> subprocess.Popen:
    log = open(root / f"{name}.log", "a")
    return subprocess.Popen([sys.executable, "-m", "uap", *_cmd(root, command, name)], stdout=log,
                            stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": SRC, "UAP_NO_PROGRESS": "1", **env})


def _wait_for(cond, proc, timeout=600):
    wait_for(cond, proc, timeout, "signalled")


def _outputs(folder: Path) -> dict[str, str]:
    """Hashes of a run's outputs, sidecars left out (they record the seconds the run took)."""
    return {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.suffix in (".safetensors", ".csv")}


def _reference(root: Path, command: str) -> dict[str, str]:
    name = f"ref_{command}"
    if not (root / name).is_dir():
        assert _start(root, command, name, {}).wait(timeout=900) == 0, (root / f"{name}.log").read_text()
    return _outputs(root / name)


def test_universal_sigterm_checkpoints_and_the_rerun_is_byte_identical(world):
    """SIGTERM half-way through the universal PGD loop: the run stops at the end of its current step,
    saves a checkpoint (no periodic one is due) and exits with EXIT_TERMINATED and one `stopped:` line;
    the re-submission resumes there, ends with the uninterrupted run's outputs and removes the checkpoint."""
    from uap.errors import EXIT_TERMINATED
    ref = _reference(world, "universal")
    name, log = "sigterm_universal", world / "sigterm_universal.log"
    ckpt = world / "ckpt" / f"{name}.pgd0.safetensors"
    proc = _start(world, "universal", name, NEVER)
    _wait_for(lambda: "checkpointing to" in log.read_text(), proc)
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == EXIT_TERMINATED, log.read_text()
    text = log.read_text()
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last.startswith("stopped: SIGTERM in universal PGD") and str(ckpt) in last and "re-run" in last, text
    assert "Traceback" not in text
    meta = json.loads(sidecar_path(ckpt).read_text())
    assert not meta["finished"] and (meta["ep"], meta["s"]) > (0, 0), meta
    assert not (world / name / "u.safetensors").exists()
    assert _start(world, "universal", name, NEVER).wait(timeout=900) == 0, log.read_text()
    text = log.read_text()
    assert f"resuming from {ckpt} at group 0, epoch {meta['ep'] + 1}, step {meta['s']}" in text, text
    assert not list((world / "ckpt").glob(f"{name}.*")), "the checkpoint is removed once the outputs are in place"
    assert _outputs(world / name) == ref


def test_construct_killed_in_its_second_loop_resumes_and_is_byte_identical(world):
    """`construct` runs two PGD loops (D_univ's universal PGD, then D_adv's per-example PGD). SIGKILL
    during the second: the re-run takes the first loop's result from its checkpoint, resumes the second
    from its last periodic checkpoint, and writes the uninterrupted run's datasets."""
    ref = _reference(world, "construct")
    name, log = "kill_construct", world / "kill_construct.log"
    second = sidecar_path(world / "ckpt" / f"{name}.pgd1.safetensors")

    def in_second_loop():
        try:
            meta = json.loads(second.read_text())
        except (OSError, ValueError):
            return False
        return not meta["finished"] and meta["ep"] >= 1
    proc = _start(world, "construct", name, ALWAYS)
    _wait_for(in_second_loop, proc)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert _start(world, "construct", name, ALWAYS).wait(timeout=900) == 0, log.read_text()
    text = log.read_text()
    assert "D_univ universal PGD] finished before: result taken from checkpoint" in text, text
    assert "D_adv per-example PGD] resuming from" in text, text
    assert not list((world / "ckpt").glob(f"{name}.*"))
    assert _outputs(world / name) == ref
