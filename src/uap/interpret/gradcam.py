"""Grad-CAM (Selvaraju et al.), eq. 11 of 002_0c35d062ce311dce.txt, at the last convolutional stage:
w_c^k = (1/V) Σ_ij ∂f_c/∂A^k_ij, I_c(i,j) = ReLU(Σ_k w_c^k A^k_ij). Grad-CAM keeps only the regions of
positive influence on the class (the ReLU of Selvaraju et al.); without it (relu=False), on a GAP +
linear head (∂f_c/∂A^k_ij = w_c^k / V) the map is CAM divided by V (tested), so the ReLU is what makes
Grad-CAM a different interpreter from CAM here."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import register
from ._maps import check_head, upsample


@register("gradcam")
def gradcam(model, x, target, *, create_graph: bool = False, relu: bool = True, upsample_to_input: bool = True,
            feature_maps: torch.Tensor | None = None, **_) -> torch.Tensor:
    """Grad-CAM map of class `target` [B]; create_graph keeps the weights' own graph (double
    backprop, with the eq. 15 surrogate when called inside smooth_relu_gradient()).
    feature_maps: model.feature_maps(x) when the caller already has them (one forward for both)."""
    check_head(model)
    with torch.enable_grad():
        a = model.feature_maps(x) if feature_maps is None else feature_maps
        if not a.requires_grad:                      # frozen model and x without grad: maps only
            a = a.detach().requires_grad_(True)
        logits = model.logits_from_maps(a)
        sel = logits.gather(1, target.to(logits.device).view(-1, 1)).sum()
        (g,) = torch.autograd.grad(sel, a, create_graph=create_graph)
        w = g.mean(dim=(2, 3))                       # (1/V) Σ_ij ∂f_c/∂A^k_ij
        m = torch.einsum("bk,bkhw->bhw", w, a)
        if relu:
            m = F.relu(m)
        if upsample_to_input:
            m = upsample(m, x.shape[-2:])
    return m if create_graph else m.detach()
