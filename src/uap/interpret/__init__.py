"""Interpretation registry (shared by S2 and S3): name → function.

Every interpreter has the signature

    fn(model, x, target, *, create_graph: bool = False, **options) -> Tensor [B, H, W]

with `model` a `Normalized` classifier (inputs in [0,1] pixel space), `x` a float batch
[B, C, H, W] and `target` the class indices [B] whose evidence is explained. With
`create_graph=True` the maps stay differentiable in `x` (double backprop), which the attacks
that perturb interpretations need. An interpreter module registers itself with `@register`.
"""
from __future__ import annotations

from typing import Callable

import torch

INTERPRETERS: dict[str, Callable[..., torch.Tensor]] = {}


def register(name: str):
    def deco(fn):
        if name in INTERPRETERS:
            raise ValueError(f"interpreter {name!r} registered twice")
        INTERPRETERS[name] = fn
        return fn
    return deco


def get_interpreter(name: str) -> Callable[..., torch.Tensor]:
    if name not in INTERPRETERS:
        raise KeyError(f"unknown interpreter {name!r}; known: {sorted(INTERPRETERS)}")
    return INTERPRETERS[name]


# Interpreter modules (each registers on import):
from . import integrated_gradients, saliency  # noqa: E402,F401  (S2: "ig", "sg")
from . import cam, gradcam, rts  # noqa: E402,F401  (S3)
