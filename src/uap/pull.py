"""`python -m uap.pull [dvc pull options]`: `dvc pull`, after checking that the DVC remote it will use
exists and holds this commit's artifacts.

Plain `dvc pull` from a remote that is missing, unreachable or empty prints a warning listing md5 hashes and
"Checkout failed ... Is your cache up to date?" without naming the remote (for an HTTP remote on a closed
port, too). This prints one line instead, naming the remote, its URL, what is wrong and what to set, and
exits 2 before dvc runs. When the remote looks right (or is S3/SSH/..., checked by dvc itself), dvc pull runs
as usual; if it fails, the same kind of line follows dvc's own output. See docs/reviewing.md."""
from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

FIX = ("set the lab's store: `dvc remote add -d --local lab <url>` (or `dvc remote modify --local {name} url "
       "<url>`); see docs/reviewing.md")


class RemoteProblem(Exception):
    pass


def _remote_option(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in ("-r", "--remote") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--remote="):
            return arg.split("=", 1)[1]
    return None


def _one_object(root: Path) -> str | None:
    """The remote path of one object this commit needs (the first output of dvc.lock or a .dvc file)."""
    import yaml
    outs = []
    lock = root / "dvc.lock"
    if lock.is_file():
        for stage in (yaml.safe_load(lock.read_text()) or {}).get("stages", {}).values():
            outs += stage.get("outs", [])
    for f in [f for f in sorted(root.glob("*.dvc")) + sorted(root.glob("*/*.dvc")) if f.is_file()]:
        outs += (yaml.safe_load(f.read_text()) or {}).get("outs", [])
    for out in outs:
        md5 = out.get("md5")
        if md5:
            prefix = "files/md5/" if out.get("hash") == "md5" else ""        # DVC 3 layout vs DVC 2's
            return f"{prefix}{md5[:2]}/{md5[2:]}"
    return None


def check_remote(name: str | None, url: str | None, obj: str | None) -> None:
    """Raise RemoteProblem (one line) when the remote is unset, missing, unreachable or lacks `obj`."""
    if not name:
        raise RemoteProblem("no DVC remote is set (.dvc/config has no default remote); "
                            + FIX.format(name="<name>"))
    if not url:
        raise RemoteProblem(f"DVC remote '{name}' is not defined; " + FIX.format(name=name))
    where = f"DVC remote '{name}' ({url})"
    if url.startswith(("http://", "https://")):
        target = url.rstrip("/") + "/" + obj if obj else url
        try:
            with urllib.request.urlopen(urllib.request.Request(target, method="HEAD"), timeout=20):
                pass
        except urllib.error.HTTPError as exc:
            what = f"does not hold this commit's artifacts ({obj}: HTTP {exc.code})" if obj else f"HTTP {exc.code}"
            raise RemoteProblem(f"{where} {what}; " + FIX.format(name=name)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteProblem(f"{where} cannot be reached ({reason}); " + FIX.format(name=name)) from None
    elif "://" not in url:                                            # a folder
        folder = Path(url)
        if not folder.is_dir():
            raise RemoteProblem(f"{where} is a folder that does not exist on this machine; " + FIX.format(name=name))
        if obj and not (folder / obj).is_file():
            raise RemoteProblem(f"{where} does not hold this commit's artifacts ({obj} is missing); "
                                + FIX.format(name=name))
    # s3://, ssh://, ...: reachability and credentials are dvc's (and its plugin's) to check


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        from dvc.repo import Repo
    except ImportError:
        print("error: dvc is not installed (pip install -e '.[workflow]'; see docs/reviewing.md)", file=sys.stderr)
        return 2
    try:
        repo = Repo()
    except Exception as exc:                                          # not a DVC repository
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = repo.config
    name = _remote_option(argv) or cfg["core"].get("remote")
    url = cfg["remote"].get(name, {}).get("url") if name else None
    try:
        check_remote(name, url, _one_object(Path(repo.root_dir)))
    except RemoteProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        repo.close()
    rc = subprocess.run([sys.executable, "-m", "dvc", "pull", *argv]).returncode
    if rc != 0:
        print(f"error: dvc pull from DVC remote '{name}' ({url}) failed (its messages above); "
              + FIX.format(name=name), file=sys.stderr)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
