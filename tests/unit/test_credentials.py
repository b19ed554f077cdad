"""Credentials never enter the repository: a DVC remote's password, keys or tokens go into the git-ignored
.dvc/config.local (`dvc remote modify --local ...`), never into .dvc/config or another committed file."""
from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# DVC remote options (S3, SSH, HTTP/WebDAV, Azure, GCS, GDrive, OSS...) and generic names that hold a secret or
# point at one on the building machine
SECRET_OPTIONS = ("password", "passphrase", "ask_passphrase_value", "secret_access_key", "access_key_id",
                  "session_token", "aws_session_token", "token", "sas_token", "account_key", "connection_string",
                  "client_secret", "gdrive_client_secret", "gdrive_service_account_json_file_path",
                  "credentialpath", "keyfile", "key_path", "key_file", "private_key", "api_key", "secret",
                  "oss_key_secret", "oss_key_id")
OPTION = re.compile(r"""^\s*["']?(%s)["']?\s*[=:]\s*\S""" % "|".join(SECRET_OPTIONS), re.I | re.M)
# secrets by their shape, wherever they are: an AWS access key id, a PEM / OpenSSH private key
SHAPES = re.compile("AKIA" + "[0-9A-Z]{16}|-----BEGIN [A-Z ]*" + "PRIVATE KEY-----")
# files that hold settings (the option scan); code, prose and tables are scanned for the shapes only
NOT_CONFIG = (".py", ".ipynb", ".md", ".rst", ".csv", ".tsv", ".txt", ".smk", ".sh")


def _repo_files() -> list[str]:
    """What a commit would hold: tracked files and untracked ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                         check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (REPO / f).is_file()]


def secrets_in(name: str, text: str) -> list[str]:
    """What holds a secret in file `name`: option names and "line N" of a key's shape (never the secret)."""
    found = [f"line {text.count(chr(10), 0, m.start()) + 1}" for m in SHAPES.finditer(text)]
    if not name.endswith(NOT_CONFIG) or name.endswith(".dvc/config"):
        found += [m.group(1).lower() for m in OPTION.finditer(text)]
    return found


def test_the_scan_finds_what_it_looks_for():
    dvc = "['remote \"lab\"']\n    url = s3://bucket/uap\n    secret_access_key = abc\n"
    assert secrets_in(".dvc/config", dvc) == ["secret_access_key"]
    assert secrets_in("config.yaml", "remote:\n  password: hunter2\n") == ["password"]
    assert secrets_in("config.yaml", "auth: basic\nask_password: true\nuser: reviewer\n") == []
    assert secrets_in("x.py", "password = 1\nKEY = 'AKIA" + "ABCDEFGHIJKLMNOP'\n") == ["line 2"]
    assert secrets_in("notes.md", "a\n-----BEGIN OPENSSH " + "PRIVATE KEY-----\n") == ["line 2"]


def test_no_committed_file_holds_a_credential():
    found = {}
    for f in _repo_files():
        text = (REPO / f).read_bytes()[:200_000].decode(errors="replace")
        if hits := secrets_in(f, text):
            found[f] = hits
    assert not found, f"credentials belong in .dvc/config.local (dvc remote modify --local): {found}"


def test_the_dvc_config_has_no_credential_option():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / ".dvc" / "config")
    options = {(s, k) for s in cfg.sections() for k in cfg[s]}
    assert not {(s, k) for s, k in options if k.lower() in SECRET_OPTIONS}, options


def test_local_dvc_config_and_the_local_store_are_git_ignored():
    for path in (".dvc/config.local", ".dvc/tmp/x", ".dvc/cache/x"):
        res = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO)
        assert res.returncode == 0, f"{path} is not git-ignored"
