"""Device, seeding, precision and progress helpers shared by every command."""
from __future__ import annotations

import contextlib
import os
import random
import sys

import numpy as np
import torch
from tqdm.auto import tqdm

from .execution import allocated_gpus


def resolve_device(name: str = "auto", environ=None) -> torch.device:
    """The torch device for config.device, logged on stderr.

    `auto` picks CUDA when it works and the CPU otherwise, except that a job which was allocated a
    GPU (CUDA_VISIBLE_DEVICES / SLURM_JOB_GPUS set) but cannot use CUDA is an error rather than a
    silent, many-times-slower CPU run (typically a driver older than the torch build needs)."""
    from .errors import DeviceError
    usable = torch.cuda.is_available()
    if name == "auto":
        gpus = allocated_gpus(environ)
        if not usable and gpus:
            raise DeviceError(
                f"config.device: auto, and a GPU was allocated ({gpus}) but CUDA is unusable with torch "
                f"{torch.__version__} (CUDA {torch.version.cuda}): check the NVIDIA driver against this torch "
                "build (README, GPU), or set device: cpu")
        dev = torch.device("cuda" if usable else "cpu")
        reason = "CUDA is available" if usable else "CUDA is not available and no GPU was allocated"
    else:
        if name.startswith("cuda") and not usable:
            raise DeviceError(f"config.device: {name!r}, but CUDA is not available on this machine "
                              f"(torch {torch.__version__}, CUDA {torch.version.cuda})")
        dev = torch.device(name)
        reason = "as configured"
    global RESOLVED_DEVICE
    RESOLVED_DEVICE = dev
    print(f"device: {describe_device(dev)['device']} ({reason})", flush=True)   # stdout: the rule log; stderr stays for errors
    return dev


RESOLVED_DEVICE: torch.device | None = None  # the device this process computes on (resolve_device)
RESOLVED_PRECISION: str | None = None        # the precision it computes in (resolve_precision)


def native_bf16(dev: torch.device) -> tuple[bool, str]:
    """Whether `dev` runs bf16 convolutions and matrix products natively, and what was checked.

    CUDA: `torch.cuda.is_bf16_supported()`. CPU: AVX-512 BF16 or AMX instructions (oneDNN's fast bf16
    kernels). Without them oneDNN emulates bf16: on an AVX2-only CPU a width-16 ResNet-18 training
    step (128 images, 1 thread) took 4.8 s in bf16 against 0.5 s in fp32."""
    dev = torch.device(dev)
    if dev.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ok, f"{torch.cuda.get_device_name(dev)}: bf16 {'supported' if ok else 'not supported'}"
    ok = bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    return ok, f"CPU {torch.backends.cpu.get_cpu_capability()}, {'with' if ok else 'without'} AVX-512 BF16/AMX"


def resolve_precision(name: str, dev: torch.device, reason: str = "as configured") -> str:
    """The precision this process computes in for config.precision, logged on stdout.

    `auto` is bf16 where the device runs it natively (`native_bf16`) and fp32 elsewhere; the result
    differs between machines and is recorded in every sidecar (`describe_device`). An explicit value
    is kept; bf16 on a CPU without bf16 kernels is only slow, so it is kept with a warning on stderr."""
    native, why = native_bf16(dev) if name in ("auto", "bf16") else (None, "")
    if name == "auto":
        out, reason = ("bf16" if native else "fp32"), f"auto: {why}"
    else:
        out = name
        if name == "bf16" and not native:
            print(f"warning: config.precision: bf16, but {why}: it runs emulated, far slower than fp32; "
                  "set precision: auto (or fp32)", file=sys.stderr, flush=True)
    global RESOLVED_PRECISION
    RESOLVED_PRECISION = out
    print(f"precision: {out} ({reason})", flush=True)
    return out


def describe_device(dev: torch.device | str | None = None) -> dict[str, str]:
    """Device, GPU name (CPU: its vector ISA), the CUDA version torch was built with and the precision
    this process resolved, for logs and sidecars.

    Without `dev`, the device this process resolved ("none" if it computed nothing on a device)."""
    dev = dev if dev is not None else RESOLVED_DEVICE
    if dev is None:
        return {"device": "none", "torch_cuda": str(torch.version.cuda)}
    dev = torch.device(dev)
    info = {"device": str(dev), "torch_cuda": str(torch.version.cuda)}
    if dev.type == "cpu":
        info["cpu_isa"] = torch.backends.cpu.get_cpu_capability()
    if RESOLVED_PRECISION is not None:
        info["precision"] = RESOLVED_PRECISION
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
        info["device"] = f"{dev} ({info['gpu']})"
    return info


def setup_runtime(seed: int, threads: int | None = None, deterministic: bool = True) -> None:
    """Seed every RNG; on the CPU also ask for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(int(threads))
    if deterministic:
        deterministic_kernels()
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def deterministic_kernels() -> None:
    """`torch.use_deterministic_algorithms(True, warn_only=True)` without its `import torch._inductor`,
    which loads torch._dynamo and triton (2-4 s in every process on this machine). Inductor's own
    flag matters only to torch.compile, which this package does not use; it is set too when inductor
    is already loaded."""
    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        inductor.deterministic = True
    set_flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_flag is None:  # pragma: no cover - a torch without the private setter
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        set_flag(True, warn_only=True)


@contextlib.contextmanager
def sigterm_flag():
    """Inside the block, SIGTERM (what SLURM sends at a time limit, before SIGKILL after its grace
    period) does not kill the process: it sets flag["signal"], which a long loop checks at a safe point
    (the end of a batch) to checkpoint and raise errors.Terminated. Outside the main thread, where
    handlers cannot be installed, the flag is never set and SIGTERM keeps its default action."""
    import signal
    import threading
    flag = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag["signal"] = signal.Signals(signum).name
    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, old)


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def autocast(device: torch.device, precision: str):
    """Mixed-precision autocast for forward passes.

    - CUDA: bf16 or fp16 as asked.
    - CPU: bf16 (oneDNN; fast on CPUs with AVX-512 BF16 or AMX, e.g. 1.4-1.6x for the default
      ResNet-18/VGG training steps on this project's 2-core machine). fp16 on the CPU runs fp32.
    - fp32: a no-op.
    Inputs, perturbations, losses and gradients stay fp32: only convolutions and matrix products
    run in the low precision."""
    device = torch.device(device)
    if precision == "bf16" and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision == "fp16" and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
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
