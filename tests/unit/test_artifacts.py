"""Artifacts: safetensors + JSON sidecar, helpful errors, atomic writes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from uap.artifacts import (load_tensors, read_json, save_tensors, sidecar_path, versions, write_csv, write_json)


def test_sidecar_path():
    assert sidecar_path("a/b/model.safetensors") == Path("a/b/model.json")
    assert sidecar_path(Path("x.y.safetensors")) == Path("x.y.json")


def test_save_load_round_trip_with_sidecar(tmp_path):
    t = {"w": torch.randn(3, 4), "idx": torch.arange(5), "mask": torch.tensor([True, False]),
         "half": torch.ones(2, dtype=torch.float16), "nc": torch.randn(4, 3).t()}   # non-contiguous
    path = tmp_path / "sub" / "a.safetensors"
    save_tensors(path, t, {"kind": "test", "n": 3, "nested": {"a": [1, 2]}, "tensor_meta": torch.tensor([1, 2])})
    loaded, meta = load_tensors(path)
    assert set(loaded) == set(t)
    for k in t:
        assert loaded[k].dtype == t[k].dtype and torch.equal(loaded[k], t[k])
    assert meta["kind"] == "test" and meta["n"] == 3 and meta["nested"] == {"a": [1, 2]}
    assert meta["tensor_meta"] == [1, 2]
    assert meta["tensors"]["w"] == {"shape": [3, 4], "dtype": "float32"}
    assert meta["tensors"]["idx"] == {"shape": [5], "dtype": "int64"}
    assert meta["tensors"]["nc"]["shape"] == [3, 4]
    assert set(meta["versions"]) >= {"python", "torch", "numpy", "safetensors", "code"}
    assert meta["versions"]["torch"] == torch.__version__
    assert json.loads(sidecar_path(path).read_text()) == meta
    # the atomic write leaves no temporary files behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json", "a.safetensors"]


def test_load_without_sidecar_gives_empty_meta(tmp_path):
    path = tmp_path / "a.safetensors"
    save_tensors(path, {"x": torch.zeros(1)}, {})
    sidecar_path(path).unlink()
    tensors, meta = load_tensors(path)
    assert meta == {} and torch.equal(tensors["x"], torch.zeros(1))


def test_missing_artifact_gives_a_helpful_file_not_found(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError) as e:
        load_tensors(path)
    assert str(path) in str(e.value) and "run the rule" in str(e.value)


def test_corrupt_artifact_gives_value_error(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x00\x01 definitely not safetensors")
    with pytest.raises(ValueError) as e:
        load_tensors(path)
    assert str(path) in str(e.value) and "delete it" in str(e.value)


def test_truncated_artifact_gives_value_error(tmp_path):
    path = tmp_path / "t.safetensors"
    save_tensors(path, {"x": torch.randn(100)}, {})
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ValueError):
        load_tensors(path)


def test_write_json_handles_tensors_numbers_and_paths(tmp_path):
    p = tmp_path / "d" / "x.json"
    write_json(p, {"t": torch.tensor([1.5, 2.0]), "s": torch.tensor(3), "p": Path("/a/b"), "b": 2})
    assert read_json(p) == {"t": [1.5, 2.0], "s": 3, "p": "/a/b", "b": 2}
    with pytest.raises(TypeError):
        write_json(tmp_path / "y.json", {"o": object()})
    assert not (tmp_path / "y.json").exists()
    assert [q.name for q in tmp_path.iterdir() if q.name.endswith(".tmp")] == []


def test_write_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    p = tmp_path / "t.csv"
    write_csv(p, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert p.read_text().splitlines() == ["a,b", "1,x", "2,y"]


def test_versions_are_strings():
    v = versions()
    assert all(isinstance(x, str) and x for x in v.values())


# ------------------------------------------------------------------------- issue 13: nothing half-written
def test_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    import os
    from uap.artifacts import write_csv, write_json
    import pandas as pd
    old = os.umask(0o027)
    try:
        save_tensors(tmp_path / "a.safetensors", {"x": torch.zeros(2)}, {})
        write_json(tmp_path / "b.json", {"a": 1})
        write_csv(tmp_path / "c.csv", pd.DataFrame({"a": [1]}))
    finally:
        os.umask(old)
    for f in ("a.safetensors", "a.json", "b.json", "c.csv"):
        assert (tmp_path / f).stat().st_mode & 0o777 == 0o640, f


def test_the_sidecar_carries_the_tensors_hash_and_a_mismatched_pair_is_refused(tmp_path):
    from uap.artifacts import ArtifactCorrupt, file_sha256
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_tensors(a, {"x": torch.zeros(3)}, {"epoch": 1})
    save_tensors(b, {"x": torch.ones(3)}, {"epoch": 2})
    assert json.loads(sidecar_path(a).read_text())["sha256"] == file_sha256(a)
    a.write_bytes(b.read_bytes())                  # epoch-2 tensors beside the epoch-1 sidecar
    with pytest.raises(ArtifactCorrupt, match="does not match its sidecar"):
        load_tensors(a)


def test_non_finite_tensors_are_refused_and_nothing_is_written(tmp_path):
    from uap.errors import NonFiniteError
    path = tmp_path / "d.safetensors"
    with pytest.raises(NonFiniteError, match="'delta'"):
        save_tensors(path, {"ok": torch.zeros(2), "delta": torch.tensor([0.0, float("inf")])}, {})
    assert list(tmp_path.iterdir()) == []


def test_json_holds_no_nan_a_non_finite_number_is_null(tmp_path):
    from uap.artifacts import write_json
    write_json(tmp_path / "m.json", {"acc": float("nan"), "h": [{"t": float("inf")}, 1.5], "n": torch.tensor(2.0)})
    text = (tmp_path / "m.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"acc": None, "h": [{"t": None}, 1.5], "n": 2.0}


def test_a_failing_transaction_leaves_nothing_and_keeps_older_files(tmp_path):
    from uap.artifacts import transaction, write_json
    write_json(tmp_path / "old.json", {"v": 1})
    with pytest.raises(RuntimeError):
        with transaction():
            save_tensors(tmp_path / "new" / "deep" / "a.safetensors", {"x": torch.zeros(1)}, {})
            write_json(tmp_path / "old.json", {"v": 2})
            # a command may read what it wrote (e.g. a table it summarises next)
            assert load_tensors(tmp_path / "new" / "deep" / "a.safetensors")[0]["x"].shape == (1,)
            assert json.loads((tmp_path / "old.json").read_text()) == {"v": 2}
            raise RuntimeError("the command fails after writing")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["old.json"]     # the replaced file is restored
    assert json.loads((tmp_path / "old.json").read_text()) == {"v": 1}
    with transaction():
        save_tensors(tmp_path / "new" / "a.safetensors", {"x": torch.zeros(1)}, {})
        write_json(tmp_path / "old.json", {"v": 3})
    assert (tmp_path / "new" / "a.safetensors").is_file() and (tmp_path / "new" / "a.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "old.json"]   # no backups left
    assert json.loads((tmp_path / "old.json").read_text()) == {"v": 3}


def test_immediate_writes_survive_a_failing_transaction(tmp_path):
    from uap.artifacts import immediate, transaction
    with pytest.raises(RuntimeError):
        with transaction():
            with immediate():
                save_tensors(tmp_path / "ckpt.safetensors", {"x": torch.zeros(1)}, {})
            raise RuntimeError
    assert (tmp_path / "ckpt.safetensors").is_file() and sidecar_path(tmp_path / "ckpt.safetensors").is_file()


def test_check_writable_names_the_folder_and_leaves_nothing(tmp_path):
    from uap.artifacts import check_writable
    from uap.errors import ArtifactError
    check_writable(tmp_path / "not" / "yet" / "made")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "f").write_text("x")
    with pytest.raises(ArtifactError, match="not a folder"):
        check_writable(tmp_path / "f" / "sub")


def test_tensors_sharing_memory_are_saved_as_copies(tmp_path):
    """A dict holding the same tensor twice (D_adv-style Table 5 dataset: y is group_targets) or a view
    of another entry is saved, not refused by safetensors; each entry loads back equal."""
    y = torch.arange(6)
    t = {"y": y, "group_targets": y, "tail": y[2:], "x": torch.rand(2, 3)}
    path = tmp_path / "shared.safetensors"
    save_tensors(path, t, {})
    loaded, _ = load_tensors(path)
    for k in t:
        assert torch.equal(loaded[k], t[k]), k
