"""Execution settings (device, batch size) and the GPU path, with torch.cuda monkeypatched."""
from __future__ import annotations

import json

import pytest
import torch

from uap import artifacts, execution, utils
from uap.cli import main
from uap.config import ConfigError
from uap.errors import DeviceError


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(utils, "RESOLVED_DEVICE", None)


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "NVIDIA Test GPU")
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(utils, "RESOLVED_DEVICE", None)


@pytest.mark.parametrize("env", [{"CUDA_VISIBLE_DEVICES": "0"}, {"SLURM_JOB_GPUS": "2,3"}])
def test_auto_with_an_allocated_gpu_and_no_cuda_is_a_named_error(no_cuda, env):
    with pytest.raises(DeviceError, match=next(iter(env))):
        utils.resolve_device("auto", environ=env)


@pytest.mark.parametrize("env", [{}, {"CUDA_VISIBLE_DEVICES": ""}, {"CUDA_VISIBLE_DEVICES": "-1"},
                                 {"SLURM_JOB_GPUS": "NoDevFiles"}])
def test_auto_without_an_allocated_gpu_falls_back_to_the_cpu_and_says_so(no_cuda, env, capsys):
    assert utils.resolve_device("auto", environ=env) == torch.device("cpu")
    assert "device: cpu (CUDA is not available" in capsys.readouterr().out
    assert utils.describe_device()["device"] == "cpu"


def test_auto_picks_cuda_logs_the_gpu_and_sidecars_record_it(fake_gpu, capsys, tmp_path):
    assert utils.resolve_device("auto", environ={"CUDA_VISIBLE_DEVICES": "0"}) == torch.device("cuda")
    assert "device: cuda (NVIDIA Test GPU) (CUDA is available)" in capsys.readouterr().out
    artifacts.save_tensors(tmp_path / "t.safetensors", {"x": torch.zeros(2)}, {"kind": "test"})
    v = json.loads((tmp_path / "t.json").read_text())["versions"]
    assert v["gpu"] == "NVIDIA Test GPU" and v["torch_cuda"] == "13.0" and v["device"].startswith("cuda")


def test_explicit_cuda_without_cuda_is_a_device_error(no_cuda):
    with pytest.raises(DeviceError, match="config.device: 'cuda'"):
        utils.resolve_device("cuda", environ={})


def test_sidecar_of_a_process_without_a_device_says_none(no_cuda):
    v = artifacts.versions()
    assert v["device"] == "none" and "torch_cuda" in v and "gpu" not in v


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_device_has_native_bf16_and_sidecars_record_it(
        no_cuda, monkeypatch, capsys, tmp_path, native):
    monkeypatch.setattr(utils, "RESOLVED_PRECISION", None)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    dev = utils.resolve_device("cpu")
    want = "bf16" if native else "fp32"
    assert utils.resolve_precision("auto", dev) == want
    out = capsys.readouterr()
    assert f"precision: {want} (auto: CPU " in out.out and out.err == ""
    artifacts.save_tensors(tmp_path / "t.safetensors", {"x": torch.zeros(2)}, {"kind": "test"})
    v = json.loads((tmp_path / "t.json").read_text())["versions"]
    assert v["precision"] == want and v["cpu_isa"] == torch.backends.cpu.get_cpu_capability()
    # an explicit value is kept; bf16 without native kernels only warns (it is slow, not wrong)
    assert utils.resolve_precision("bf16", dev) == "bf16"
    assert ("far slower than fp32" in capsys.readouterr().err) is (not native)
    assert utils.resolve_precision("fp32", dev) == "fp32" and capsys.readouterr().err == ""


def test_auto_precision_on_cuda_follows_bf16_support(fake_gpu, monkeypatch):
    monkeypatch.setattr(utils, "RESOLVED_PRECISION", None)
    for ok in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda ok=ok: ok)
        assert utils.resolve_precision("auto", torch.device("cuda")) == ("bf16" if ok else "fp32")


