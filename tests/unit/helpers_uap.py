"""Small helpers shared by the unit tests (a uniquely named module, not conftest, so that a
conftest.py elsewhere cannot shadow it)."""
from __future__ import annotations

import torch


def tiny_resnet(num_classes: int = 3, in_channels: int = 1, image_size: int = 8, seed: int = 0,
                logit_scale: float = 1.0):
    """ResNet-18 of width 2. A freshly initialised one is almost constant on random inputs;
    `logit_scale` multiplies its linear head so that its outputs respond to the input."""
    from uap.models import build_model
    torch.manual_seed(seed)
    m = build_model("resnet18", in_channels=in_channels, num_classes=num_classes, width=2,
                    image_size=image_size, mean=[0.5] * in_channels, std=[0.25] * in_channels)
    if logit_scale != 1.0:
        with torch.no_grad():
            m.net.linear.weight.mul_(logit_scale)
    return m
