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


# Interpreters that read the classifier's last feature maps: they accept `feature_maps=` (the maps of
# the same forward that gave the logits), so an attack needs one forward and one backward, not two.
FROM_FEATURE_MAPS = {"cam", "gradcam"}


def classify_and_explain(model, x: torch.Tensor, interpreter: str, **options) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of x and the (differentiable, create_graph) maps of x for its predicted classes.

    For CAM and Grad-CAM both come from one forward pass through the trunk (`model.feature_maps`,
    then the GAP + linear head: the same operations as `model(x)`); for any other interpreter the
    classifier forward and the interpreter's own passes are separate."""
    fn = get_interpreter(interpreter)
    if interpreter in FROM_FEATURE_MAPS:
        a = model.feature_maps(x)
        logits = model.logits_from_maps(a)
        return logits, fn(model, x, logits.argmax(1).detach(), create_graph=True, feature_maps=a, **options)
    logits = model(x)
    return logits, fn(model, x, logits.argmax(1).detach(), create_graph=True, **options)


# Interpreter modules (each registers on import):
from . import integrated_gradients, saliency  # noqa: E402,F401  (S2: "ig", "sg")
from . import cam, gradcam, rts  # noqa: E402,F401  (S3)
