"""Standard and robust accuracy of a model (S1 Table 7 analogue).

Robust accuracy is the accuracy under untargeted PGD with a random start (the training adversary
of `uap.train`, here with more steps): the fraction of images still classified correctly."""
from __future__ import annotations

import torch

from ..metrics import accuracy, as_float, predict
from ..threats import Threat
from ..train import untargeted_pgd
from ..utils import progress


def robust_accuracy(model, x: torch.Tensor, y: torch.Tensor, threat: Threat, *, steps: int, step_ratio: float,
                    generator: torch.Generator, device="cpu", batch_size: int = 512) -> dict:
    """{"standard": clean accuracy, "robust": accuracy on PGD(steps, step_ratio·ε) adversarial inputs}."""
    device = torch.device(device)
    was = model.training
    model.eval()
    adv = []
    try:
        for i in progress(range(0, x.shape[0], batch_size), desc=f"PGD {threat.name} eps={threat.eps:g}"):
            xb = as_float(x[i:i + batch_size].to(device))
            adv.append(untargeted_pgd(model, xb, y[i:i + batch_size].to(device), threat, steps, step_ratio,
                                      generator).cpu())
    finally:
        model.train(was)
    clean = predict(model, x, device=device)
    robust = predict(model, torch.cat(adv), device=device)
    return {"standard": accuracy(clean, y), "robust": accuracy(robust, y)}
