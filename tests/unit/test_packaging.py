"""requirements.txt is the one source of the pins: pyproject.toml and the conda env must agree with it."""
from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _make_envs():
    spec = importlib.util.spec_from_file_location("make_envs", ROOT / "workflow" / "scripts" / "make_envs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_conda_env_is_generated_from_requirements():
    mod = _make_envs()
    env = ROOT / "workflow" / "envs" / "uap.yaml"
    assert env.read_text() == mod.expected_env(), "run python workflow/scripts/make_envs.py"
    assert sorted(p.name for p in env.parent.glob("*.yaml")) == ["uap.yaml"]      # one (heavy, torch) env
    rules = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    assert rules.count("conda:") == rules.count('"../envs/uap.yaml"') > 0


def test_pyproject_matches_requirement_groups():
    groups = _make_envs().requirement_groups((ROOT / "requirements.txt").read_text())
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert proj["dependencies"] == groups["runtime"]
    extras = proj["optional-dependencies"]
    assert extras["workflow"] == groups["workflow"] and extras["dev"] == groups["dev"]
    assert set(groups) == {"runtime", "workflow", "dev"}
    assert all("==" in pin for g in groups.values() for pin in g)                     # exact pins only
    assert proj["requires-python"] == ">=3.11" and proj["scripts"]["uap"] == "uap.cli:main"
    # remote plugins are optional extras, never in the default install
    remote = [p for k, v in extras.items() if k.startswith("remote") for p in v]
    assert remote and not set(remote) & {p for g in groups.values() for p in g}


def test_group_parser_rejects_a_pin_outside_a_group():
    import pytest
    with pytest.raises(ValueError, match="outside"):
        _make_envs().requirement_groups("torch==1\n# [runtime]\nnumpy==2\n")


def test_the_workflow_builds_its_dag_without_importing_torch():
    """What the Snakefile imports from the package stays light: torch (2 s here) would be imported at
    every `snakemake` start, `-n` and `--lint` included."""
    import re
    import subprocess
    import sys
    text = "".join(p.read_text() for p in [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))])
    modules = sorted(set(re.findall(r"^\s*(?:from|import) (uap[\w.]*)", text, re.M)))
    assert "uap.config" in modules
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + \
        "from uap.config import load_config\nload_config(sys.argv[1])\n" + \
        "heavy = sorted(m for m in ('torch', 'torchvision', 'numpy', 'pandas') if m in sys.modules)\n" + \
        "assert not heavy, heavy\n"
    r = subprocess.run([sys.executable, "-c", code, str(ROOT / "config.yaml")], capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]


def test_commands_that_need_no_torch_do_not_import_it(tmp_path):
    """`python -m uap` registers every command without importing torch, numpy or pandas, and the
    notebook command runs its kernel without torch in the parent process (the 7 notebook jobs and the
    table/claims jobs of a run each saved ~2 s of start-up)."""
    import subprocess
    import sys
    code = ("import sys\nfrom uap import cli\n"
            "args = cli.build_parser().parse_args(['notebook', '--config', sys.argv[1], '--notebook', 'n.ipynb',"
            " '--run-dir', 'r', '--fig-dir', 'f', '--out', 'o.ipynb', '--html', 'o.html'])\n"
            "from uap.artifacts import transaction, write_json\nfrom uap.config import load_config\n"
            "from uap.execution import apply_execution_env\n"
            "apply_execution_env(load_config(sys.argv[1]))\n"
            "heavy = sorted(m for m in ('torch', 'numpy', 'pandas') if m in sys.modules)\n"
            "assert not heavy, heavy\n"
            "import nbformat, papermill, nbconvert\n"
            "assert 'torch' not in sys.modules, 'papermill/nbconvert imported torch'\n")
    r = subprocess.run([sys.executable, "-c", code, str(ROOT / "config.yaml")], capture_output=True, text=True,
                       cwd=tmp_path, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]
