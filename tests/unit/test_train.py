"""Training: lr schedule, exact resume from a checkpoint, augmentation, model save/load."""
from __future__ import annotations

import json

import pytest
import torch

from helpers_uap import tiny_resnet
from uap.artifacts import save_tensors, sidecar_path
from uap.augment import random_crop_flip
from uap.metrics import accuracy, predict
from uap.threats import L2
from uap.train import (build_from_spec, load_model, lr_at, model_spec, onecycle_lr, save_model, train_classifier,
                       untargeted_pgd)

TCFG = {"epochs": 2, "lr": 0.05, "batch_size": 16, "lr_drops": [1], "momentum": 0.9, "weight_decay": 5e-4,
        "augment": True, "crop_padding": 1, "eval_batch_size": 64}


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (48, 1, 8, 8), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 3, (48,), generator=g)
    xt = torch.randint(0, 256, (20, 1, 8, 8), generator=g, dtype=torch.uint8)
    yt = torch.randint(0, 3, (20,), generator=g)
    return x, y, xt, yt


def _train(data, **kw):
    x, y, xt, yt = data
    model = tiny_resnet(num_classes=3, image_size=8, seed=kw.pop("init_seed", 0))
    res = train_classifier(model, x, y, xt, yt, kw.pop("tcfg", TCFG), seed=kw.pop("seed", 0), device=torch.device("cpu"),
                           desc="t", **kw)
    return model, res


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


# ---------------------------------------------------------------------------------------- schedule
def test_lr_at_divides_by_ten_at_each_drop():
    assert lr_at(0, 0.1, []) == 0.1
    assert lr_at(99, 0.1, []) == 0.1
    assert lr_at(1, 0.1, [2, 4]) == pytest.approx(0.1)
    assert lr_at(2, 0.1, [2, 4]) == pytest.approx(0.01)
    assert lr_at(3, 0.1, [2, 4]) == pytest.approx(0.01)
    assert lr_at(4, 0.1, [2, 4]) == pytest.approx(0.001)
    assert lr_at(10, 0.5, [4, 2]) == pytest.approx(0.005)      # order of drops does not matter



def test_onecycle_rises_to_the_peak_then_falls_to_zero():
    lrs = [onecycle_lr(s, 20, 0.4, warmup=0.25) for s in range(20)]
    assert lrs[4] == pytest.approx(0.4) and max(lrs) == pytest.approx(0.4)       # 5 warm-up steps
    assert all(a < b for a, b in zip(lrs[:5], lrs[1:5])) and all(a > b for a, b in zip(lrs[4:], lrs[5:]))
    assert all(lr > 0 for lr in lrs) and lrs[-1] == pytest.approx(0.4 / 16)


def test_onecycle_and_label_smoothing_train_and_resume_bit_identical(data, tmp_path, capsys):
    tcfg = {**TCFG, "schedule": "onecycle", "warmup": 0.3, "label_smoothing": 0.1}
    straight, res = _train(data, tcfg=tcfg)
    _, plain = _train(data)
    assert res["history"][0]["lr"] != plain["history"][0]["lr"]                 # per-step lr, not the drops
    assert res["history"][-1]["lr"] < tcfg["lr"] / 2
    ckpt = tmp_path / "ckpt.safetensors"
    _train(data, tcfg=tcfg, checkpoint=ckpt, stop_after=1)
    resumed, _ = _train(data, tcfg=tcfg, checkpoint=ckpt, init_seed=1)
    assert "resuming" in capsys.readouterr().out
    _same_state(straight, resumed)

# ------------------------------------------------------------------------------------------ resume
def test_history_records_the_schedule_and_the_final_test_accuracy(data):
    model, res = _train(data)
    assert res["epochs_completed"] == 2
    assert [h["epoch"] for h in res["history"]] == [1, 2]
    assert [h["lr"] for h in res["history"]] == pytest.approx([0.05, 0.005])
    _, _, xt, yt = data
    assert res["test_acc"] == pytest.approx(accuracy(predict(model, xt), yt))
    assert all(0.0 <= h["train_acc"] <= 1.0 and h["train_loss"] > 0 for h in res["history"])


