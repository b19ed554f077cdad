"""The hyperparameter grid for models trained on constructed datasets (S1 App. B.2.1)."""
from __future__ import annotations

import itertools


def hp_label(lr: float, batch_size: int, lr_drop: bool) -> str:
    return f"lr{lr:g}_bs{batch_size}_{'drop' if lr_drop else 'nodrop'}"


def grid_points(ccfg: dict) -> dict[str, dict]:
    """label → {lr, batch_size, lr_drop} for `constructed.train.grid`."""
    g = ccfg["train"]["grid"]
    out = {}
    for lr, bs, drop in itertools.product(g["lr"], g["batch_size"], g["lr_drop"]):
        out[hp_label(lr, bs, drop)] = {"lr": lr, "batch_size": bs, "lr_drop": drop}
    return out


def train_settings(ccfg: dict, label: str) -> dict:
    points = grid_points(ccfg)
    if label not in points:
        from .config import ConfigError
        raise ConfigError(f"--hp {label!r} is not a point of config.constructed.train.grid; known: {sorted(points)}")
    p, t = points[label], ccfg["train"]
    drops = [max(1, int(round(t["drop_at"] * t["epochs"])))] if p["lr_drop"] else []
    return {"epochs": t["epochs"], "lr": p["lr"], "batch_size": p["batch_size"], "lr_drops": drops,
            "momentum": t["momentum"], "weight_decay": t["weight_decay"], "augment": t["augment"],
            "crop_padding": t["crop_padding"], "eval_batch_size": 1024, "eval_every": t["eval_every"]}
