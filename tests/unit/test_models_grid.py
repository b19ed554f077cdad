"""Model registry and the hyperparameter grid of models trained on constructed datasets."""
from __future__ import annotations

import pytest
import torch

from uap.config import validate_config
from uap.config import ConfigError
from uap.grid import grid_points, hp_label, train_settings
from uap.models import MODELS, Normalized, build_model


@pytest.mark.parametrize("arch,size", [("resnet18", 8), ("vgg11", 8), ("vgg16", 28), ("resnet18", 12)])
def test_models_give_logits_and_features(arch, size):
    torch.manual_seed(0)
    m = build_model(arch, in_channels=3, num_classes=5, width=1 if arch.startswith("vgg") else 2,
                    image_size=size, mean=[0.1, 0.2, 0.3], std=[0.5, 0.5, 0.5]).eval()
    x = torch.rand(2, 3, size, size)
    with torch.no_grad():
        out = m(x)
        feats = m.features(x)
    assert out.shape == (2, 5)
    assert feats.shape == (2, m.net.feature_dim)
    assert torch.allclose(m.net.linear(feats), out, atol=1e-5)


def test_normalized_wrapper_normalises_inside_the_model():
    torch.manual_seed(0)
    m = build_model("resnet18", in_channels=2, num_classes=3, width=2, image_size=8, mean=[0.5, 0.1],
                    std=[0.25, 2.0]).eval()
    assert isinstance(m, Normalized)
    x = torch.rand(3, 2, 8, 8)
    z = m.normalize(x)
    assert torch.allclose(z[:, 0], (x[:, 0] - 0.5) / 0.25) and torch.allclose(z[:, 1], (x[:, 1] - 0.1) / 2.0)
    with torch.no_grad():
        assert torch.allclose(m(x), m.net(z), atol=1e-6)
    assert {"mean", "std"} <= set(m.state_dict())


def test_unknown_arch():
    with pytest.raises(KeyError, match="resnet50"):
        build_model("resnet50", in_channels=1, num_classes=2, width=2, image_size=8, mean=[0], std=[1])
    assert set(MODELS) == {"resnet18", "vgg11", "vgg16", "vgg19", "mobilenet", "cnn2", "fcn2", "densenet121"}


def test_resnet_width_scales_channels():
    m = build_model("resnet18", in_channels=1, num_classes=2, width=3, image_size=8, mean=[0], std=[1])
    assert m.net.conv1.out_channels == 3 and m.net.feature_dim == 24


def test_hp_label():
    assert hp_label(0.1, 128, True) == "lr0.1_bs128_drop"
    assert hp_label(0.05, 256, False) == "lr0.05_bs256_nodrop"


def test_default_grid_has_the_twelve_points_of_the_paper():
    c = validate_config({"run": "x"})["constructed"]
    pts = grid_points(c)
    assert len(pts) == 12
    assert {(p["lr"], p["batch_size"], p["lr_drop"]) for p in pts.values()} == {
        (lr, bs, d) for lr in (0.01, 0.05, 0.1) for bs in (128, 256) for d in (True, False)}
    for label, p in pts.items():
        assert label == hp_label(p["lr"], p["batch_size"], p["lr_drop"])


def test_train_settings_places_the_single_drop_at_drop_at():
    c = validate_config({"run": "x", "constructed": {"train": {"epochs": 400, "drop_at": 0.625}}})["constructed"]
    s = train_settings(c, "lr0.1_bs128_drop")
    assert s["lr_drops"] == [250] and s["epochs"] == 400 and s["lr"] == 0.1 and s["batch_size"] == 128
    assert train_settings(c, "lr0.1_bs128_nodrop")["lr_drops"] == []
    c2 = validate_config({"run": "x", "constructed": {"train": {"epochs": 2, "drop_at": 0.1}}})["constructed"]
    assert train_settings(c2, "lr0.01_bs256_drop")["lr_drops"] == [1]
    with pytest.raises(ConfigError, match="constructed.train.grid.lr_drop"):   # a drop in a 1-epoch run never happens
        validate_config({"run": "x", "constructed": {"train": {"epochs": 1, "drop_at": 0.1}}})
    # the settings are a valid train section of the schema
    validate_config({"run": "x", "models": {"natural": {"arch": "resnet18", "train": s}}})
    with pytest.raises(ConfigError, match="lr9"):
        train_settings(c, "lr9_bs1_drop")


# ------------------------------------------------------------------ narrow ResNet shortcuts (oneDNN bug)
@pytest.mark.parametrize("cin,stride", [(2, 2), (4, 2), (6, 2), (8, 2), (4, 1)])
def test_narrow_strided_shortcuts_compute_the_same_1x1_convolution(cin, stride):
    from uap.models.resnet import SubsampledPointwise, shortcut_conv
    conv = shortcut_conv(cin, 2 * cin, stride)
    assert isinstance(conv, SubsampledPointwise) is (stride != 1 and cin < 8)
    plain = torch.nn.Conv2d(cin, 2 * cin, 1, stride, bias=False)
    assert conv.state_dict().keys() == plain.state_dict().keys()       # checkpoints load either way
    plain.load_state_dict(conv.state_dict())
    x = torch.rand(5, cin, 9, 9).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    out, ref = conv(x), plain(x)
    assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-6)
    g = torch.rand_like(ref)
    (gx, gw), (rx, rw) = (torch.autograd.grad(o, (x, m.weight), g) for o, m in ((out, conv), (ref, plain)))
    assert torch.allclose(gx, rx, atol=1e-6) and torch.allclose(gw, rw, atol=1e-5)


def test_one_thread_channels_last_training_of_a_narrow_resnet_keeps_the_heap_intact():
    """torch 2.14 / oneDNN on an AVX2 CPU (no AVX-512) corrupted the heap in the backward pass of the
    width-2 ResNet's strided 1×1 shortcuts with one thread (an abort, or worse, a silent overwrite);
    glibc's malloc checker makes any corruption fail this process at once. CPUs with AVX-512 never
    had the bug, so there this only checks that training runs."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    code = ("import torch, torch.nn.functional as F\nfrom uap.models import build_model\n"
            "torch.set_num_threads(1); torch.manual_seed(0)\n"
            "m = build_model('resnet18', in_channels=1, num_classes=10, width=2, image_size=8, mean=[0.5], std=[0.5])\n"
            "m = m.to(memory_format=torch.channels_last).train()\n"
            "opt = torch.optim.SGD(m.parameters(), lr=0.05)\n"
            "for _ in range(10):\n"
            "    x = torch.rand(16, 1, 8, 8).contiguous(memory_format=torch.channels_last)\n"
            "    loss = F.cross_entropy(m(x), torch.randint(0, 10, (16,)))\n"
            "    opt.zero_grad(); loss.backward(); opt.step()\n"
            "    junk = [torch.empty(int(n)) for n in torch.randint(1, 5000, (50,))]\n"
            "print('ok')\n")
    env = dict(os.environ)
    checker = Path("/lib/x86_64-linux-gnu/libc_malloc_debug.so.0")
    if checker.is_file():
        env.update(LD_PRELOAD=str(checker), MALLOC_CHECK_="3")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), (r.returncode, r.stderr[-2000:])
