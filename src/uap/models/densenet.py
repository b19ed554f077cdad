"""DenseNet-BC (Huang et al.) for small images: DenseNet-121's block layout (6, 12, 24, 16) with a
growth rate given by the width multiplier, 3x3 stem without max-pool, compression 0.5, and a
global-average-pool + linear head (so CAM applies). S3's second classifier (the paper's DenseNet121)."""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class DenseLayer(nn.Module):
    CONV_BN_PAIRS = (("conv1", "bn2"),)   # bn1 reads the concatenated input of the block: not foldable

    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([x, out], 1)


class Transition(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    def __init__(self, blocks: tuple[int, ...], in_channels: int, num_classes: int, growth: int = 12):
        super().__init__()
        c = 2 * growth
        self.conv1 = nn.Conv2d(in_channels, c, 3, padding=1, bias=False)
        stages: list[nn.Module] = []
        for i, n in enumerate(blocks):
            for _ in range(n):
                stages.append(DenseLayer(c, growth))
                c += growth
            if i + 1 < len(blocks):
                stages.append(Transition(c, c // 2))
                c //= 2
        self.body = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(c)
        self.linear = nn.Linear(c, num_classes)
        self.feature_dim = c

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.body(self.conv1(x))))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.feature_maps(x), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))


def densenet121(in_channels: int, num_classes: int, growth: int = 32) -> DenseNet:
    return DenseNet((6, 12, 24, 16), in_channels, num_classes, growth)
