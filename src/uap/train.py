"""Classifier training: SGD + momentum, weight decay, step lr drops or one-cycle, label smoothing,
batched tensor augmentation, optional PGD adversarial training, a checkpoint every epoch and exact
resume after a kill."""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

from .artifacts import check_finite, immediate, load_checkpoint, load_tensors, save_tensors
from .errors import NonFiniteError, Terminated
from .augment import random_crop_flip
from .metrics import accuracy, as_float, predict
from .models import build_model
from .models.fold import fold_batchnorm
from . import optim
from .threats import make_threat
from .utils import autocast, generator, progress, sigterm_flag


def lr_at(epoch: int, base_lr: float, drops: list[int]) -> float:
    return base_lr * (0.1 ** sum(1 for d in drops if epoch >= d))


def onecycle_lr(step: int, total: int, peak: float, warmup: float = 0.25) -> float:
    """One-cycle schedule: linear from 0 to `peak` over the first `warmup` of `total` steps, then
    linearly down towards 0 (step counts from 0; every step's lr is > 0, the last one peak / (steps
    after the warm-up + 1))."""
    up = max(1, round(warmup * total))
    if step < up:
        return peak * (step + 1) / up
    return peak * (total - step) / (total - up + 1)


def _state_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def tensor_hash(*tensors: torch.Tensor) -> str:
    """SHA-256 of the tensors' contents (dtype, shape and bytes)."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def checkpoint_identity(model, x_train, y_train, x_test, y_test, tcfg: dict, *, seed: int, adversarial,
                        flip: bool, precision: str, device: torch.device) -> dict:
    """Everything that changes the trained weights: the data (content hashes), the model (parameter
    shapes, buffers such as its normalisation; its init follows from the seed), the settings and
    seed, the device, the torch version and the intra-op thread count (CPU kernels reduce in a
    thread-count dependent order, so a run is bit-identical only under the same thread count:
    resuming under another one starts afresh instead of silently mixing the two)."""
    return {"train_data": tensor_hash(x_train, y_train), "test_data": tensor_hash(x_test, y_test),
            "model": _state_hash([[k, list(v.shape)] for k, v in model.state_dict().items()]),
            "buffers": tensor_hash(*(b for _, b in model.named_buffers())), "tcfg": _state_hash(tcfg), "seed": seed,
            "adversarial": _state_hash(adversarial), "flip": flip, "precision": precision, "device": device.type,
            "torch": torch.__version__, "threads": torch.get_num_threads() if device.type == "cpu" else None}


def _resume(ckpt: Path, identity: dict, key: str, model, opt, device, desc: str):
    """(start epoch, history, mid-epoch position or None) from a matching checkpoint; (0, [], None) and a
    message saying why otherwise."""
    saved = load_checkpoint(ckpt, key, identity, desc, device)
    if saved is None:
        return 0, [], None
    tensors, meta = saved
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    except RuntimeError as exc:
        print(f"[{desc}] not resuming from checkpoint {ckpt}: {exc}; starting afresh", flush=True)
        return 0, [], None
    for i, p in enumerate(opt.param_groups[0]["params"]):
        buf = tensors.get(f"optim.{i}")
        if buf is not None:
            opt.state[p]["momentum_buffer"] = buf.clone()
    partial = meta.get("partial")      # stopped mid-epoch (SIGTERM): where, and the epoch's random state
    if partial is not None:
        partial = {**partial, "gen_state": tensors["gen_state"].cpu()}
        print(f"[{desc}] resuming from {ckpt} in epoch {partial['epoch'] + 1} after image {partial['next']}",
              flush=True)
    else:
        print(f"[{desc}] resuming from {ckpt} after epoch {meta['epoch'] + 1}", flush=True)
    return meta["epoch"] + 1, meta["history"], partial


def untargeted_pgd(model, x, y, threat, steps: int, step_ratio: float, gen: torch.Generator,
                   precision: str = "fp32") -> torch.Tensor:
    """Madry-style training adversary (random start, ascent on the cross-entropy of the true label)."""
    from .attacks.core import box_active_set
    delta = threat.random(x.shape, generator=gen).to(x.device)
    delta = (x + delta).clamp(0, 1) - x               # x + δ stays in the box: no clamp (and no zero
    for _ in range(steps):                            # gradient at black pixels) in the forward pass
        delta.requires_grad_(True)
        with autocast(x.device, precision):
            logits = model(x + delta)
        loss = F.cross_entropy(logits.float(), y)
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
    the same identity (`checkpoint_identity`: data content, model shape, settings, seed, thread
    count, …) resumes from it; any other checkpoint is ignored with a message naming what differs.
    Each epoch draws its shuffling/augmentation from a generator seeded by (seed, epoch), so a resumed
    run ends bit-identical to an uninterrupted one on the CPU. A NaN/inf loss or weight stops training
    with NonFiniteError; the checkpoint keeps the last finite epoch. With `checkpoint`, SIGTERM (a SLURM
    time limit) stops training at the end of the current batch: a mid-epoch checkpoint (with the epoch's
    random state) is saved and errors.Terminated raised; a later call resumes there, bit-identical too.
    `stop_after` ends the call after that many epochs of this call (used to test resuming).
    """
    for name, t in (("training images", x_train), ("test images", x_test)):
        if t.is_floating_point():
            check_finite({"x": t}, f"[{desc}] {name}")
    model.to(device=device, memory_format=torch.channels_last)
    opt = optim.sgd(model.parameters(), lr=tcfg["lr"], momentum=tcfg["momentum"],
                    weight_decay=tcfg["weight_decay"])
    identity = checkpoint_identity(model, x_train, y_train, x_test, y_test, tcfg, seed=seed, adversarial=adversarial,
                                   flip=flip, precision=precision, device=device)
    key = _state_hash(identity)
    ckpt = Path(checkpoint) if checkpoint else None
    start, history, partial = _resume(ckpt, identity, key, model, opt, device, desc) if ckpt else (0, [], None)

    def save_checkpoint(completed: int, stopped: dict | None = None, gen: torch.Generator | None = None) -> None:
        """Weights and optimizer after epoch `completed` (0-based; -1: none yet), or mid-epoch: `stopped`
        says where, `gen` is the epoch's generator (its state continues the shuffling and augmentation)."""
        tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
        for i, p in enumerate(opt.param_groups[0]["params"]):
            if "momentum_buffer" in opt.state[p]:
                tensors[f"optim.{i}"] = opt.state[p]["momentum_buffer"]
        meta = {"key": key, "identity": identity, "epoch": completed, "history": history}
        if stopped is not None:
            tensors["gen_state"] = gen.get_state()
            meta["partial"] = stopped
        with immediate():          # survives the command failing later: that is what it is for
            save_tensors(ckpt, tensors, meta)

    threat = make_threat(adversarial["norm"], adversarial["eps"]) if adversarial else None
    xtr, ytr = x_train.to(device), y_train.to(device)
    n, bs = xtr.shape[0], tcfg["batch_size"]
    onecycle, steps_per_epoch = tcfg.get("schedule", "step") == "onecycle", -(-n // bs)
    done = 0
    # with a checkpoint, SIGTERM (a SLURM time limit) stops at the end of the current batch, checkpointed
    with sigterm_flag() if ckpt else contextlib.nullcontext({"signal": None}) as stop:
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
            first, tot_loss, tot_hit = 0, 0.0, 0
            if partial is not None and partial["epoch"] == epoch:     # resumed mid-epoch
                gen.set_state(partial["gen_state"])
                first, tot_loss, tot_hit = partial["next"], partial["tot_loss"], partial["tot_hit"]
            bar = progress(range(first, n, bs), desc=f"{desc} epoch {epoch + 1}/{tcfg['epochs']}", unit="batch",
                           leave=False)
            for i in bar:
                idx = perm[i:i + bs]
                if onecycle:              # per step; a function of the global step, so a resumed run matches
                    lr = onecycle_lr(epoch * steps_per_epoch + i // bs, tcfg["epochs"] * steps_per_epoch, tcfg["lr"],
                                     tcfg.get("warmup", 0.25))
                    for g in opt.param_groups:
                        g["lr"] = lr
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
                    xb = untargeted_pgd(model, xb, yb, threat, adversarial["steps"], adversarial["step_ratio"], gen,
                                        precision)
                    model.train()
                with autocast(device, precision):
                    logits = model(xb)
                loss = F.cross_entropy(logits.float(), yb, label_smoothing=tcfg.get("label_smoothing", 0.0))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_value = float(loss.detach())      # the one host sync per step, as before
                if not math.isfinite(loss_value):      # stop before this epoch's weights reach a checkpoint
                    raise NonFiniteError(_diverged(desc, epoch, i // bs, f"loss {loss_value}", lr, ckpt))
                tot_loss += loss_value * len(idx)
                tot_hit += int((logits.argmax(1) == yb).sum())
                if stop["signal"]:
                    bar.close()
                    save_checkpoint(epoch - 1, {"epoch": epoch, "next": i + bs, "tot_loss": tot_loss,
                                                "tot_hit": tot_hit}, gen)
                    raise Terminated(f"{stop['signal']} in epoch {epoch + 1} of {desc}, after image "
                                     f"{min(i + bs, n)} of {n}: checkpoint {ckpt} saved; re-run the same "
                                     "command to resume from it")
            bar.close()
            try:
                check_finite({k: v for k, v in model.state_dict().items()}, "weights")
            except NonFiniteError as exc:
                raise NonFiniteError(_diverged(desc, epoch, "end", str(exc), lr, ckpt)) from exc
            every = tcfg.get("eval_every", 1)
            last = epoch + 1 == tcfg["epochs"]
            test_acc = (accuracy(predict(model, x_test, batch_size=tcfg.get("eval_batch_size", 1024), device=device,
                                         precision=precision), y_test.cpu())
                        if last or (epoch + 1) % every == 0 else float("nan"))
            rec = {"epoch": epoch + 1, "lr": lr, "train_loss": tot_loss / n, "train_acc": tot_hit / n,
                   "test_acc": test_acc, "seconds": round(time.time() - t0, 2)}
            history.append(rec)
            print(f"[{desc}] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in rec.items()), flush=True)
            if ckpt:
                save_checkpoint(epoch)
            if stop["signal"]:
                raise Terminated(f"{stop['signal']} after epoch {epoch + 1} of {desc}: checkpoint {ckpt} saved; "
                                 "re-run the same command to resume from it")
            done += 1
    return {"history": history, "test_acc": history[-1]["test_acc"] if history else float("nan"),
            "epochs_completed": len(history)}


def _diverged(desc: str, epoch: int, batch, what: str, lr: float, ckpt: Path | None) -> str:
    keep = (f"checkpoint {ckpt} keeps the last finite epoch" if ckpt and ckpt.is_file()
            else "no finite checkpoint yet")
    return (f"training {desc} diverged at epoch {epoch + 1}, batch {batch}: {what} (lr {lr:g}); lower the "
            f"model's train.lr or check its data; {keep}")


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


def load_model(path: str | Path, device: torch.device | str = "cpu", *,
               keep: Callable[[torch.nn.Module], Iterable[str]] | None = None) -> tuple[torch.nn.Module, dict]:
    """A model artifact, frozen for attacks and evaluation: eval mode, no parameter gradients, channels-last,
    and its batch norms folded into the convolutions before them (`models.fold`: the same function, the
    batch norms' passes skipped). `keep(model)` names modules whose own output a caller observes with a
    hook (S4's hidden layers); a conv among them keeps its batch norm separate."""
    from .artifacts import ArtifactCorrupt
    tensors, meta = load_tensors(path, device="cpu")
    if "model" not in meta:
        raise ArtifactCorrupt(f"{path}: its JSON sidecar has no 'model' spec; it is not a model artifact")
    try:
        model = build_from_spec(meta["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactCorrupt(f"{path}: its sidecar's model spec is unusable ({exc!r}); re-run the rule that "
                              "makes it") from exc
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        n = str(exc).count("size mismatch") + str(exc).count("Missing key") + str(exc).count("Unexpected key")
        raise ArtifactCorrupt(f"{path}: its weights do not fit the {meta['model'].get('arch')} its sidecar "
                              f"describes ({n} mismatching/missing tensor group(s)); re-run the rule that "
                              "makes it") from exc
    check_finite(tensors, f"model {path}")
    model.eval()
    fold_batchnorm(model, keep=keep(model) if keep else ())
    model.to(device=device, memory_format=torch.channels_last)
    for p in model.parameters():
        p.requires_grad_(False)
    return model, meta
