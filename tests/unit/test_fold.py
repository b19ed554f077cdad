"""Batch norms folded into the convolutions before them (`uap.models.fold`) for frozen models."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from uap.attacks.singular import layer_fn as layer_function
from uap.models import MODELS, build_model, hidden_layers
from uap.models.fold import fold_batchnorm
from uap.train import load_model, model_spec, save_model


def _model(arch: str, seed: int = 0) -> nn.Module:
    """A small model of `arch` with non-trivial batch-norm statistics and affine parameters."""
    torch.manual_seed(seed)
    width = {"densenet121": 2, "vgg16": 1, "vgg19": 1, "vgg11": 1}.get(arch, 2)
    m = build_model(arch, in_channels=1, num_classes=4, width=width, image_size=12, mean=[0.3], std=[0.4])
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
    return m.eval()


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_folding_keeps_the_function_and_its_input_gradient(arch):
    ref = _model(arch)
    folded = _model(arch)
    names = fold_batchnorm(folded)
    x = torch.rand(5, 1, 12, 12, requires_grad=True)
    out_ref = ref(x)
    (g_ref,) = torch.autograd.grad(out_ref[:, 1].sum(), x)
    out = folded(x)
    (g,) = torch.autograd.grad(out[:, 1].sum(), x)
    assert torch.allclose(out, out_ref, atol=1e-5, rtol=1e-5)
    assert torch.allclose(g, g_ref, atol=1e-5, rtol=1e-4)
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in ref.modules())
    assert bool(names) == has_bn or arch == "densenet121"
    left = [n for n, m in folded.named_modules() if isinstance(m, nn.BatchNorm2d)]
    if arch in ("resnet18", "vgg11", "vgg16", "vgg19", "mobilenet"):
        assert left == []                       # every batch norm there follows a conv that only it reads
    if arch == "densenet121":                   # bn2 of each dense layer folds; bn1 reads the concatenation
        assert names and all(n.endswith(".conv1") for n in names)
        assert left and not any(n.endswith(".bn2") for n in left)


def test_keep_leaves_a_conv_whose_output_is_observed():
    m = _model("resnet18")
    names = fold_batchnorm(m, keep=["net.conv1"])
    assert "net.conv1" not in names and "net.layer1.0.conv1" in names
    assert isinstance(m.net.bn1, nn.BatchNorm2d)


def test_a_model_in_training_mode_is_refused():
    m = _model("resnet18").train()
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(m)


def test_load_model_folds_but_s4_keeps_its_hidden_layers(tmp_path):
    ref = _model("resnet18")
    spec = model_spec({"arch": "resnet18", "width": 2},
                      {"channels": 1, "num_classes": 4, "image_size": 12, "mean": [0.3], "std": [0.4]})
    path = tmp_path / "m.safetensors"
    save_model(path, ref, spec, {"name": "natural"})
    model, _ = load_model(path)
    assert "net.conv1" in model.folded_convs and not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    with pytest.raises(ValueError, match="folded"):      # its hook would see the batch norm's output
        layer_function(model, "net.conv1")
    kept, _ = load_model(path, keep=hidden_layers)
    assert "net.conv1" not in kept.folded_convs
    x = torch.rand(3, 1, 12, 12)
    f_ref, f_kept = layer_function(ref, "net.conv1"), layer_function(kept, "net.conv1")
    with torch.no_grad():
        assert torch.allclose(f_kept(x), f_ref(x), atol=1e-6)
        for name in hidden_layers(kept)[1:]:          # block outputs: the same with or without folding
            assert torch.allclose(layer_function(model, name)(x), layer_function(ref, name)(x), atol=1e-5)
