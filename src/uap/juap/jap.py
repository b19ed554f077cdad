"""The image-dependent variant JAP (eq. 17 of 002_0c35d062ce311dce.txt): every image i gets its own
generator G_θi, trained with JUAP's objective on that image alone, n̂_i = min(1, ζ/‖G_θi(n)‖_p)·G_θi(n).

Batched: the generators of a chunk of B images are one network of grouped convolutions (groups = B),
so group i sees only its own noise channels and its own parameters — B independent generators in
one forward pass. Per-image losses are summed, so each generator gets exactly its own gradient."""
from __future__ import annotations

import torch
from torch import nn

from ..interpret import classify_and_explain, get_interpreter
from ..interpret.smooth_relu import smooth_relu_gradient
from ..metrics import as_float
from ..optim import adam
from ..threats import apply_perturbation
from ..utils import progress
from .generators import scale_to_norm
from .juap import interp_options
from .losses import classifier_loss, interpretation_shift, joint_loss


class GroupedGenerators(nn.Module):
    """B independent small residual generators (3×3 convolutions, ReLU, tanh output)."""

    def __init__(self, b: int, channels: int, width: int = 8):
        super().__init__()
        self.b, self.c = b, channels
        self.inp = nn.Conv2d(b * channels, b * width, 3, padding=1, groups=b)
        self.mid = nn.Conv2d(b * width, b * width, 3, padding=1, groups=b)
        self.out = nn.Conv2d(b * width, b * channels, 3, padding=1, groups=b)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:         # noise [1, B*C, H, W]
        h = torch.relu(self.inp(noise))
        h = h + torch.relu(self.mid(h))
        return torch.tanh(self.out(h)).view(self.b, self.c, *noise.shape[-2:])


def train_jap(model, x: torch.Tensor, y: torch.Tensor, *, norm: str, zeta: float, interpreter: str, lam: float,
              delta: float, loss: str = "ce", steps: int = 50, lr: float = 0.01, width: int = 8, chunk: int = 100,
              smooth_relu: bool = True, masker=None, gen: torch.Generator, device="cpu") -> torch.Tensor:
    """One perturbation per image of x ([N,C,H,W]); labels y are C_x of eq. 7. Returns [N,C,H,W]."""
    device = torch.device(device)
    interp = get_interpreter(interpreter)
    opts = interp_options(interpreter, masker)
    out = []
    for s in range(0, x.shape[0], chunk):
        xb = as_float(x[s:s + chunk]).to(device)
        yb = y[s:s + chunk].to(device)
        b = xb.shape[0]
        with torch.no_grad():
            clean_pred = model(xb).argmax(1)
            labels = model(xb).argmin(1) if loss == "least_likely" else yb
        clean_maps = interp(model, xb, clean_pred, **opts)
        G = GroupedGenerators(b, xb.shape[1], width).to(device)
        noise = torch.rand((1, b * xb.shape[1], *xb.shape[2:]), generator=gen).to(device)
        opt = adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
        for _ in progress(range(steps), desc=f"jap {s // chunk + 1}", unit="step"):
            d = scale_to_norm(G(noise), norm, zeta)
            xa = apply_perturbation(xb, d)
            with smooth_relu_gradient(enabled=smooth_relu and lam > 0):
                if lam > 0:
                    logits, adv_maps = classify_and_explain(model, xa, interpreter, **opts)
                else:
                    logits = model(xa)
                l_cls = classifier_loss(logits, loss, labels, reduce=False)
                l_int = interpretation_shift(adv_maps, clean_maps, reduce=False) if lam > 0 else torch.zeros_like(l_cls)
            total = joint_loss(l_cls, l_int, delta, lam).sum()
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
        with torch.no_grad():
            out.append(scale_to_norm(G(noise), norm, zeta).cpu())
    return torch.cat(out)
