"""Models trained on sub-class labels (config.models.<m>.labels: fine), S1 App. F's fine-grained model."""
from __future__ import annotations

import json

import pytest
import torch

from uap.artifacts import save_tensors
from uap.cli import main
from uap.config import ConfigError, validate_config
from uap.train import load_model


def _cfg(dataset, labels="fine", fine_model="fine"):
    return {"run": "x", "device": "cpu", "data": {"dataset": dataset},
            "models": {"natural": {"arch": "resnet18"},
                       "fine": {"arch": "fcn2", "width": 4, "labels": labels,
                                "train": {"epochs": 1, "batch_size": 8, "lr_drops": [], "augment": False}}},
            "diversity": {"fine_model": fine_model}}


def test_fine_model_must_be_trained_on_fine_labels():
    validate_config(_cfg("cifar100"))
    with pytest.raises(ConfigError, match="fine_model.*not trained on sub-class labels"):
        validate_config(_cfg("cifar100", labels="coarse"))


def test_fine_labels_need_a_dataset_with_a_hierarchy():
    with pytest.raises(ConfigError, match=r"models\.fine\.labels.*'fashion_mnist'"):
        validate_config(_cfg("fashion_mnist", fine_model=None))


def _split(d, split, n, gen):
    x = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=gen)
    fine = torch.arange(n) % 6                       # 6 sub-classes, 2 per coarse class
    meta = {"dataset": "cifar100", "split": split, "classes": ["a", "b", "c"], "num_classes": 3, "channels": 3,
            "image_size": 8, "mean": [0.5] * 3, "std": [0.25] * 3, "flip_ok": False}
    save_tensors(d / f"{split}.safetensors", {"x": x, "y": fine // 2, "y_fine": fine}, meta)


def test_train_on_fine_labels_builds_a_sub_class_head(tmp_path):
    gen = torch.Generator().manual_seed(0)
    _split(tmp_path, "train", 24, gen)
    _split(tmp_path, "test", 12, gen)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(_cfg("cifar100")))
    out = tmp_path / "fine.safetensors"
    assert main(["train", "--config", str(cfg), "--model", "fine", "--data-dir", str(tmp_path),
                 "--out", str(out)]) == 0
    model, meta = load_model(out)
    assert meta["model"]["num_classes"] == 6
    assert model(torch.rand(2, 3, 8, 8)).shape == (2, 6)
