"""CAM (Zhou et al.), eq. 10 of 002_0c35d062ce311dce.txt: I_c(i,j) = Σ_k w_c^k A^k_ij with A the last
convolutional feature maps and w_c the linear head's weights of class c (GAP + linear head)."""
from __future__ import annotations


import torch
import torch.nn.functional as F

from . import register
from ._maps import check_head, upsample


@register("cam")
def cam(model, x, target, *, create_graph: bool = False, relu: bool = False, upsample_to_input: bool = True,
        feature_maps: torch.Tensor | None = None, **_) -> torch.Tensor:
    """Class activation map of class `target` [B]; [B, H, W] (input size) or [B, h, w]. No ReLU
    on the map unless `relu` (eq. 10 has none). Differentiable in x when create_graph.
    feature_maps: model.feature_maps(x) when the caller already has them (one forward for both)."""
    check_head(model)
    with (torch.enable_grad() if create_graph else torch.no_grad()):
        a = model.feature_maps(x) if feature_maps is None else feature_maps
        w = model.net.linear.weight[target.to(a.device)]            # [B, K]
        m = torch.einsum("bk,bkhw->bhw", w.to(a.dtype), a)
        if relu:
            m = F.relu(m)
        if upsample_to_input:
            m = upsample(m, x.shape[-2:])
    return m if create_graph else m.detach()


