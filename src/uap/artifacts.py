"""Artifacts on disk: tensors/weights as safetensors + a JSON sidecar; tables as CSV.

Nothing here unpickles anything. Every write goes to a temporary file in the target folder, is
fsynced and renamed into place, with the mode the umask gives (not mkstemp's 0600). Inside
`transaction()` (every CLI command runs in one) a failing command's outputs are removed again and
the files they replaced restored, so it leaves nothing behind; `immediate()` exempts checkpoints,
which must survive a failure. A sidecar carries the SHA-256 of its tensors file: a tensors file and a sidecar from
different writes (a kill between the two renames) are refused instead of silently paired.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import platform
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import ArtifactError, NonFiniteError

SIDECAR_SUFFIX = ".json"


class ArtifactMissing(ArtifactError, FileNotFoundError):
    """An input artifact does not exist."""


class ArtifactCorrupt(ArtifactError, ValueError):
    """An artifact exists but cannot be read, or its parts do not belong together."""


def sidecar_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix(SIDECAR_SUFFIX)


# ------------------------------------------------------------------------------------ atomic writes
class _Txn:
    def __init__(self):
        self.written: list[Path] = []            # files this transaction put in place
        self.backups: dict[Path, Path] = {}      # file it replaced -> the older version, kept beside it
        self.made_dirs: list[Path] = []          # folders it created (removed on failure if empty)
        self.after: list[Callable[[], None]] = []


_TXN: _Txn | None = None
_IMMEDIATE = 0


@contextlib.contextmanager
def transaction():
    """All-or-nothing outputs: files written inside are in place at once (a command may read what
    it wrote), but if the block fails they are removed, the files they replaced are restored and the
    folders it created are removed, so a failing command leaves nothing behind."""
    global _TXN
    if _TXN is not None:
        yield _TXN
        return
    _TXN = txn = _Txn()
    try:
        yield txn
    except BaseException:
        _TXN = None
        _rollback(txn)
        raise
    _TXN = None
    for backup in txn.backups.values():
        with contextlib.suppress(OSError):
            os.unlink(backup)
    for fn in txn.after:
        fn()


@contextlib.contextmanager
def immediate():
    """Writes inside are kept even if the surrounding transaction fails (checkpoints)."""
    global _IMMEDIATE
    _IMMEDIATE += 1
    try:
        yield
    finally:
        _IMMEDIATE -= 1


def after_commit(fn: Callable[[], None]) -> None:
    """Run `fn` once the current transaction has succeeded (now, outside one)."""
    if _TXN is None:
        fn()
    else:
        _TXN.after.append(fn)


def _rollback(txn: _Txn) -> None:
    for path in reversed(txn.written):
        with contextlib.suppress(OSError):
            os.unlink(path)
    for path, backup in txn.backups.items():
        with contextlib.suppress(OSError):
            os.replace(backup, path)
    for d in reversed(txn.made_dirs):
        with contextlib.suppress(OSError):
            d.rmdir()                             # only succeeds if it stayed empty


def _os_error(exc: OSError, path: Path) -> ArtifactError:
    why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
           errno.EACCES: "permission denied", errno.EPERM: "permission denied",
           errno.EROFS: "the file system is read-only", errno.ENOTDIR: "a parent is not a folder",
           errno.EISDIR: "it is a folder"}.get(exc.errno, exc.strerror or str(exc))
    return ArtifactError(f"cannot write {path}: {why}; free space or fix the folder's permissions, then re-run")


def _mkdirs(folder: Path) -> None:
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    if _TXN is not None and not _IMMEDIATE:
        _TXN.made_dirs.extend(reversed(missing))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask_mode() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return 0o666 & ~old


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    _atomic_write_all([(Path(path), write)])


def _atomic_write_all(items: list[tuple[Path, Callable[[str], None]]]) -> None:
    """Write every file to a temporary file beside it first, then rename them into place in order: a
    failing write (a full disk half-way) leaves every target as it was, tensors and sidecar alike."""
    tmps: dict[Path, str] = {}
    current = items[0][0]
    try:
        for path, write in items:
            current = path
            _mkdirs(path.parent)
            fd, tmps[path] = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            write(tmps[path])
            os.chmod(tmps[path], _umask_mode())
            fd = os.open(tmps[path], os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for i, (path, _) in enumerate(items):
            current = path
            if i and os.environ.get("UAP_FAULT_PAUSE_S"):   # fault injection for the kill-mid-save test only
                import time
                time.sleep(float(os.environ["UAP_FAULT_PAUSE_S"]))
            if _TXN is not None and not _IMMEDIATE and path not in _TXN.written:
                if path.exists() and path not in _TXN.backups:
                    backup = path.with_name(f".{path.name}.{os.getpid()}.bak")
                    os.replace(path, backup)
                    _TXN.backups[path] = backup
                _TXN.written.append(path)
            os.replace(tmps.pop(path), path)
            _fsync_dir(path.parent)
    except BaseException as exc:
        for tmp in tmps.values():
            if os.path.exists(tmp):
                os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, ArtifactError):
            raise _os_error(exc, current) from exc
        raise


def check_writable(folder: str | Path) -> None:
    """Fail now, not after an hour of work, if files cannot be created in `folder` (or in the
    nearest existing folder above it, where it is still to be made). Leaves nothing behind."""
    p = Path(folder)
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise ArtifactError(f"cannot write under {folder}: {p} exists and is not a folder")
    try:
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as exc:
        raise _os_error(exc, Path(folder)) from exc


# ------------------------------------------------------------------------------------ provenance
def code_version() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except Exception:
        return "unknown"


_VERSIONS: dict[str, str] | None = None


def _torchvision_version() -> str | None:
    """torchvision's `__version__` read from its version.py, without importing it: `import torchvision`
    pulls in torch._dynamo (1.7 s on this machine, in every job that writes an artifact). The installed
    distribution's metadata is no substitute: it drops the local build tag (0.29.1 vs 0.29.1+cu130)."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("torchvision")
    except (ImportError, ValueError):  # pragma: no cover
        return None
    for loc in (spec.submodule_search_locations or []) if spec else []:
        f = Path(loc) / "version.py"
        m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read_text(), re.M) if f.is_file() else None
        if m:
            return m.group(1)
    return None


