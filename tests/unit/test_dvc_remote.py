"""The reviewer's DVC path over a network remote, against a real server on this machine: a builder pushes to
a folder, `python -m http.server` (127.0.0.1) serves it read-only, and a fresh `git clone` in a separate folder
(the builder's folder moved away) pulls over HTTP with `python -m uap.pull`, byte-identical. A missing, wrong
or empty remote is one line naming the remote and what to set. The whole smoke DAG takes the same path in
tests/workflow/test_smoke_workflow.py (test_reviewer_path_from_a_fresh_clone)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.workflow.conftest import REPO, run
from tests.workflow.remote_server import free_port, http_server, no_proxy_env

pytestmark = pytest.mark.dvc


def _files(root: Path) -> dict[str, bytes]:
    return {f.relative_to(root).as_posix(): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


def _pull(cwd: Path, *args: str):
    return run([sys.executable, "-m", "uap.pull", *args], cwd=cwd, check=False)


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A builder with this repository's .dvc/config (default remote 'local' = ../../uap-dvc-remote) that pushed
    results/ to a store of its own (set in its git-ignored .dvc/config.local), and a fresh clone elsewhere."""
    for k, v in no_proxy_env({}).items():
        monkeypatch.setenv(k, v)
    builder, store, clone = tmp_path / "builder" / "uap", tmp_path / "lab-store", tmp_path / "reviewer" / "deep" / "uap"
    builder.mkdir(parents=True)
    run("git init -q && dvc init -q", cwd=builder)
    for f in (".dvc/config", ".dvcignore"):
        shutil.copy(REPO / f, builder / f)
    res = builder / "results" / "default"
    (res / "tables").mkdir(parents=True)
    (res / "tables" / "claims.csv").write_text("system,claim,verdict\nS1,x,reproduced\n")
    (res / "model.safetensors").write_bytes(os.urandom(50_000))
    run(["dvc", "add", "-q", "results"], cwd=builder)
    run(["dvc", "remote", "modify", "--local", "local", "url", str(store)], cwd=builder)
    run(["dvc", "push", "-q"], cwd=builder)
    run("git add -A && git commit -qm results", cwd=builder)
    assert "config.local" not in run(["git", "ls-files", ".dvc"], cwd=builder).stdout
    run(["git", "clone", "-q", str(builder), str(clone)], cwd=tmp_path)
    want = _files(builder / "results")
    away = builder.with_name("uap.away")                     # the reviewer has no access to the builder's folder
    builder.rename(away)
    return clone, store, want


def test_a_fresh_clone_pulls_over_http_byte_identical(world, tmp_path):
    clone, store, want = world
    assert not (clone / "results").exists()
    with http_server(store) as url:
        run(["dvc", "remote", "add", "-d", "--local", "lab", url], cwd=clone)
        res = _pull(clone)
        assert res.returncode == 0, res.stdout + res.stderr
        assert _files(clone / "results") == want
        assert "up to date" in run(["dvc", "status"], cwd=clone).stdout
    assert run(["git", "status", "--porcelain"], cwd=clone).stdout == ""          # .dvc/config untouched


def test_a_missing_wrong_or_empty_remote_is_one_line_naming_it(world, tmp_path):
    clone, store, _ = world
    # the committed default: a folder beside the builder's checkout, absent on the reviewer's machine
    res = _pull(clone)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("error: DVC remote 'local' (") and "does not exist on this machine" in res.stderr
    assert "dvc remote add -d --local lab <url>" in res.stderr and "docs/reviewing.md" in res.stderr
    # an HTTP remote nobody answers
    dead = f"http://127.0.0.1:{free_port()}/"
    run(["dvc", "remote", "add", "-d", "--local", "lab", dead], cwd=clone)
    res = _pull(clone)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert f"DVC remote 'lab' ({dead}) cannot be reached" in res.stderr and "dvc remote modify --local lab url" in res.stderr
    # a server that answers but does not hold this commit's artifacts (the wrong folder)
    (tmp_path / "empty").mkdir()
    with http_server(tmp_path / "empty") as url:
        run(["dvc", "remote", "modify", "--local", "lab", "url", url], cwd=clone)
        res = _pull(clone)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert f"DVC remote 'lab' ({url}) does not hold this commit's artifacts" in res.stderr and "HTTP 404" in res.stderr
    # no remote at all
    run(["dvc", "remote", "remove", "--local", "lab"], cwd=clone)
    run(["dvc", "remote", "default", "--unset"], cwd=clone)
    res = _pull(clone)
    assert res.returncode == 2 and res.stderr.startswith("error: no DVC remote is set"), res.stderr
    assert not (clone / "results").exists()                                      # nothing was created


def test_plain_dvc_pull_does_not_name_the_remote(world):
    """Why uap.pull exists (docs/reviewing.md quotes this): dvc's own message for a missing remote."""
    clone, _, _ = world
    res = run(["dvc", "pull"], cwd=clone, check=False)
    assert res.returncode == 1 and "Is your cache up to date?" in res.stderr and "missing-files" in res.stderr
    assert "'local'" not in res.stdout + res.stderr
