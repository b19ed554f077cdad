"""Execution settings: how a run is executed, not what it computes.

Snakemake passes them to every command through environment variables (never as params, so changing
them re-runs nothing); the CLI lets them override the config's value. Imports nothing heavy: the
Snakefile uses it while it builds the DAG."""
from __future__ import annotations

import os

EXECUTION_ENV = {"device": "UAP_DEVICE", "max_batch_images": "UAP_MAX_BATCH_IMAGES"}
GPU_ALLOCATION_VARS = ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS")


def execution_env(cfg: dict) -> dict[str, str]:
    """The environment variables that carry cfg's execution settings to a command."""
    return {var: str(cfg[key]) for key, var in EXECUTION_ENV.items() if key in cfg}


def apply_execution_env(cfg: dict, environ=None) -> dict:
    """cfg with its execution settings taken from the environment where set there."""
    from .config import ConfigError
    environ = os.environ if environ is None else environ
    out = dict(cfg)
    if environ.get("UAP_DEVICE"):
        out["device"] = environ["UAP_DEVICE"]
    if environ.get("UAP_MAX_BATCH_IMAGES"):
        try:
            out["max_batch_images"] = int(environ["UAP_MAX_BATCH_IMAGES"])
        except ValueError:
            raise ConfigError(f"UAP_MAX_BATCH_IMAGES: {environ['UAP_MAX_BATCH_IMAGES']!r} is not an integer") from None
        if out["max_batch_images"] < 1:
            raise ConfigError(f"UAP_MAX_BATCH_IMAGES: {out['max_batch_images']} is less than the minimum of 1")
    return out


def allocated_gpus(environ=None) -> str | None:
    """The GPU list a scheduler allocated (CUDA_VISIBLE_DEVICES / SLURM_JOB_GPUS), or None.

    Empty values and the "no GPU" markers ("", "-1", "NoDevFiles") mean nothing was allocated."""
    environ = os.environ if environ is None else environ
    for var in GPU_ALLOCATION_VARS:
        val = environ.get(var, "").strip()
        if val and val not in ("-1", "NoDevFiles", "none"):
            return f"{var}={val}"
    return None
