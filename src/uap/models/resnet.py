"""CIFAR-style ResNet-18 (3x3 stem, no max-pool) with a width multiplier and any input channel count."""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class SubsampledPointwise(nn.Conv2d):
    """A strided 1×1 convolution computed as the 1×1 convolution of x[..., ::s, ::s]: the same products
    and sums, the same parameters (a plain Conv2d's state dict).

    torch 2.14's oneDNN backward of a strided 1×1 channels-last convolution with 2–6 input channels
    corrupts the heap on an AVX2 CPU with one thread ("corrupted size vs. prev_size", or a silent
    overwrite; 2026-12-03, AMD EPYC without AVX-512); 1 and 7+ input channels and 3×3 kernels passed
    the same check under glibc's malloc checker. Only such narrow shortcuts (ResNet widths below 8:
    the tests' and the smoke profile's models) take this form, so wider models keep the strided
    kernel bit for bit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sh, sw = self.stride
        return F.conv2d(x[:, :, ::sh, ::sw], self.weight, self.bias, 1, 0, self.dilation, self.groups)


def shortcut_conv(in_planes: int, planes: int, stride: int) -> nn.Conv2d:
    narrow = stride != 1 and in_planes < 8
    return (SubsampledPointwise if narrow else nn.Conv2d)(in_planes, planes, 1, stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1
    CONV_BN_PAIRS = (("conv1", "bn1"), ("conv2", "bn2"))    # conv → the batch norm that reads only it (models.fold)

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                shortcut_conv(in_planes, planes, stride), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet with a global-average-pool + linear head (so CAM applies).

    `features(x)` returns the penultimate (pooled) representation, `forward` the logits.
    """
    CONV_BN_PAIRS = (("conv1", "bn1"),)

    def __init__(self, blocks: tuple[int, ...], in_channels: int, num_classes: int, width: int = 64):
        super().__init__()
        self.in_planes = width
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        stages = []
        for i, n in enumerate(blocks):
            planes = width * (2**i)
            stride = 1 if i == 0 else 2
            layers = []
            for s in [stride] + [1] * (n - 1):
                layers.append(BasicBlock(self.in_planes, planes, s))
                self.in_planes = planes
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(self.in_planes, num_classes)
        self.feature_dim = self.in_planes

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.feature_maps(x), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))


def resnet18(in_channels: int, num_classes: int, width: int = 64) -> ResNet:
    return ResNet((2, 2, 2, 2), in_channels, num_classes, width)