def test_training_is_deterministic_and_changes_the_weights(data):
    a, _ = _train(data)
    b, _ = _train(data)
    _same_state(a, b)
    fresh = tiny_resnet(num_classes=3, image_size=8, seed=0)
    assert not torch.equal(a.net.conv1.weight, fresh.net.conv1.weight)


@pytest.mark.parametrize("adversarial", [None, {"norm": "l2", "eps": 0.5, "steps": 1, "step_ratio": 0.5}],
                         ids=["natural", "adversarial"])
def test_resume_after_an_interruption_is_bit_identical(data, tmp_path, adversarial, capsys):
    straight, res_straight = _train(data, adversarial=adversarial)
    ckpt = tmp_path / "ckpt.safetensors"
    _, part = _train(data, adversarial=adversarial, checkpoint=ckpt, stop_after=1)
    assert part["epochs_completed"] == 1
    assert ckpt.is_file() and sidecar_path(ckpt).is_file()
    assert json.loads(sidecar_path(ckpt).read_text())["epoch"] == 0
    # a new process: a fresh model (different init) that must pick up the checkpoint
    resumed, res = _train(data, adversarial=adversarial, checkpoint=ckpt, init_seed=1)
    assert "resuming" in capsys.readouterr().out
    _same_state(straight, resumed)
    assert res["epochs_completed"] == 2
    for h1, h2 in zip(res_straight["history"], res["history"]):
        assert h1["train_loss"] == h2["train_loss"] and h1["test_acc"] == h2["test_acc"]


def test_a_finished_checkpoint_restores_the_model_without_training(data, tmp_path):
    ckpt = tmp_path / "c.safetensors"
    trained, _ = _train(data, checkpoint=ckpt)
    again, res = _train(data, checkpoint=ckpt, init_seed=3)
    _same_state(trained, again)
    assert res["epochs_completed"] == 2


def test_a_checkpoint_made_with_other_settings_is_ignored(data, tmp_path, capsys):
    ckpt = tmp_path / "c.safetensors"
    _train(data, checkpoint=ckpt, stop_after=1, seed=0)
    capsys.readouterr()
    other, res = _train(data, checkpoint=ckpt, seed=1)
    assert "not resuming from checkpoint" in capsys.readouterr().out
    reference, _ = _train(data, seed=1)
    _same_state(other, reference)
    assert res["epochs_completed"] == 2
    # a changed training setting is "other settings" too
    tcfg = dict(TCFG, lr=0.01)
    other2, _ = _train(data, checkpoint=ckpt, tcfg=tcfg, seed=1)
    assert "not resuming from checkpoint" in capsys.readouterr().out
    _same_state(other2, _train(data, tcfg=tcfg, seed=1)[0])


def test_untargeted_pgd_stays_in_the_ball_and_the_pixel_range():
    model = tiny_resnet(num_classes=3, image_size=8, logit_scale=30.0).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (6,), generator=g)
    adv = untargeted_pgd(model, x, y, L2(0.5), steps=3, step_ratio=0.5, gen=g)
    assert adv.shape == x.shape and adv.min() >= 0 and adv.max() <= 1
    assert (L2(0.5).norm(adv - x) <= 0.5 + 1e-5).all()
    loss = torch.nn.functional.cross_entropy
    with torch.no_grad():
        assert loss(model(adv), y) > loss(model(x), y)


# ------------------------------------------------------------------------------------ augmentation
def test_crop_flip_without_padding_and_flip_is_the_identity():
    x = torch.rand(5, 3, 6, 6)
    out = random_crop_flip(x, 0, False, torch.Generator().manual_seed(0))
    assert torch.equal(out, x)