def test_commands_that_never_autocast_resolve_fp32_whatever_the_config_says(no_cuda, monkeypatch):
    from uap import cli
    monkeypatch.setattr(utils, "RESOLVED_PRECISION", None)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    cfg = {"seed": 0, "device": "cpu", "precision": "auto"}
    cli._runtime(cfg)
    assert cfg["precision"] == "bf16" == utils.RESOLVED_PRECISION
    cfg = {"seed": 0, "device": "cpu", "precision": "bf16"}
    cli._runtime(cfg, autocast=False)
    assert cfg["precision"] == "fp32" == utils.describe_device()["precision"]


def test_execution_settings_round_trip_through_the_environment():
    env = execution.execution_env({"device": "cuda:1", "max_batch_images": 512, "seed": 3})
    assert env == {"UAP_DEVICE": "cuda:1", "UAP_MAX_BATCH_IMAGES": "512"}
    cfg = execution.apply_execution_env({"device": "auto", "max_batch_images": 4096, "seed": 3}, environ=env)
    assert cfg == {"device": "cuda:1", "max_batch_images": 512, "seed": 3}
    assert execution.apply_execution_env({"device": "cpu"}, environ={}) == {"device": "cpu"}
    with pytest.raises(ConfigError, match="UAP_MAX_BATCH_IMAGES"):
        execution.apply_execution_env({}, environ={"UAP_MAX_BATCH_IMAGES": "0"})


def test_cli_reports_a_device_error_in_one_line(no_cuda, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("UAP_DEVICE", "auto")
    monkeypatch.setenv("SLURM_JOB_GPUS", "0")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    rc = main(["pgd", "--config", json.dumps({"run": "t", "seed": 0, "precision": "fp32"}), "--model", str(tmp_path / "m.safetensors"),
               "--data-dir", str(tmp_path), "--norm", "l2", "--out", str(tmp_path / "o.safetensors"),
               "--table", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "SLURM_JOB_GPUS=0" in err[0] and "Traceback" not in err[0]


def test_claims_summary_counts_verdicts_per_system(tmp_path):
    import pandas as pd

    from uap.claims_summary import claims_summary
    rows = [("S1", "reproduced"), ("S1", "contradicted"), ("S2", "reproduced"), ("S1", "reproduced")]
    pd.DataFrame([{"system": s, "claim": f"c{i}", "verdict": v} for i, (s, v) in enumerate(rows)]).to_csv(
        tmp_path / "c.csv", index=False)
    s = claims_summary(tmp_path / "c.csv")
    assert s["claims"] == 4 and s["verdicts"] == {"contradicted": 1, "reproduced": 3}
    assert s["by_system"] == {"S1": {"contradicted": 1, "reproduced": 2}, "S2": {"reproduced": 1}}
    pd.DataFrame({"claim": ["a"]}).to_csv(tmp_path / "d.csv", index=False)      # a table without verdicts
    assert claims_summary(tmp_path / "d.csv") == {"claims": 1}


def test_cpu_bf16_autocast_runs_convolutions_in_bf16_and_keeps_gradients_fp32():
    conv = torch.nn.Conv2d(1, 2, 3)
    x = torch.rand(2, 1, 5, 5, requires_grad=True)
    with utils.autocast(torch.device("cpu"), "bf16"):
        y = conv(x)
    assert y.dtype == torch.bfloat16
    (g,) = torch.autograd.grad(y.float().sum(), x)
    assert g.dtype == torch.float32                       # the attack's perturbation stays fp32
    for precision in ("fp32", "fp16"):                    # fp16 on the CPU runs fp32 (documented)
        with utils.autocast(torch.device("cpu"), precision):
            assert conv(x).dtype == torch.float32


def test_a_job_starts_without_torchs_compiler_stack_and_keeps_deterministic_kernels():
    """setup_runtime asks for deterministic kernels (warn-only) and the sidecar records torchvision's
    version, neither by importing torch._inductor / torchvision (each pulls in torch._dynamo: 2-4 s
    at the start of every job on this machine)."""
    import subprocess
    import sys
    code = ("import sys, torch\nfrom uap.utils import setup_runtime\nfrom uap.artifacts import versions\n"
            "setup_runtime(0)\nv = versions()\n"
            "assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()\n"
            "loaded = sorted(m for m in ('torch._dynamo', 'torch._inductor', 'torchvision') if m in sys.modules)\n"
            "assert not loaded, loaded\n"
            "import torchvision\nassert v['torchvision'] == torchvision.__version__, (v, torchvision.__version__)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
