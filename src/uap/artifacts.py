"""Artifacts on disk: tensors/weights as safetensors + a JSON sidecar; tables as CSV.

Nothing here unpickles anything. Writes go to a temporary file first and are renamed into place,
so a crash never leaves a half-written artifact that a later run would trust.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

SIDECAR_SUFFIX = ".json"


def sidecar_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix(SIDECAR_SUFFIX)


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def code_version() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def versions() -> dict[str, str]:
    import numpy
    import safetensors

    from .utils import describe_device
    v = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
         "safetensors": safetensors.__version__, "code": code_version(),
         **describe_device()}  # device (+ GPU name) of this process, torch.version.cuda
    try:
        import torchvision
        v["torchvision"] = torchvision.__version__
    except Exception:  # pragma: no cover
        pass
    return v


def write_json(path: str | Path, obj: Any) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"
    _atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def _json_default(o):
    if isinstance(o, torch.Tensor):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Save tensors as safetensors and `meta` (+ versions) as the JSON sidecar next to it."""
    path = Path(path)
    clean = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    _atomic_write(path, lambda tmp: save_file(clean, tmp))
    write_json(sidecar_path(path), {**meta, "versions": versions(), "tensors": {
        k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")} for k, v in clean.items()}})


def load_tensors(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"artifact {path} does not exist (run the rule that makes it, or `dvc pull`)")
    try:
        tensors = load_file(str(path), device=str(device))
    except Exception as exc:
        raise ValueError(f"artifact {path} is not a readable safetensors file ({exc}); delete it and re-run") from exc
    side = sidecar_path(path)
    meta = read_json(side) if side.is_file() else {}
    return tensors, meta


def write_csv(path: str | Path, df) -> None:
    _atomic_write(Path(path), lambda tmp: df.to_csv(tmp, index=False))
