"""RTS: real-time saliency (Dabkowski & Gal), the model-based interpreter of 002_0c35d062ce311dce.txt.

A small encoder–decoder `SaliencyMasker` predicts a mask m ∈ (0,1)^{H×W} for an image and a class
(the class selects a learned embedding that gates the bottleneck). It is trained against a frozen
classifier f with eq. 12:

    L_rts = λ1·TV(m) + λ2·mean(m) − log f_c(φ(x, m)) + λ3·f_c(φ(x, 1−m))^λ4,

where φ(x, m) = m·x + (1−m)·x_alt blends the image with an alternative (a blurred copy plus
Gaussian noise, clipped to [0,1]) and f_c is the softmax probability of class c. Our training rule:
c = the classifier's prediction on the clean image, Adam, a fixed number of steps over the training
images (config s3.rts). The interpreter `rts` returns m (eq. 14: I = R_ϖ(x)); its weights come from
`masker=` (a module) or `path=` (safetensors + JSON sidecar written by `save_masker`).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

from . import register
from ..artifacts import load_tensors, save_tensors
from ..optim import adam
from ..utils import progress


class SaliencyMasker(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: int = 16):
        super().__init__()
        w = width
        self.spec = {"in_channels": in_channels, "num_classes": num_classes, "width": width}
        self.enc1 = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU())
        self.enc3 = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU())
        self.embed = nn.Embedding(num_classes, 4 * w)          # class selector
        self.dec2 = nn.Sequential(nn.Conv2d(4 * w + 2 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU())
        self.dec1 = nn.Sequential(nn.Conv2d(2 * w + w, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU())
        self.out = nn.Conv2d(w, 1, 1)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        return [e1, e2, self.enc3(e2)]

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        e1, e2, e3 = self.encode(x)
        z = e3 * torch.sigmoid(self.embed(target))[:, :, None, None]
        d2 = self.dec2(torch.cat([F.interpolate(z, size=e2.shape[-2:], mode="nearest"), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:], mode="nearest"), e1], 1))
        return torch.sigmoid(self.out(d1))                     # [B, 1, H, W]


def total_variation(m: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring mask values, per image [B]."""
    dh = (m[..., 1:, :] - m[..., :-1, :]).pow(2).flatten(1).mean(1)
    dw = (m[..., :, 1:] - m[..., :, :-1]).pow(2).flatten(1).mean(1)
    return dh + dw


def alternative(x: torch.Tensor, gen: torch.Generator | None = None, noise: float = 0.1) -> torch.Tensor:
    blur = F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    n = torch.randn(x.shape, generator=gen).to(x.device) * noise
    return (blur + n).clamp(0, 1)


def rts_loss(model, m: torch.Tensor, x: torch.Tensor, c: torch.Tensor, x_alt: torch.Tensor, *, tv: float,
             area: float, destroy: float, destroy_power: float) -> torch.Tensor:
    """Eq. 12, averaged over the batch (m: [B,1,H,W])."""
    keep = m * x + (1 - m) * x_alt                              # φ(x, m): the preserved region
    drop = (1 - m) * x + m * x_alt                              # φ(x, 1 − m): the region removed
    logp_keep = F.log_softmax(model(keep), 1).gather(1, c[:, None])[:, 0]
    p_drop = F.softmax(model(drop), 1).gather(1, c[:, None])[:, 0]
    loss = (tv * total_variation(m) + area * m.flatten(1).mean(1) - logp_keep
            + destroy * p_drop.clamp_min(1e-8).pow(destroy_power))
    return loss.mean()


def train_masker(model, x: torch.Tensor, masker: SaliencyMasker, *, steps: int, batch_size: int, lr: float,
                 tv: float, area: float, destroy: float, destroy_power: float, gen: torch.Generator,
                 device="cpu", desc: str = "rts") -> list[float]:
    """Train `masker` in place against the frozen classifier on images x ([N,C,H,W] floats in [0,1]).
    Returns the per-step loss curve."""
    from ..metrics import predict
    device = torch.device(device)
    x = x.to(device)
    c_all = predict(model, x, device=device).to(device)
    masker.to(device).train()
    opt = adam(masker.parameters(), lr=lr)
    curve = []
    for _ in progress(range(steps), desc=desc, unit="step"):
        idx = torch.randint(0, x.shape[0], (batch_size,), generator=gen).to(device)
        xb, cb = x[idx], c_all[idx]
        loss = rts_loss(model, masker(xb, cb), xb, cb, alternative(xb, gen), tv=tv, area=area, destroy=destroy,
                        destroy_power=destroy_power)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        curve.append(float(loss.detach()))
    masker.eval()
    return curve


def save_masker(path, masker: SaliencyMasker, meta: dict) -> None:
    save_tensors(path, masker.state_dict(), {"masker": masker.spec, **meta})


_CACHE: dict[str, SaliencyMasker] = {}


def load_masker(path, device="cpu") -> SaliencyMasker:
    key = f"{Path(path).resolve()}@{device}"
    if key not in _CACHE:
        tensors, meta = load_tensors(path, device="cpu")
        if "masker" not in meta:
            raise ValueError(f"{path}: its sidecar has no 'masker' spec; it is not an RTS artifact")
        m = SaliencyMasker(**meta["masker"])
        m.load_state_dict(tensors)
        m.to(device).eval()
        for p in m.parameters():
            p.requires_grad_(False)
        _CACHE[key] = m
    return _CACHE[key]


def resolve_masker(masker=None, path=None, device="cpu") -> SaliencyMasker:
    if masker is not None:
        return masker
    if path is None:
        raise ValueError("the rts interpreter needs masker= (a SaliencyMasker) or path= (its .safetensors)")
    return load_masker(path, device)


@register("rts")
def rts(model, x, target, *, create_graph: bool = False, masker: SaliencyMasker | None = None, path=None,
        **_) -> torch.Tensor:
    """RTS attribution map R_ϖ(x) for class `target` [B] → [B, H, W] in (0, 1)."""
    net = resolve_masker(masker, path, x.device)
    with (torch.enable_grad() if create_graph else torch.no_grad()):
        m = net(x, target.to(x.device))[:, 0]
    return m if create_graph else m.detach()
