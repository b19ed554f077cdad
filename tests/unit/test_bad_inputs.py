"""Bad input and faults through the CLI (issue #13): a table of bad configs, datasets, artifacts and
file-system conditions. Every row must end with exit code 2, one `error: …` line on stderr that
names the culprit, no traceback, and nothing left in the output folder. Rows run in-process
(`uap.cli.main`) on a tiny config and a few dozen 8×8 images."""
from __future__ import annotations

import copy
import errno
import gzip
import json
import math
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from uap import cli
from uap.artifacts import save_tensors, sidecar_path

REPO = Path(__file__).resolve().parents[2]
CLASSES = [str(i) for i in range(4)]

BASE_CFG = {
    "run": "t", "seed": 0, "device": "cpu",
    "data": {"dataset": "mnist", "download": False},
    "models": {"natural": {"arch": "resnet18", "width": 2,
                           "train": {"epochs": 2, "lr": 0.05, "batch_size": 16, "lr_drops": [1], "crop_padding": 1}}},
    "attacks": {"eval_images": 8, "norms": {"l2": {"eps": 1.0}, "linf": {"eps": 0.1}}, "pgd": {"steps": 1}},
    "constructed": {"source_model": "natural", "norm": "l2", "source_size": 16, "group_size": 4,
                    "train": {"arch": "resnet18", "width": 2, "epochs": 2,
                              "grid": {"lr": [0.1], "batch_size": [16], "lr_drop": [True]}}},
    "s4": {"models": ["natural"]},
}


# ------------------------------------------------------------------------------------------- fixtures
def _idx(arr: np.ndarray) -> bytes:
    """An IDX file (uint8 payload) holding `arr`."""
    return bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">i", d) for d in arr.shape) + arr.tobytes()


