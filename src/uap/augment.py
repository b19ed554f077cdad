"""Standard augmentation on whole batches of tensors: random crop with zero padding + flips."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(x: torch.Tensor, padding: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """x: [N, C, H, W] float. One random crop offset (and flip) per image, all gathered at once."""
    n, c, h, w = x.shape
    if padding > 0:
        xp = F.pad(x, (padding, padding, padding, padding))
        oy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
        ox = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
        rows = (oy[:, None] + torch.arange(h, device=x.device)[None])          # [N, H]
        cols = (ox[:, None] + torch.arange(w, device=x.device)[None])          # [N, W]
        x = xp[torch.arange(n, device=x.device)[:, None, None, None], torch.arange(c, device=x.device)[None, :, None, None],
               rows[:, None, :, None], cols[:, None, None, :]]
    if flip:
        m = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(m[:, None, None, None], x.flip(3), x)
    return x
