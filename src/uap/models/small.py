"""The small networks of S2 (000_0f31663abaa95f9e.txt, Sec. 4): a 2-layer CNN, a 2-layer fully
connected net (both with ReLU, as in the paper's MNIST experiments) and a MobileNet-v2-style net.

Every activation is an `nn.ReLU`/`nn.ReLU6` *module* (never the functional form), so the attacks
of S2 can swap them for smooth surrogates when they differentiate through an interpretation
(`uap.models.smooth`). `width` sets the channels (CNN, MobileNet) or the hidden units / 8 (FCN).
"""
from __future__ import annotations

import torch
from torch import nn


class CNN2(nn.Module):
    """Two 3x3 conv layers (width, 2·width channels), each ReLU + 2x2 max-pool, then a linear head."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, image_size: int = 28):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        side = image_size // 4
        self.feature_dim = 2 * width * side * side
        self.linear = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))


class FCN2(nn.Module):
    """Two fully connected layers: d → 8·width hidden units (ReLU) → classes."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, image_size: int = 28):
        super().__init__()
        self.feature_dim = 8 * width
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, self.feature_dim),
                                    nn.ReLU())
        self.linear = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))


class InvertedResidual(nn.Module):
    """MobileNet-v2 block: 1x1 expansion, 3x3 depthwise (stride s), 1x1 linear projection."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.block = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
            nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
            nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out


# (expansion, output channels as a multiple of width, repeats, stride of the first block)
MOBILENET_STAGES = [(1, 1, 1, 1), (4, 2, 2, 2), (4, 4, 2, 2), (4, 8, 2, 1)]


class MobileNet(nn.Module):
    """A MobileNet-v2-style network sized for 28–32 px inputs (stem stride 1, two stride-2 stages)."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, image_size: int = 28):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                                   nn.ReLU6()]
        c = width
        for expand, mult, repeats, stride in MOBILENET_STAGES:
            for r in range(repeats):
                layers.append(InvertedResidual(c, mult * width, stride if r == 0 else 1, expand))
                c = mult * width
        layers += [nn.Conv2d(c, 2 * c, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU6()]
        self.body = nn.Sequential(*layers)
        self.feature_dim = 2 * c
        self.linear = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.adaptive_avg_pool2d(self.body(x), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))
