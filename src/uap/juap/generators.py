"""Perturbation generators of JUAP (eq. 5–6): fixed noise n ~ U(0,1) → G_θ(n) → scaled to ‖·‖_p ≤ ζ.

`resnet`: a ResNet generator (Johnson et al.-style: 7×7 stem, two stride-2 downsamplings, residual
blocks, two upsamplings, tanh); `unet`: a U-Net (five 3×3 convolutions on the way down, with skip
connections into the symmetric upsampling path, tanh). Both accept any input size (the decoder
resizes to the skip's size) and use instance norm (the input is a single noise image)."""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F


def _block(cin, cout, stride=1, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2),
                         nn.InstanceNorm2d(cout, affine=True), nn.ReLU())


class _Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(_block(c, c), nn.Conv2d(c, c, 3, padding=1), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(self, channels: int, width: int = 16, blocks: int = 3):
        super().__init__()
        self.stem = _block(channels, width, k=7)
        self.down = nn.Sequential(_block(width, 2 * width, 2), _block(2 * width, 4 * width, 2))
        self.res = nn.Sequential(*[_Residual(4 * width) for _ in range(blocks)])
        self.up1 = _block(4 * width, 2 * width)
        self.up2 = _block(2 * width, width)
        self.out = nn.Conv2d(width, channels, 7, padding=3)

    def forward(self, n: torch.Tensor) -> torch.Tensor:
        s = self.stem(n)
        h = self.res(self.down(s))
        h = self.up1(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = self.up2(F.interpolate(h, size=s.shape[-2:], mode="nearest"))
        return torch.tanh(self.out(h))


class UNetGenerator(nn.Module):
    def __init__(self, channels: int, width: int = 16, blocks: int = 3):
        super().__init__()
        w = width
        self.d1 = _block(channels, w)
        self.d2 = _block(w, 2 * w, 2)
        self.d3 = _block(2 * w, 4 * w, 2)
        self.d4 = _block(4 * w, 4 * w)
        self.d5 = _block(4 * w, 4 * w)
        self.u2 = _block(4 * w + 2 * w, 2 * w)
        self.u1 = _block(2 * w + w, w)
        self.out = nn.Conv2d(w, channels, 1)

    def forward(self, n: torch.Tensor) -> torch.Tensor:
        e1 = self.d1(n)
        e2 = self.d2(e1)
        h = self.d5(self.d4(self.d3(e2)))
        h = self.u2(torch.cat([F.interpolate(h, size=e2.shape[-2:], mode="nearest"), e2], 1))
        h = self.u1(torch.cat([F.interpolate(h, size=e1.shape[-2:], mode="nearest"), e1], 1))
        return torch.tanh(self.out(h))


GENERATORS = {"resnet": ResnetGenerator, "unet": UNetGenerator}


def build_generator(arch: str, channels: int, width: int = 16, blocks: int = 3) -> nn.Module:
    if arch not in GENERATORS:
        raise KeyError(f"unknown generator {arch!r}; known: {sorted(GENERATORS)}")
    return GENERATORS[arch](channels, width, blocks)


P_OF = {"l2": 2.0, "linf": math.inf}


def scale_to_norm(g: torch.Tensor, norm: str, zeta: float) -> torch.Tensor:
    """Eq. 6 (and 17): min(1, ζ/‖g_i‖_p)·g_i for every g_i of the batch g [B, ...]."""
    if norm not in P_OF:
        raise KeyError(f"unknown norm {norm!r}; known: {sorted(P_OF)}")
    if not zeta > 0:
        raise ValueError(f"zeta must be > 0, got {zeta!r}")
    n = g.flatten(1).norm(p=P_OF[norm], dim=1).clamp_min(1e-12)
    return g * torch.clamp(zeta / n, max=1.0).view(-1, *([1] * (g.dim() - 1)))