def test_crop_is_a_zero_padded_shift_of_each_image():
    n, p = 64, 2
    x = torch.arange(n * 2 * 5 * 7, dtype=torch.float32).view(n, 2, 5, 7) + 1   # all values distinct, > 0
    out = random_crop_flip(x, p, False, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    xp = torch.nn.functional.pad(x, (p, p, p, p))
    offsets = set()
    for i in range(n):
        hits = [(oy, ox) for oy in range(2 * p + 1) for ox in range(2 * p + 1)
                if torch.equal(out[i], xp[i, :, oy:oy + 5, ox:ox + 7])]
        assert len(hits) == 1, f"image {i} is not a crop of its padded input"
        offsets.add(hits[0])
    assert len(offsets) > 5          # offsets vary between images


def test_flip_only_flips_some_images_horizontally():
    x = torch.rand(64, 1, 4, 4)
    out = random_crop_flip(x, 0, True, torch.Generator().manual_seed(0))
    same = torch.tensor([torch.equal(out[i], x[i]) for i in range(64)])
    flipped = torch.tensor([torch.equal(out[i], x[i].flip(-1)) for i in range(64)])
    assert (same ^ flipped).all()
    assert 10 < int(flipped.sum()) < 54


def test_augmentation_is_reproducible():
    x = torch.rand(8, 1, 6, 6)
    a = random_crop_flip(x, 2, True, torch.Generator().manual_seed(4))
    b = random_crop_flip(x, 2, True, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)


# --------------------------------------------------------------------------------- save / load model
def test_save_and_load_model_round_trip(tmp_path):
    mcfg = {"arch": "resnet18", "width": 2}
    data_meta = {"channels": 1, "num_classes": 3, "image_size": 8, "mean": [0.3], "std": [0.2]}
    spec = model_spec(mcfg, data_meta)
    model = build_from_spec(spec)
    # non-trivial BN statistics so that buffers matter
    model.train()
    with torch.no_grad():
        model(torch.rand(16, 1, 8, 8))
    model.eval()
    path = tmp_path / "m.safetensors"
    save_model(path, model, spec, {"config": {"arch": "resnet18"}, "name": "natural"})
    loaded, meta = load_model(path)
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():           # the same function; its batch norms are folded (models.fold): float rounding
        assert torch.allclose(loaded(x), model(x), atol=1e-5)
    assert loaded.folded_convs
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert torch.equal(loaded.mean.view(-1), torch.tensor([0.3]))
    side = json.loads(sidecar_path(path).read_text())
    assert side["model"] == spec and side["config"] == {"arch": "resnet18"} and side["name"] == "natural"
    assert "torch" in side["versions"] and "python" in side["versions"]
    assert meta["model"] == spec


def test_load_model_rejects_an_artifact_without_a_model_spec(tmp_path):
    path = tmp_path / "t.safetensors"
    save_tensors(path, {"a": torch.zeros(2)}, {"kind": "not a model"})
    with pytest.raises(ValueError, match="model"):
        load_model(path)


def test_a_checkpoint_of_another_architecture_is_ignored(data, tmp_path):
    from uap.models import build_model
    x, y, xt, yt = data
    ckpt = tmp_path / "c.safetensors"
    _train(data, checkpoint=ckpt, stop_after=1)                     # width 2

    def wider():
        torch.manual_seed(0)
        return build_model("resnet18", in_channels=1, num_classes=3, width=3, image_size=8, mean=[0.5], std=[0.25])

    other = wider()
    train_classifier(other, x, y, xt, yt, TCFG, seed=0, device=torch.device("cpu"), checkpoint=ckpt, desc="t")
    reference = wider()
    train_classifier(reference, x, y, xt, yt, TCFG, seed=0, device=torch.device("cpu"), desc="t")
    _same_state(other, reference)


def test_a_checkpoint_made_with_another_flip_setting_is_ignored(data, tmp_path):
    ckpt = tmp_path / "c.safetensors"
    _train(data, checkpoint=ckpt, stop_after=1, flip=True)
    resumed, _ = _train(data, checkpoint=ckpt, flip=False)
    reference, _ = _train(data, flip=False)
    _same_state(resumed, reference)


@pytest.mark.parametrize("change,field", [
    ("data", "train_data"),            # same path, same size, other images (the silent resume)
    ("labels", "train_data"),
    ("seed", "seed"),
    ("threads", "threads"),            # CPU kernels are not bit-identical across thread counts
])
def test_a_checkpoint_from_other_data_seed_or_thread_count_is_not_resumed(data, tmp_path, capsys, change, field):
    x, y, xt, yt = data
    ckpt = tmp_path / "c.safetensors"
    _train(data, checkpoint=ckpt, stop_after=1)
    capsys.readouterr()
    if change == "data":
        data = (255 - x, y, xt, yt)
    elif change == "labels":
        data = (x, (y + 1) % 3, xt, yt)
    seed = 1 if change == "seed" else 0
    old = torch.get_num_threads()
    torch.set_num_threads(2 if change == "threads" else old)
    try:
        other, res = _train(data, checkpoint=ckpt, seed=seed)
        reference, _ = _train(data, seed=seed)
    finally:
        torch.set_num_threads(old)
    out = capsys.readouterr().out
    assert "not resuming from checkpoint" in out and field in out and "starting afresh" in out
    assert "resuming from" not in out.replace("not resuming from", "")
    _same_state(other, reference)
    assert res["epochs_completed"] == 2


def test_training_that_goes_nan_stops_and_keeps_the_last_finite_checkpoint(data, tmp_path, monkeypatch):
    from uap.errors import NonFiniteError
    x, y, xt, yt = data
    ckpt = tmp_path / "c.safetensors"
    _train(data, checkpoint=ckpt, stop_after=1)
    before = ckpt.read_bytes()
    poisoned = x.float().div(255)
    model = tiny_resnet(num_classes=3, image_size=8)
    with pytest.raises(NonFiniteError, match="training images"):
        train_classifier(model, poisoned.index_put((torch.tensor([3]),), torch.tensor(float("nan"))), y, xt, yt,
                         TCFG, seed=0, device=torch.device("cpu"), checkpoint=ckpt, desc="t")
    # an lr that blows the weights up in epoch 2: the epoch-1 checkpoint stays as it was
    tcfg = dict(TCFG, lr_drops=[], lr=0.05)
    ckpt2 = tmp_path / "d.safetensors"
    _train(data, checkpoint=ckpt2, stop_after=1, tcfg=tcfg)
    kept = ckpt2.read_bytes()
    meta = json.loads(sidecar_path(ckpt2).read_text())
    import uap.train
    monkeypatch.setattr(uap.train, "lr_at", lambda epoch, lr, drops: 1e30 if epoch >= 1 else lr)
    with pytest.raises(NonFiniteError, match="diverged at epoch 2.*keeps the last finite epoch"):
        _train(data, checkpoint=ckpt2, tcfg=tcfg)
    assert ckpt2.read_bytes() == kept and json.loads(sidecar_path(ckpt2).read_text())["epoch"] == meta["epoch"] == 0
    assert ckpt.read_bytes() == before


def test_the_master_seed_reaches_every_model(monkeypatch):
    """`seed` (the master seed) offsets each model's own seed: another master seed trains other models
    (a reviewer's re-run under another seed re-draws the whole chain); seed 0 keeps the model's own seed."""
    from types import SimpleNamespace

    import uap.cli as cli
    seen = []
    monkeypatch.setattr(cli, "_runtime", lambda cfg, offset=0, **kw: "cpu")
    monkeypatch.setattr(cli, "_load_split", lambda d, s: (SimpleNamespace(x=None, y=None), {"dataset": "x"}))
    monkeypatch.setattr(cli, "_fit_and_save", lambda *a, seed, **kw: seen.append(seed))
    m = {"seed": 10, "train": {}}
    for master in (0, 7):
        cli.cmd_train(SimpleNamespace(model="natural2", data_dir="d", checkpoint=None, out="o"),
                      {"seed": master, "models": {"natural2": m}})
    assert seen == [10, 17]
