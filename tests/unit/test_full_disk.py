"""A full disk (issue #32): a save that fails with ENOSPC half-way leaves no partial file and no corrupt
checkpoint (the last good tensors + sidecar pair stays readable), the command fails with one line naming
the path (exit 2), and the next run on a disk with room resumes from the last good checkpoint and ends
with the same weights as an uninterrupted run. Faults are injected half-way through a write, and (as
root, where mounting is allowed) a real tmpfs too small for the second checkpoint fills up."""
from __future__ import annotations

import errno
import os
import pathlib
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from helpers_uap import write_tiny_splits
from uap import cli
from uap.artifacts import ArtifactError, file_sha256, load_tensors, save_tensors, sidecar_path

CFG = {"run": "d", "seed": 0, "device": "cpu",
       "models": {"natural": {"arch": "resnet18", "width": 2,
                              "train": {"epochs": 3, "lr": 0.05, "batch_size": 16, "crop_padding": 1}}},
       "constructed": {"source_model": "natural"}, "s4": {"models": ["natural"]}}


def _enospc(path) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def _fail_half_way(monkeypatch, names: set[str], after: int = 0):
    """Writes of a temporary file for a target named in `names` write half their bytes and then hit a
    full disk, from the (after+1)-th such write on. Both writers: safetensors' and pathlib's (sidecars)."""
    import safetensors.torch
    real_save, real_text = safetensors.torch.save_file, pathlib.Path.write_text
    seen = {"n": 0}

    def hit(tmp) -> bool:
        target = Path(tmp).name[1:].rsplit(".", 2)[0]         # .<name>.<random>.tmp
        if target in names:
            seen["n"] += 1
            return seen["n"] > after
        return False

    def save_file(tensors, tmp, *a, **k):
        real_save(tensors, tmp, *a, **k)
        if hit(tmp):
            data = Path(tmp).read_bytes()
            Path(tmp).write_bytes(data[:len(data) // 2])
            raise _enospc(tmp)

    def write_text(self, text, *a, **k):
        if hit(self):
            real_text(self, text[:len(text) // 2], *a, **k)
            raise _enospc(self)
        return real_text(self, text, *a, **k)
    monkeypatch.setattr(safetensors.torch, "save_file", save_file)
    monkeypatch.setattr(pathlib.Path, "write_text", write_text)


@pytest.mark.parametrize("part", ["tensors", "sidecar"])
def test_a_save_failing_half_way_keeps_the_previous_pair(tmp_path, monkeypatch, part):
    path = tmp_path / "ck.safetensors"
    save_tensors(path, {"w": torch.ones(1000)}, {"epoch": 0})
    before = sorted(p.name for p in tmp_path.iterdir())
    _fail_half_way(monkeypatch, {path.name if part == "tensors" else sidecar_path(path).name})
    with pytest.raises(ArtifactError) as e:
        save_tensors(path, {"w": torch.full((1000,), 2.0)}, {"epoch": 1})
    assert "the disk is full" in str(e.value) and str(tmp_path) in str(e.value)
    assert len(str(e.value).splitlines()) == 1
    monkeypatch.undo()
    t, meta = load_tensors(path)                       # still a matching pair: the epoch-0 one
    assert meta["epoch"] == 0 and torch.equal(t["w"], torch.ones(1000))
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "partial or temporary files left behind"
    save_tensors(path, {"w": torch.full((1000,), 2.0)}, {"epoch": 1})     # with room, the next save works
    t, meta = load_tensors(path)
    assert meta["epoch"] == 1 and torch.equal(t["w"], torch.full((1000,), 2.0))


def test_a_real_safetensors_write_on_a_full_disk_is_an_artifact_error(tmp_path, monkeypatch):
    """safetensors reports a failed write as its own SafetensorError ('… (os error 28)'), not an OSError."""
    import safetensors.torch
    from safetensors import SafetensorError

    def save_file(tensors, tmp, *a, **k):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    monkeypatch.setattr(safetensors.torch, "save_file", save_file)
    path = tmp_path / "x.safetensors"
    with pytest.raises(ArtifactError, match="x.safetensors: the disk is full"):
        save_tensors(path, {"w": torch.ones(3)}, {})
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ training, end to end
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("disk")
    write_tiny_splits(root / "data", {"train": 64, "test": 16})
    (root / "cfg.yaml").write_text(yaml.safe_dump(CFG))
    assert cli.main(_train(root, root / "ref", root / "ref_ckpt")) == 0
    return root


def _train(root: Path, out: Path, ckpt: Path) -> list[str]:
    return ["train", "--config", str(root / "cfg.yaml"), "--model", "natural", "--data-dir", str(root / "data"),
            "--out", str(out / "m.safetensors"), "--checkpoint", str(ckpt / "m.safetensors"), "--threads", "1"]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("where, names, after, resumed", [
    ("checkpoint-tensors", {"m.safetensors"}, 1, "after epoch 1"),       # epoch 2's checkpoint
    ("checkpoint-sidecar", {"m.json"}, 1, "after epoch 1"),
    ("model", {"m.safetensors"}, 3, "after epoch 3"),                    # the trained weights
])
def test_training_on_a_full_disk_fails_named_and_resumes(world, tmp_path, monkeypatch, capsys, where, names, after,
                                                         resumed):
    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    _fail_half_way(monkeypatch, names, after)
    capsys.readouterr()
    assert cli.main(_train(world, out, ckpt)) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: cannot write ") and "the disk is full" in err[0], err
    assert str(out if where == "model" else ckpt) in err[0]
    monkeypatch.undo()
    assert _files(out) == [], "partial outputs left behind"
    assert _files(ckpt) == ["m.json", "m.safetensors"], "a partial checkpoint file was left behind"
    _, meta = load_tensors(ckpt / "m.safetensors")                      # the last good one, whole
    assert meta["epoch"] == int(resumed.split()[-1]) - 1
    assert cli.main(_train(world, out, ckpt)) == 0                       # a disk with room
    assert resumed in capsys.readouterr().out
    assert file_sha256(out / "m.safetensors") == file_sha256(world / "ref" / "m.safetensors")
    assert _files(ckpt) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode:
        pytest.skip("needs root and permission to mount a tmpfs")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_a_real_full_disk_keeps_the_last_good_checkpoint(world, tmp_path, small_tmpfs, capsys):
    """The checkpoint lives on a tmpfs with room for one checkpoint but not for a second beside it (an
    atomic save needs both until the rename): epoch 2's save fails for real, epoch 1's stays."""
    ckpt = small_tmpfs
    # size of one checkpoint: the model's weights and momentum buffers, as the reference run wrote them
    t, _ = load_tensors(world / "ref" / "m.safetensors")
    params = sum(v.numel() * v.element_size() for k, v in t.items() if "running" not in k and "num_batches" not in k)
    one = sum(v.numel() * v.element_size() for v in t.values()) + params
    page = 4096
    pages = -(-one // page) + 2                                          # tensors + sidecar + header slack
    subprocess.run(["mount", "-o", f"remount,size={(pages + pages // 2) * page}", str(ckpt)], check=True)
    out = tmp_path / "out"
    assert cli.main(_train(world, out, ckpt)) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "the disk is full" in err[0] and str(ckpt) in err[0], err
    assert _files(out) == [] and _files(ckpt) == ["m.json", "m.safetensors"]
    _, meta = load_tensors(ckpt / "m.safetensors")
    assert meta["epoch"] == 0
    subprocess.run(["mount", "-o", "remount,size=4m", str(ckpt)], check=True)
    assert cli.main(_train(world, out, ckpt)) == 0
    assert "after epoch 1" in capsys.readouterr().out
    assert file_sha256(out / "m.safetensors") == file_sha256(world / "ref" / "m.safetensors")
