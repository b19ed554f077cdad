"""VGG with batch norm, sized for small images (CIFAR/Fashion-MNIST) by a width multiplier."""
from __future__ import annotations

import torch
from torch import nn

CFGS = {
    "vgg11": [1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M"],
    "vgg16": [1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M", 8, 8, 8, "M"],
    "vgg19": [1, 1, "M", 2, 2, "M", 4, 4, 4, 4, "M", 8, 8, 8, 8, "M", 8, 8, 8, 8, "M"],
}


class VGG(nn.Module):
    def __init__(self, cfg: list, in_channels: int, num_classes: int, width: int = 64, image_size: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        size = image_size
        for v in cfg:
            if v == "M":
                # Small inputs (28x28) would shrink below 1x1: stop pooling at 1.
                if size >= 2:
                    layers.append(nn.MaxPool2d(2))
                    size //= 2
                continue
            out = v * width
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            c = out
        self.body = nn.Sequential(*layers)
        self.linear = nn.Linear(c, num_classes)
        self.feature_dim = c

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(self.body(x), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))


def vgg(name: str, in_channels: int, num_classes: int, width: int = 64, image_size: int = 32) -> VGG:
    return VGG(CFGS[name], in_channels, num_classes, width, image_size)
