"""Classifier training: SGD + momentum, weight decay, step lr drops, batched tensor augmentation,
optional PGD adversarial training, a checkpoint every epoch and exact resume after a kill."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .artifacts import load_tensors, read_json, save_tensors, sidecar_path
from .augment import random_crop_flip
from .metrics import accuracy, as_float, predict
from .models import build_model
from .threats import make_threat
from .utils import autocast, generator, progress


def lr_at(epoch: int, base_lr: float, drops: list[int]) -> float:
    return base_lr * (0.1 ** sum(1 for d in drops if epoch >= d))


def _state_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def untargeted_pgd(model, x, y, threat, steps: int, step_ratio: float, gen: torch.Generator) -> torch.Tensor:
    """Madry-style training adversary (random start, ascent on the cross-entropy of the true label)."""
    from .attacks.core import box_active_set
    delta = threat.random(x.shape, generator=gen).to(x.device)
    delta = (x + delta).clamp(0, 1) - x               # x + δ stays in the box: no clamp (and no zero
    for _ in range(steps):                            # gradient at black pixels) in the forward pass
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(x + delta), y)
        (g,) = torch.autograd.grad(loss, delta)
        g = box_active_set(g, x + delta.detach(), ascent=True)
        delta = threat.project(delta.detach() + step_ratio * threat.eps * threat.direction(g))
        delta = (x + delta).clamp(0, 1) - x
    return (x + delta).detach()


def train_classifier(
    model: torch.nn.Module,
    x_train: torch.Tensor, y_train: torch.Tensor,
    x_test: torch.Tensor, y_test: torch.Tensor,
    tcfg: dict, *, seed: int, device: torch.device, precision: str = "fp32", flip: bool = True,
    checkpoint: str | Path | None = None, adversarial: dict | None = None, desc: str = "train",
    stop_after: int | None = None,
) -> dict:
    """Train in place and return metrics. Images may be uint8 or float in [0,1].

    With `checkpoint`, the model/optimizer state is saved after every epoch and a later call with
    the same settings resumes from it. Each epoch draws its shuffling/augmentation from a generator
    seeded by (seed, epoch), so a resumed run ends bit-identical to an uninterrupted one on the CPU.
    `stop_after` ends the call after that many epochs of this call (used to test resuming).
    """
    model.to(device=device, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=tcfg["lr"], momentum=tcfg["momentum"],
                          weight_decay=tcfg["weight_decay"])
    key = _state_hash({"tcfg": tcfg, "seed": seed, "adv": adversarial, "n": int(x_train.shape[0]), "flip": flip,
                       "precision": precision,
                       "params": [[k, list(v.shape)] for k, v in model.state_dict().items()]})
    start, history = 0, []
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt and ckpt.is_file() and sidecar_path(ckpt).is_file():
        meta = read_json(sidecar_path(ckpt))
        if meta.get("key") == key:
            tensors, _ = load_tensors(ckpt, device=device)
            model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            for i, p in enumerate(opt.param_groups[0]["params"]):
                buf = tensors.get(f"optim.{i}")
                if buf is not None:
                    opt.state[p]["momentum_buffer"] = buf.clone()
            start, history = meta["epoch"] + 1, meta["history"]
            print(f"[{desc}] resuming from {ckpt} after epoch {meta['epoch'] + 1}", flush=True)
        else:
            print(f"[{desc}] ignoring checkpoint {ckpt}: it was made with other settings", flush=True)

    threat = make_threat(adversarial["norm"], adversarial["eps"]) if adversarial else None
    xtr, ytr = x_train.to(device), y_train.to(device)
    n, bs = xtr.shape[0], tcfg["batch_size"]
    done = 0
    for epoch in range(start, tcfg["epochs"]):
        if stop_after is not None and done >= stop_after:
            break
        t0 = time.time()
        lr = lr_at(epoch, tcfg["lr"], tcfg.get("lr_drops", []))
        for g in opt.param_groups:
            g["lr"] = lr
        gen = generator(seed * 1_000_003 + epoch)
        perm = torch.randperm(n, generator=gen).to(device)
        model.train()
        tot_loss, tot_hit = 0.0, 0
        bar = progress(range(0, n, bs), desc=f"{desc} epoch {epoch + 1}/{tcfg['epochs']}", unit="batch", leave=False)
        for i in bar:
            idx = perm[i:i + bs]
            if device.type == "cpu" and len(idx) > 1 and len(idx) % 2:
                # torch 2.14's oneDNN CPU kernels corrupt the heap (segfault / "corrupted size") in the
                # weight gradient of channels-last convolutions for some odd batch sizes with >1 thread;
                # an odd last batch (only constructed datasets of odd size have one) drops one image.
                idx = idx[:-1]
            xb, yb = as_float(xtr[idx]), ytr[idx]
            if tcfg.get("augment", True):
                xb = random_crop_flip(xb, tcfg.get("crop_padding", 0), flip, gen)
            xb = xb.contiguous(memory_format=torch.channels_last)
            if threat is not None:
                model.eval()
                xb = untargeted_pgd(model, xb, yb, threat, adversarial["steps"], adversarial["step_ratio"], gen)
                model.train()
            with autocast(device, precision):
                logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot_loss += float(loss.detach()) * len(idx)
            tot_hit += int((logits.argmax(1) == yb).sum())
        bar.close()
        every = tcfg.get("eval_every", 1)
        last = epoch + 1 == tcfg["epochs"]
        test_acc = (accuracy(predict(model, x_test, batch_size=tcfg.get("eval_batch_size", 1024), device=device,
                                     precision=precision), y_test.cpu())
                    if last or (epoch + 1) % every == 0 else float("nan"))
        rec = {"epoch": epoch + 1, "lr": lr, "train_loss": tot_loss / n, "train_acc": tot_hit / n,
               "test_acc": test_acc, "seconds": round(time.time() - t0, 2)}
        history.append(rec)
        print(f"[{desc}] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()),
              flush=True)
        if ckpt:
            tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
            for i, p in enumerate(opt.param_groups[0]["params"]):
                if "momentum_buffer" in opt.state[p]:
                    tensors[f"optim.{i}"] = opt.state[p]["momentum_buffer"]
            save_tensors(ckpt, tensors, {"key": key, "epoch": epoch, "history": history})
        done += 1
    return {"history": history, "test_acc": history[-1]["test_acc"] if history else float("nan"),
            "epochs_completed": len(history)}


def model_spec(mcfg: dict, data_meta: dict) -> dict:
    """Everything needed to rebuild a model from its weights file."""
    return {"arch": mcfg["arch"], "width": mcfg["width"], "in_channels": data_meta["channels"],
            "num_classes": data_meta["num_classes"], "image_size": data_meta["image_size"],
            "mean": data_meta["mean"], "std": data_meta["std"]}


def build_from_spec(spec: dict) -> torch.nn.Module:
    return build_model(spec["arch"], in_channels=spec["in_channels"], num_classes=spec["num_classes"],
                       width=spec["width"], image_size=spec["image_size"], mean=spec["mean"], std=spec["std"])


def save_model(path: str | Path, model: torch.nn.Module, spec: dict, meta: dict) -> None:
    save_tensors(path, model.state_dict(), {"model": spec, **meta})


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    tensors, meta = load_tensors(path, device="cpu")
    if "model" not in meta:
        raise ValueError(f"{path}: its JSON sidecar has no 'model' spec; it is not a model artifact")
    model = build_from_spec(meta["model"])
    model.load_state_dict(tensors)
    model.to(device=device, memory_format=torch.channels_last).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, meta
