"""Model registry. Every model is wrapped in `Normalized`, so callers feed [0,1] pixels."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .densenet import DenseNet, Transition, densenet121
from .resnet import resnet18
from .small import CNN2, FCN2, MobileNet
from .vgg import vgg


class Normalized(nn.Module):
    """Per-channel input normalisation *inside* the model: attacks and ε live in [0,1] pixel space."""

    def __init__(self, net: nn.Module, mean: list[float], std: list[float]):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate representation (input to the linear head)."""
        return self.net.features(self.normalize(x))

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Last convolutional feature maps [B, K, h, w] (before the global average pool)."""
        return self.net.feature_maps(self.normalize(x))

    def logits_from_maps(self, maps: torch.Tensor) -> torch.Tensor:
        """The head on feature maps: global average pool, then the linear layer."""
        return self.net.linear(torch.nn.functional.adaptive_avg_pool2d(maps, 1).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(x))


MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet18": lambda in_channels, num_classes, width, image_size: resnet18(in_channels, num_classes, width),
    "vgg11": lambda in_channels, num_classes, width, image_size: vgg("vgg11", in_channels, num_classes, width, image_size),
    "vgg16": lambda in_channels, num_classes, width, image_size: vgg("vgg16", in_channels, num_classes, width, image_size),
    "densenet121": lambda in_channels, num_classes, width, image_size: densenet121(in_channels, num_classes, width),
    "vgg19": lambda in_channels, num_classes, width, image_size: vgg("vgg19", in_channels, num_classes, width, image_size),
    "mobilenet": MobileNet,
    "cnn2": CNN2,
    "fcn2": FCN2,
}


def hidden_layers(model: nn.Module) -> list[str]:
    """Names (for `get_submodule`) of the hidden layers probed by S4, from the input upwards:
    ResNet: the stem and each stage; VGG: the last ReLU of each conv block; DenseNet: the stem,
    each transition and the final norm."""
    net = model.net if isinstance(model, Normalized) else model
    prefix = "net." if isinstance(model, Normalized) else ""
    if isinstance(net, DenseNet):
        trans = [f"body.{n}" for n, m in net.body.named_children() if isinstance(m, Transition)]
        return [prefix + n for n in ["conv1", *trans, "bn"]]
    if hasattr(net, "layer1"):
        return [prefix + n for n in ("conv1", "layer1", "layer2", "layer3", "layer4")]
    if hasattr(net, "body"):
        mods = list(net.body.named_children())
        names = [n for i, (n, m) in enumerate(mods) if isinstance(m, nn.ReLU)
                 and (i + 1 == len(mods) or not isinstance(mods[i + 1][1], (nn.Conv2d, nn.BatchNorm2d)))]
        return [f"{prefix}body.{n}" for n in names]
    raise ValueError(f"no hidden-layer list for {type(net).__name__}")


def build_model(arch: str, *, in_channels: int, num_classes: int, width: int, image_size: int,
                mean: list[float], std: list[float]) -> Normalized:
    if arch not in MODELS:
        raise KeyError(f"unknown model architecture {arch!r}; known: {sorted(MODELS)}")
    net = MODELS[arch](in_channels=in_channels, num_classes=num_classes, width=width, image_size=image_size)
    return Normalized(net, mean, std)