def versions() -> dict[str, str]:
    global _VERSIONS
    if _VERSIONS is None:
        import numpy
        import safetensors
        import torch
        v = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
             "safetensors": safetensors.__version__, "code": code_version()}
        tv = _torchvision_version()
        if tv:
            v["torchvision"] = tv
        _VERSIONS = v
    from .utils import describe_device
    return {**_VERSIONS, **describe_device()}  # device (+ GPU name) of this process, torch.version.cuda


# ------------------------------------------------------------------------------------ JSON / CSV
def _finite_or_none(o):
    """JSON has no NaN/inf: a non-finite float (e.g. an epoch whose test accuracy was not measured)
    is written as null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite_or_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite_or_none(v) for v in o]
    return o


def _plain(o):
    if hasattr(o, "tolist"):       # torch / numpy tensors and numpy scalars (no torch import here)
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _to_json(obj: Any) -> str:
    plain = json.loads(json.dumps(obj, default=_plain))            # tensors/numpy scalars -> Python
    return json.dumps(_finite_or_none(plain), indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_text(path: str | Path, text: str) -> None:
    _atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, _to_json(obj))


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ArtifactMissing(f"{path} does not exist (run the rule that makes it)")
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactCorrupt(f"{path} is not valid JSON ({exc}); delete it and re-run the rule that makes it") from exc


def write_csv(path: str | Path, df) -> None:
    _atomic_write(Path(path), lambda tmp: df.to_csv(tmp, index=False))


# ------------------------------------------------------------------------------------ tensors
def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def check_finite(tensors: dict[str, torch.Tensor], what: str) -> None:
    """Raise NonFiniteError naming `what` and the first tensor holding a NaN or an infinity."""
    import torch
    for k, v in tensors.items():
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            bad = int((~torch.isfinite(v)).sum())
            raise NonFiniteError(f"{what}: tensor {k!r} has {bad} NaN/infinite value(s) of {v.numel()}")


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Save tensors as safetensors and `meta` (+ versions, shapes, the file's SHA-256) as the JSON
    sidecar next to it. Non-finite float tensors are refused (NonFiniteError) and nothing is written."""
    from safetensors.torch import save_file
    path = Path(path)
    clean, storages = {}, set()
    for k, v in tensors.items():
        t = v.detach().cpu().contiguous()
        ptr = t.untyped_storage().data_ptr()
        if ptr in storages:        # safetensors refuses tensors sharing memory (e.g. y is group_targets)
            t = t.clone()
        storages.add(t.untyped_storage().data_ptr())
        clean[k] = t
    check_finite(clean, f"refusing to write {path}")
    side = {**meta, "versions": versions(), "tensors": {
        k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")} for k, v in clean.items()}}
    _to_json(side)                                 # fail on an unserialisable sidecar before writing anything
    digest = {}

    def write(tmp):
        try:
            save_file(clean, tmp)
        except Exception as exc:      # safetensors reports a failed write as '… (os error 28)', not an OSError
            code = re.search(r"\(os error (\d+)\)", str(exc))
            if type(exc).__name__ != "SafetensorError" or not code:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from exc
        digest["sha256"] = file_sha256(tmp)

    # both files are written before either replaces its older version (a full disk keeps the old pair)
    _atomic_write_all([(path, write), (sidecar_path(path),
                                       lambda tmp: Path(tmp).write_text(_to_json({**side, "sha256": digest["sha256"]})))])


def load_checkpoint(ckpt: str | Path, key: str, identity: dict, desc: str,
                    device: str | torch.device = "cpu") -> tuple[dict, dict] | None:
    """(tensors, meta) of a resumable checkpoint whose sidecar `key` matches this run's; None, with one
    line saying why (missing, made with other settings: which, unreadable or non-finite), otherwise."""
    from .errors import ArtifactError
    ckpt = Path(ckpt)
    if not ckpt.is_file():
        return None
    try:
        meta = read_json(sidecar_path(ckpt))
        if meta.get("key") != key:
            old = meta.get("identity") or {}
            diff = sorted(k for k in identity if old.get(k) != identity[k])
            print(f"[{desc}] not resuming from checkpoint {ckpt}: it was made with other "
                  f"{', '.join(diff) or 'settings'}; starting afresh", flush=True)
            return None
        tensors, _ = load_tensors(ckpt, device=device)
        check_finite(tensors, f"checkpoint {ckpt}")
    except (ArtifactError, RuntimeError, ValueError) as exc:
        print(f"[{desc}] not resuming from checkpoint {ckpt}: {exc}; starting afresh", flush=True)
        return None
    return tensors, meta


def load_tensors(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    from safetensors.torch import load_file
    path = Path(path)
    src = path
    if not src.is_file():
        raise ArtifactMissing(f"artifact {path} does not exist (run the rule that makes it, or `dvc pull`)")
    side = sidecar_path(path)
    meta = read_json(side) if side.is_file() else {}
    if not isinstance(meta, dict):
        raise ArtifactCorrupt(f"{side} is not a JSON object; delete {path} and its sidecar and re-run")
    if meta.get("sha256") and meta["sha256"] != file_sha256(src):
        raise ArtifactCorrupt(f"artifact {path} does not match its sidecar {side.name} (SHA-256 differs: written "
                              "by different runs, or changed since); delete both and re-run the rule that makes it")
    try:
        tensors = load_file(str(src), device=str(device))
    except Exception as exc:
        raise ArtifactCorrupt(f"artifact {path} is not a readable safetensors file ({exc}); delete it and "
                              "re-run the rule that makes it") from exc
    return tensors, meta
