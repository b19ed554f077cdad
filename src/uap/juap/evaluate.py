"""Evaluation of a perturbation against a classifier and its interpreters: fooling ratio (eq. 18,
against the clean predictions), ℓ1 discrepancy (eq. 19) and IoU (eq. 20) of the maps, each map
explaining the class its own input is predicted as."""
from __future__ import annotations

import torch

from ..interpret import get_interpreter
from ..metrics import as_float, fooling_rate, map_iou, map_l1, predict
from ..threats import apply_perturbation
from .juap import interp_options


def maps_of(model, x: torch.Tensor, pred: torch.Tensor, interpreter: str, masker=None,
            batch_size: int = 256) -> torch.Tensor:
    fn = get_interpreter(interpreter)
    opts = interp_options(interpreter, masker)
    return torch.cat([fn(model, x[i:i + batch_size], pred[i:i + batch_size], **opts).cpu()
                      for i in range(0, x.shape[0], batch_size)])


class Evaluator:
    """Clean predictions and clean maps of the evaluation images, computed once."""

    def __init__(self, model, x: torch.Tensor, interpreters: list[str], *, masker=None, device="cpu",
                 iou_threshold: float = 0.5):
        self.model, self.device, self.masker = model, torch.device(device), masker
        self.x = as_float(x).to(self.device)
        self.interpreters = list(interpreters)
        self.iou_threshold = iou_threshold
        self.clean = predict(model, self.x, device=self.device)
        self.clean_maps = {i: maps_of(model, self.x, self.clean.to(self.device), i, masker)
                           for i in self.interpreters}

    def adversarial(self, delta: torch.Tensor) -> torch.Tensor:
        d = delta.to(self.device)
        return apply_perturbation(self.x, d if d.dim() == self.x.dim() else d[None])

    def __call__(self, delta: torch.Tensor) -> dict:
        """delta: one universal perturbation [C,H,W] or one per image [N,C,H,W]."""
        xa = self.adversarial(delta)
        adv = predict(self.model, xa, device=self.device)
        out = {"fooling_ratio": fooling_rate(self.clean, adv)}
        fooled = adv != self.clean
        for i in self.interpreters:
            m = maps_of(self.model, xa, adv.to(self.device), i, self.masker)
            l1 = map_l1(self.clean_maps[i], m)
            iou = map_iou(self.clean_maps[i], m, self.iou_threshold)
            out[f"l1_{i}"], out[f"iou_{i}"] = float(l1.mean()), float(iou.mean())
            # on the fooled images only (a perturbation that fools fewer images keeps more maps trivially)
            out[f"l1_fooled_{i}"] = float(l1[fooled].mean()) if fooled.any() else float("nan")
            out[f"iou_fooled_{i}"] = float(iou[fooled].mean()) if fooled.any() else float("nan")
        return out

    def example_maps(self, delta: torch.Tensor, n: int) -> dict[str, torch.Tensor]:
        xa = self.adversarial(delta)[:n]
        adv = predict(self.model, xa, device=self.device)
        return {i: maps_of(self.model, xa, adv.to(self.device), i, self.masker) for i in self.interpreters}