def _write_mnist(root: Path, n_train: int = 40, n_test: int = 24, size: int = 8) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        (raw / f"{stem}-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (n, size, size), dtype=np.uint8)))
        (raw / f"{stem}-labels-idx1-ubyte").write_bytes(_idx(rng.integers(0, 4, (n,), dtype=np.uint8)))
    return root


def _split_meta(split: str, n: int) -> dict:
    return {"dataset": "mnist", "split": split, "classes": CLASSES, "num_classes": 4, "channels": 1, "image_size": 8,
            "size": n, "flip_ok": False, "mean": [0.5], "std": [0.25]}


def _write_split(folder: Path, split: str, x: torch.Tensor, y: torch.Tensor, meta: dict | None = None) -> Path:
    path = folder / f"{split}.safetensors"
    save_tensors(path, {"x": x, "y": y}, meta if meta is not None else _split_meta(split, len(y)))
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return make_base(tmp_path_factory.mktemp("base"))


def make_base(root: Path) -> Path:
    """A valid tiny world: prepared data, a model, a constructed dataset, MNIST IDX files, a config."""
    from uap.train import build_from_spec, model_spec, save_model
    g = torch.Generator().manual_seed(0)
    data = root / "data"
    _write_split(data, "train", torch.randint(0, 256, (40, 1, 8, 8), generator=g, dtype=torch.uint8),
                 torch.randint(0, 4, (40,), generator=g))
    _write_split(data, "test", torch.randint(0, 256, (24, 1, 8, 8), generator=g, dtype=torch.uint8),
                 torch.randint(0, 4, (24,), generator=g))
    spec = model_spec({"arch": "resnet18", "width": 2}, _split_meta("train", 40))
    torch.manual_seed(0)
    save_model(root / "model.safetensors", build_from_spec(spec), spec, {"name": "natural"})
    save_tensors(root / "d_univ.safetensors", {"x": torch.rand(16, 1, 8, 8, generator=g),
                                               "y": torch.randint(0, 4, (16,), generator=g)},
                 {"kind": "d_univ", "norm": "l2", "eps": 1.0, "classes": CLASSES})
    _write_mnist(root / "mnist")
    cfg = copy.deepcopy(BASE_CFG)
    cfg["data"]["root"] = str(root / "mnist")
    (root / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    return root


class World:
    """One row's sandbox: copies of the base files it may spoil, and `out/` for every output."""

    def __init__(self, base: Path, tmp: Path):
        self.base, self.tmp = base, tmp
        self.out = tmp / "out"
        self.data = tmp / "data"
        shutil.copytree(base / "data", self.data)
        self.model = tmp / "model.safetensors"
        for f in ("model.safetensors", "model.json", "d_univ.safetensors", "d_univ.json"):
            shutil.copy(base / f, tmp / f)
        self.d_univ = tmp / "d_univ.safetensors"
        self.mnist = tmp / "mnist"
        shutil.copytree(base / "mnist", self.mnist)
        self.cfg_dict = copy.deepcopy(BASE_CFG)
        self.cfg_dict["data"]["root"] = str(self.mnist)

    def cfg(self, edit=None) -> str:
        c = copy.deepcopy(self.cfg_dict)
        if edit:
            edit(c)
        path = self.tmp / "cfg.yaml"
        path.write_text(yaml.safe_dump(c))
        return str(path)

    # the commands, with every output under out/
    def train(self, cfg=None, **kw):
        return ["train", "--config", cfg or self.cfg(), "--model", kw.get("model", "natural"),
                "--data-dir", str(kw.get("data", self.data)), "--out", str(kw.get("out", self.out / "m.safetensors")),
                "--checkpoint", str(kw.get("checkpoint", self.out / "ckpt" / "m.safetensors")),
                "--threads", kw.get("threads", "1")]

    def pgd(self, cfg=None, **kw):
        return ["pgd", "--config", cfg or self.cfg(), "--model", str(kw.get("model", self.model)),
                "--data-dir", str(kw.get("data", self.data)), "--norm", kw.get("norm", "l2"),
                "--out", str(kw.get("out", self.out / "pgd.safetensors")),
                "--table", str(kw.get("table", self.out / "pgd.csv")), "--threads", "1"]

    def prepare(self, cfg=None, **kw):
        return ["prepare-data", "--config", cfg or self.cfg(), "--out-dir", str(kw.get("out_dir", self.out / "data"))]

    def train_constructed(self, cfg=None, **kw):
        return ["train-constructed", "--config", cfg or self.cfg(), "--dataset", str(kw.get("dataset", self.d_univ)),
                "--data-dir", str(self.data), "--hp", kw.get("hp", "lr0.1_bs16_drop"),
                "--out", str(self.out / "c.safetensors"), "--checkpoint", str(self.out / "ckpt" / "c.safetensors"),
                "--threads", "1"]

    def raw(self, name: str) -> Path:
        return self.mnist / "MNIST" / "raw" / name


def _set(path: str, value):
    """An edit setting config key `a.b.c` to `value`."""
    def edit(c):
        *head, last = path.split(".")
        node = c
        for k in head:
            node = node.setdefault(k, {})
        node[last] = value
    return edit


def _respill(w: World, split: str, **changes):
    """Rewrite a prepared split with some tensors/meta changed (valid safetensors + matching sidecar)."""
    from uap.artifacts import load_tensors
    t, meta = load_tensors(w.data / f"{split}.safetensors")
    meta = {k: v for k, v in meta.items() if k not in ("versions", "tensors", "sha256")}
    tensors = {"x": t["x"], "y": t["y"]}
    for k, v in changes.items():
        if k == "meta":
            meta = v(meta)
        elif v is None:
            tensors.pop(k)
        else:
            tensors[k] = v(tensors[k]) if callable(v) else v
    from safetensors.torch import save_file
    path = w.data / f"{split}.safetensors"
    save_file(tensors, str(path))                   # written raw: save_tensors would refuse NaN pixels
    from uap.artifacts import file_sha256
    sidecar_path(path).write_text(json.dumps({**meta, "sha256": file_sha256(path)}))


def _nan_weights(w: World):
    from uap.artifacts import file_sha256, load_tensors
    from safetensors.torch import save_file
    t, meta = load_tensors(w.model)
    t["net.linear.weight"][0, 0] = float("nan")
    save_file(t, str(w.model))
    meta["sha256"] = file_sha256(w.model)
    sidecar_path(w.model).write_text(json.dumps(meta))


def _swap_model_width(w: World):
    """Weights of a width-4 ResNet under a sidecar that says width 2."""
    from safetensors.torch import save_file
    from uap.artifacts import file_sha256, read_json
    from uap.train import build_from_spec
    meta = read_json(sidecar_path(w.model))
    spec = dict(meta["model"], width=4)
    save_file({k: v.contiguous() for k, v in build_from_spec(spec).state_dict().items()}, str(w.model))
    meta["sha256"] = file_sha256(w.model)
    sidecar_path(w.model).write_text(json.dumps(meta))


def _edit_sidecar(path: Path, fn):
    meta = json.loads(sidecar_path(path).read_text())
    fn(meta)
    sidecar_path(path).write_text(json.dumps(meta))


def _one_nan(x: torch.Tensor) -> torch.Tensor:
    """Images as floats in [0,1] with a single NaN pixel."""
    x = x.float().div(255) if x.dtype == torch.uint8 else x.clone()
    x.view(-1)[5] = math.nan
    return x


def _truncate(path: Path, keep: float = 0.5):
    b = path.read_bytes()
    path.write_bytes(b[:int(len(b) * keep)])


def _block_dir(path: Path):
    """Make `path` a regular file, so nothing can be created beneath it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")


def _fault(monkeypatch, target: str, err: int):
    def boom(*a, **k):
        raise OSError(err, {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system"}[err])
    monkeypatch.setattr(target, boom)


# Each row: id, the culprit its message must name (a substring), setup(w, monkeypatch) -> argv. Setups
# spoil only the row's own copies.
R = []


def row(name: str, culprit: str, setup=None):
    """Add a row; without `setup`, a decorator for a multi-step setup function."""
    if setup is not None:
        R.append(pytest.param(setup, culprit, id=name))
        return setup
    return lambda fn: row(name, culprit, fn)


def _file_config(w: World, name: str, content: bytes) -> str:
    (w.tmp / name).write_bytes(content)
    return str(w.tmp / name)


def _train_with(**edits):
    """A row training with config keys (dotted paths) set to values."""
    def setup(w, m):
        c = w.cfg_dict
        for k, v in edits.items():
            _set(k.replace("__", "."), v)(c)
        return w.train(cfg=w.cfg())
    return setup


# ---- configs --------------------------------------------------------------------------------------------
T = "models__natural__train__"
row("config-missing", "nope.yaml", lambda w, m: w.train(cfg=str(w.tmp / "nope.yaml")))
row("config-is-a-folder", "is not a file", lambda w, m: w.train(cfg=str(w.tmp)))
row("yaml-syntax", "bad.yaml, line 4",
    lambda w, m: w.train(cfg=_file_config(w, "bad.yaml", b"run: t\nmodels:\n  natural: {arch: [\n")))
row("yaml-not-mapping", "must be a mapping", lambda w, m: w.train(cfg=_file_config(w, "l.yaml", b"- run\n- t\n")))
row("config-not-utf8", "not UTF-8", lambda w, m: w.train(cfg=_file_config(w, "b.yaml", b"run: t\xff\xfe\n")))
row("unknown-top-key", "wibble", _train_with(wibble=1))
row("unknown-nested-key", "config.models.natural.train: Additional properties are not allowed ('lrr'",
    _train_with(**{T + "lrr": 1}))
row("lr-inf", "config.models.natural.train.lr", _train_with(**{T + "lr": float("inf")}))
row("lr-nan", "config.models.natural.train.lr", _train_with(**{T + "lr": float("nan")}))
row("momentum-nan", "config.models.natural.train.momentum", _train_with(**{T + "momentum": float("nan")}))
row("weight-decay-minus-inf", "config.models.natural.train.weight_decay",
    _train_with(**{T + "weight_decay": -math.inf}))
row("eps-nan", "config.attacks.norms.l2.eps", lambda w, m: w.pgd(cfg=w.cfg(_set("attacks.norms.l2.eps", math.nan))))
row("eps-inf", "config.attacks.norms.l2.eps", lambda w, m: w.pgd(cfg=w.cfg(_set("attacks.norms.l2.eps", math.inf))))
row("linf-eps-5", "config.attacks.norms.linf.eps",
    lambda w, m: w.pgd(cfg=w.cfg(_set("attacks.norms.linf.eps", 5.0)), norm="linf"))
row("linf-eps-1", "config.attacks.norms.linf.eps",
    lambda w, m: w.pgd(cfg=w.cfg(_set("attacks.norms.linf.eps", 1.0)), norm="linf"))
row("adv-linf-eps-1.5", "config.models.natural.adversarial.eps",
    _train_with(models__natural__adversarial={"norm": "linf", "eps": 1.5}))
row("s4-linf-eps-2", "config.s4.eps", _train_with(s4__eps=2.0))
row("s3-linf-1", "config.s3.norms.linf", _train_with(s3={"norms": {"linf": 1.0}}))
row("eps-negative", "config.attacks.norms.l2.eps", lambda w, m: w.pgd(cfg=w.cfg(_set("attacks.norms.l2.eps", -1.0))))
row("lr-drop-past-end", "config.models.natural.train.lr_drops", _train_with(**{T + "lr_drops": [99]}))
row("lr-drop-at-end", "config.models.natural.train.lr_drops", _train_with(**{T + "lr_drops": [2]}))
row("lr-drop-zero", "config.models.natural.train.lr_drops", _train_with(**{T + "lr_drops": [0]}))
row("grid-drop-one-epoch", "config.constructed.train.grid.lr_drop", _train_with(constructed__train__epochs=1))
row("drop-at-1.5", "config.constructed.train.drop_at", _train_with(constructed__train__drop_at=1.5))
row("momentum-1.5", "config.models.natural.train.momentum", _train_with(**{T + "momentum": 1.5}))
row("lr-zero", "config.models.natural.train.lr", _train_with(**{T + "lr": 0}))
row("epochs-zero", "config.models.natural.train.epochs", _train_with(**{T + "epochs": 0}))
row("batch-size-string", "config.models.natural.train.batch_size", _train_with(**{T + "batch_size": "big"}))
row("seed-negative", "config.seed", _train_with(seed=-1))
row("device-tpu", "config.device", _train_with(device="tpu"))
row("precision-fp8", "config.precision", _train_with(precision="fp8"))
row("run-missing", "'run' is a required property", lambda w, m: w.train(cfg=w.cfg(lambda c: c.pop("run"))))
row("run-dotdot", "config.run: '..'", lambda w, m: w.train(cfg=w.cfg(_set("run", ".."))))
row("run-dot", "config.run: '.'", lambda w, m: w.train(cfg=w.cfg(_set("run", "."))))
row("run-slash", "config.run: 'a/b'", lambda w, m: w.train(cfg=w.cfg(_set("run", "a/b"))))
row("run-dotdot-inline", "config.run: '..'",
    lambda w, m: w.train(cfg=json.dumps({"run": "..", "seed": 0, "device": "cpu", "models": BASE_CFG["models"]})))
row("dataset-unknown", "config.data.dataset", lambda w, m: w.prepare(cfg=w.cfg(_set("data.dataset", "imagenet"))))
row("arch-unknown", "config.models.natural.arch", _train_with(models__natural__arch="resnet50"))
row("source-model-unknown", "config.constructed.source_model", _train_with(constructed__source_model="ghost"))
row("group-larger-than-source", "config.constructed.group_size", _train_with(constructed__group_size=64))
row("train-subset-zero", "config.data.train_subset", lambda w, m: w.prepare(cfg=w.cfg(_set("data.train_subset", 0))))
row("model-not-in-config", "--model 'ghost'", lambda w, m: w.train(model="ghost"))
row("hp-not-in-grid", "--hp 'lr9_bs1_drop'", lambda w, m: w.train_constructed(hp="lr9_bs1_drop"))
row("inline-json-malformed", "inline JSON is malformed", lambda w, m: w.train(cfg='{"run": "t", "models": {'))
row("inline-json-nan", "config.models.natural.train.lr", lambda w, m: w.train(cfg=json.dumps(
    {**BASE_CFG, "models": {"natural": {"arch": "resnet18", "train": {"lr": math.nan}}}})))
row("inline-json-unknown-key", "config.attacks: Additional properties are not allowed ('pgdd'",
    lambda w, m: w.pgd(cfg=json.dumps({**BASE_CFG, "attacks": {"pgdd": {}}})))


# ---- datasets (prepare-data on MNIST IDX files under data.root) --------------------------------------------
def _prepare_after(**files):
    """A row that replaces MNIST IDX files (name -> bytes, or None to delete) and runs prepare-data."""
    def setup(w, m):
        for name, content in files.items():
            name = name.replace("_", "-")
            if content is None:
                w.raw(name).unlink()
            else:
                w.raw(name).write_bytes(content(w) if callable(content) else content)
        return w.prepare()
    return setup


def _u8(*shape, fill=0):
    return np.full(shape, fill, dtype=np.uint8)


row("dataset-missing", "MNIST not found", lambda w, m: (shutil.rmtree(w.mnist), w.prepare())[1])
row("test-labels-truncated", "t10k-labels-idx1-ubyte",
    _prepare_after(t10k_labels_idx1_ubyte=lambda w: w.raw("t10k-labels-idx1-ubyte").read_bytes()[:20]))
row("train-images-bad-magic", "train-images-idx3-ubyte",
    _prepare_after(train_images_idx3_ubyte=b"\x01\x02\x03\x04garbage"))
row("label-count-mismatch", "train-labels-idx1-ubyte", _prepare_after(train_labels_idx1_ubyte=_idx(_u8(39))))
row("label-out-of-range", "labels out of range", _prepare_after(train_labels_idx1_ubyte=_idx(_u8(40, fill=12))))
row("empty-split", "holds no images",
    _prepare_after(t10k_images_idx3_ubyte=_idx(_u8(0, 8, 8)), t10k_labels_idx1_ubyte=_idx(_u8(0))))
row("gz-truncated", "train-images-idx3-ubyte.gz", _prepare_after(
    **{"train_images_idx3_ubyte.gz": lambda w: gzip.compress(w.raw("train-images-idx3-ubyte").read_bytes())[:60],
       "train_images_idx3_ubyte": None}))


@row("fashion-checksum", "is corrupt: SHA-256")
def _fashion_with_wrong_files(w, m):
    (w.tmp / "fm").mkdir()
    for stem in ("train", "t10k"):
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            shutil.copy(w.raw(f"{stem}-{kind}"), w.tmp / "fm" / f"{stem}-{kind}")
    return w.prepare(cfg=w.cfg(lambda c: c["data"].update(dataset="fashion_mnist", root=str(w.tmp / "fm"))))


# ---- prepared data and other artifacts ---------------------------------------------------------------------
def _then_train(*spoil, cmd="train"):
    """A row that runs the `spoil` steps on the world, then the command."""
    def setup(w, m):
        for step in spoil:
            step(w)
        return getattr(w, cmd)()
    return setup


def _garbage(w):
    (w.data / "train.safetensors").write_bytes(b"\x00" * 64)


row("data-dir-missing", "train.safetensors does not exist", lambda w, m: w.train(data=w.tmp / "nodata"))
row("split-truncated", "train.safetensors", _then_train(lambda w: _truncate(w.data / "train.safetensors")))
row("split-garbage", "train.safetensors is not a readable safetensors file",
    _then_train(_garbage, lambda w: _edit_sidecar(w.data / "train.safetensors", lambda d: d.pop("sha256"))))
row("split-garbage-no-sidecar", "is not a readable safetensors file",
    _then_train(_garbage, lambda w: sidecar_path(w.data / "train.safetensors").unlink()))
row("sidecar-malformed", "train.json is not valid JSON",
    _then_train(lambda w: sidecar_path(w.data / "train.safetensors").write_text('{"classes": [1, 2')))
row("sidecar-not-object", "train.json is not a JSON object",
    _then_train(lambda w: sidecar_path(w.data / "train.safetensors").write_text("[1, 2]")))
row("tensors-sidecar-mismatch", "does not match its sidecar",
    _then_train(lambda w: shutil.copy(w.data / "test.safetensors", w.data / "train.safetensors")))
row("split-labels-out-of-range", "labels out of range", _then_train(lambda w: _respill(w, "train", y=lambda y: y + 10)))
row("split-labels-negative", "labels out of range",
    _then_train(lambda w: _respill(w, "test", y=lambda y: y - 5), cmd="pgd"))
row("split-empty", "holds no images",
    _then_train(lambda w: _respill(w, "train", x=lambda x: x[:0], y=lambda y: y[:0])))
row("split-nan-pixel", "train.safetensors: tensor 'x' has 1 NaN",
    _then_train(lambda w: _respill(w, "train", x=_one_nan)))
row("split-float-out-of-box", "must lie in [0, 1]", _then_train(lambda w: _respill(w, "train", x=lambda x: x.float())))
row("split-3d-images", "[N,C,H,W]", _then_train(lambda w: _respill(w, "train", x=lambda x: x[:, 0])))
row("split-no-labels", "has no images 'x' and labels 'y'", _then_train(lambda w: _respill(w, "train", y=None)))
row("split-label-count", "one per image", _then_train(lambda w: _respill(w, "test", y=lambda y: y[:-1]), cmd="pgd"))
row("split-float-labels", "labels must be integers",
    _then_train(lambda w: _respill(w, "test", y=lambda y: y.float()), cmd="pgd"))
row("split-no-classes", "names no classes", _then_train(lambda w: _respill(
    w, "train", meta=lambda d: {k: v for k, v in d.items() if k != "classes"})))
row("model-missing", "nomodel.safetensors does not exist", lambda w, m: w.pgd(model=w.tmp / "nomodel.safetensors"))
row("model-truncated", "model.safetensors", _then_train(lambda w: _truncate(w.model, 0.7), cmd="pgd"))
row("model-wrong-shape", "model.safetensors: its weights do not fit", _then_train(_swap_model_width, cmd="pgd"))
row("model-no-spec", "has no 'model' spec",
    _then_train(lambda w: _edit_sidecar(w.model, lambda d: d.pop("model")), cmd="pgd"))
row("model-bad-spec", "model spec is unusable",
    _then_train(lambda w: _edit_sidecar(w.model, lambda d: d["model"].pop("arch")), cmd="pgd"))
row("model-nan-weights", "model.safetensors: tensor 'net.linear.weight' has 1 NaN",
    _then_train(_nan_weights, cmd="pgd"))
row("model-is-a-split", "has no 'model' spec", lambda w, m: w.pgd(model=w.data / "train.safetensors"))


@row("constructed-nan-pixel", "d_univ.safetensors: tensor 'x' has 1 NaN")
def _constructed_with_a_nan(w, m):
    from safetensors.torch import save_file
    save_file({"x": _one_nan(torch.rand(16, 1, 8, 8)), "y": torch.zeros(16, dtype=torch.int64)}, str(w.d_univ))
    _edit_sidecar(w.d_univ, lambda d: d.pop("sha256", None))
    return w.train_constructed()


row("constructed-missing", "nothing.safetensors does not exist",
    lambda w, m: w.train_constructed(dataset=w.tmp / "nothing.safetensors"))


# ---- file system ---------------------------------------------------------------------------------------------
def _blocked(cmd: str, arg: str, leaf: str | None = "x"):
    """A row whose output `arg` lies under a regular file (nothing can be created beneath it)."""
    def setup(w, m):
        _block_dir(w.tmp / "blocked")
        return getattr(w, cmd)(**{arg: w.tmp / "blocked" / leaf if leaf else w.tmp / "blocked"})
    return setup


row("out-parent-is-a-file", "blocked: ", _blocked("train", "out"))
row("out-dir-is-a-file", "blocked: ", _blocked("prepare", "out_dir", None))
row("table-parent-is-a-file", "blocked: ", _blocked("pgd", "table"))
row("checkpoint-parent-is-a-file", "blocked: ", _blocked("train", "checkpoint"))
row("out-is-a-folder", "is a folder", lambda w, m: ((w.tmp / "adir").mkdir(), w.train(out=w.tmp / "adir"))[1])
row("read-only-file-system", "read-only",
    lambda w, m: (_fault(m, "uap.artifacts.tempfile.TemporaryFile", errno.EROFS), w.train())[1])
row("disk-full-on-save", "pgd.safetensors: the disk is full",
    lambda w, m: (_fault(m, "safetensors.torch.save_file", errno.ENOSPC), w.pgd())[1])
row("disk-full-on-csv", "pgd.csv: the disk is full",
    lambda w, m: (_fault(m, "pandas.DataFrame.to_csv", errno.ENOSPC), w.pgd())[1])


# ---- faults while running --------------------------------------------------------------------------------------
def _notebook(w: World, notebook: Path, run_dir: Path) -> list[str]:
    return ["notebook", "--config", w.cfg(), "--notebook", str(notebook), "--run-dir", str(run_dir),
            "--fig-dir", str(w.out / "figs"), "--out", str(w.out / "nb.ipynb"), "--html", str(w.out / "nb.html")]


row("training-diverges", "diverged", _train_with(**{T + "lr": 1e30}))
row("notebook-missing", "--notebook", lambda w, m: _notebook(w, w.tmp / "no.ipynb", w.tmp))
row("notebook-bad-run-dir", "--run-dir",
    lambda w, m: _notebook(w, REPO / "notebooks" / "s4_singular.ipynb", w.tmp / "norun"))

row("notebook-out-is-its-source", "--out",
    lambda w, m: ["notebook", "--config", w.cfg(), "--notebook", str(_nb_copy(w)), "--run-dir", str(w.tmp),
                  "--fig-dir", str(w.out / "figs"), "--out", str(w.tmp / "nb.ipynb"), "--html", str(w.out / "nb.html")])
row("notebook-out-is-its-source-by-another-name", "--notebook",
    lambda w, m: ["notebook", "--config", w.cfg(), "--notebook", str(_nb_copy(w)), "--run-dir", str(w.tmp),
                  "--fig-dir", str(w.out / "figs"), "--out", str(w.tmp / "out" / ".." / "nb.ipynb"),
                  "--html", str(w.out / "nb.html")])
row("out-is-the-config", "--config", lambda w, m: w.train(out=w.cfg()))
row("out-is-an-input", "--model", lambda w, m: w.pgd(out=w.model))
row("out-is-the-checkpoint", "--checkpoint", lambda w, m: w.train(checkpoint=w.out / "m.safetensors"))


def _nb_copy(w: World) -> Path:
    nb = w.tmp / "nb.ipynb"
    shutil.copy(REPO / "notebooks" / "s4_singular.ipynb", nb)
    return nb


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("setup,culprit", R)
def test_bad_input_is_one_named_error_and_leaves_nothing(base, tmp_path, monkeypatch, capsys, setup, culprit):
    w = World(base, tmp_path)
    argv = setup(w, monkeypatch)
    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert culprit in lines[0], lines[0]
    assert _files_under(w.out) == [], "partial outputs left behind"
    assert not list(tmp_path.rglob("*.tmp")), "temporary files left behind"


@pytest.mark.parametrize("argv,culprit", [
    (["--threads", "-1"], "--threads"), (["--threads", "0"], "--threads"), (["--threads", "two"], "--threads")])
def test_bad_arguments_exit_2_naming_the_argument(base, tmp_path, capsys, argv, culprit):
    w = World(base, tmp_path)
    args = w.train()
    i = args.index("--threads")
    with pytest.raises(SystemExit) as e:
        cli.main(args[:i] + argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and culprit in err and "Traceback" not in err
    assert _files_under(w.out) == []


def test_the_table_is_large_enough():
    assert len(R) >= 60


def test_an_unexpected_exception_is_an_internal_error_with_its_traceback(base, tmp_path, monkeypatch, capsys):
    """A bug is not dressed up as a user error: exit 1, the traceback stays in the log, no outputs."""
    w = World(base, tmp_path)

    def bug(*a, **k):
        raise KeyError("linf")
    monkeypatch.setattr("uap.cli._eval_subset", bug)
    assert cli.main(w.pgd()) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error: KeyError" in err
    assert _files_under(w.out) == []


def test_a_good_run_of_the_same_world_succeeds(base, tmp_path, capsys):
    """The table's baseline is valid: the same commands without the fault exit 0 and write outputs,
    readable by the owner's group and others as the umask allows."""
    import os
    w = World(base, tmp_path)
    old = os.umask(0o022)
    try:
        assert cli.main(w.pgd()) == 0, capsys.readouterr().err
        assert cli.main(w.prepare()) == 0, capsys.readouterr().err
    finally:
        os.umask(old)
    files = _files_under(w.out)
    assert {"pgd.safetensors", "pgd.json", "pgd.csv", "data/train.safetensors", "data/test.json"} <= set(files)
    assert not [f for f in files if f.endswith(".tmp")]
    for f in ("pgd.safetensors", "pgd.csv", "data/train.json"):
        assert (w.out / f).stat().st_mode & 0o777 == 0o644, f


def test_a_notebook_failing_in_a_cell_leaves_no_notebook_html_or_figures(base, tmp_path, capsys):
    w = World(base, tmp_path)
    (tmp_path / "emptyrun").mkdir()
    code = cli.main(["notebook", "--config", w.cfg(), "--notebook", str(REPO / "notebooks" / "s4_singular.ipynb"),
                     "--run-dir", str(tmp_path / "emptyrun"), "--fig-dir", str(w.out / "figs"),
                     "--out", str(w.out / "nb.ipynb"), "--html", str(w.out / "nb.html")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert "s4_singular.ipynb failed in cell" in err
    assert _files_under(w.out) == []


def test_benchmarks_summary_errors_are_named_and_the_csv_is_written_whole(tmp_path, capsys):
    from uap import benchmarks
    assert benchmarks.main([str(tmp_path / "norun"), "--csv", str(tmp_path / "out" / "b.csv")]) == 2
    assert "no benchmarks folder" in capsys.readouterr().err
    bad = tmp_path / "run" / "benchmarks" / "train_model" / "m.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text("wall\n1.0\n")
    assert benchmarks.main([str(tmp_path / "run"), "--csv", str(tmp_path / "out" / "b.csv")]) == 2
    assert "m.tsv has no column 's'" in capsys.readouterr().err
    assert _files_under(tmp_path / "out") == []
    bad.write_text("s\th:m:s\tmax_rss\tcpu_time\n2.5\t0:00:02\t10\t2.0\n")
    assert benchmarks.main([str(tmp_path / "run"), "--csv", str(tmp_path / "out" / "b.csv")]) == 0
    assert (tmp_path / "out" / "b.csv").read_text().splitlines()[0].startswith("rule,")


def test_a_command_ending_with_a_uap_error_is_an_expected_failure(base, tmp_path, monkeypatch, capsys):
    """Commands of every system raise UapError for expected failures and get the same boundary: exit 2,
    one line, and their outputs so far are dropped."""
    w = World(base, tmp_path)

    def cmd(a, cfg):
        from uap.artifacts import write_json
        write_json(w.out / "partial.json", {"a": 1})
        from uap.errors import UapError
        raise UapError("the D_univ dataset is empty\n(some target class was never reached)")
    monkeypatch.setattr("uap.cli.cmd_pgd", cmd)
    assert cli.main(w.pgd()) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: the D_univ dataset is empty (some target class was never reached)"
    assert _files_under(w.out) == []
