"""Device, seeding, precision and progress helpers shared by every command."""
from __future__ import annotations

import contextlib
import os
import random
import sys

import numpy as np
import torch
from tqdm.auto import tqdm


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available on this machine")
    return torch.device(name)


def setup_runtime(seed: int, threads: int | None = None, deterministic: bool = True) -> None:
    """Seed every RNG; on the CPU also ask for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(int(threads))
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def autocast(device: torch.device, precision: str):
    """bf16/fp16 autocast on CUDA when asked for; a no-op on the CPU or in fp32."""
    if device.type == "cuda" and precision in ("bf16", "fp16"):
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return contextlib.nullcontext()


def progress(iterable=None, **kw):
    """tqdm to stderr; in logs (no TTY) it updates every 10 s instead of every step."""
    tty = sys.stderr.isatty()
    kw.setdefault("mininterval", 0.5 if tty else 10.0)
    kw.setdefault("dynamic_ncols", True)
    kw.setdefault("file", sys.stderr)
    kw.setdefault("disable", os.environ.get("UAP_NO_PROGRESS") == "1")
    return tqdm(iterable, **kw)


def to_channels_last(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    return model.to(device=device, memory_format=torch.channels_last)
