"""Conventions of the figure notebooks, checked on their source (the rendered HTML is checked by the
smoke workflow test): figures are displayed inline, not only saved."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_saved_figure_is_shown_inline(path):
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    code = "\n".join(cells)
    assert "matplotlib.use(" not in code                 # a non-interactive backend drops inline figures
    for cell in cells:
        if "savefig(" in cell:
            assert cell.count("savefig(") == cell.count("plt.show()"), cell[:200]


# s1_analyses cuts locality patches with uap.s1.locality (torch); every other kernel reads artifacts
# with safetensors.numpy and draws with uap.viz (numpy): importing torch costs ~1.8 s a notebook.
TORCH_KERNELS = {"s1_analyses"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_kernels_import_torch_only_where_needed(path):
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    torch_imports = [line for line in code.splitlines()
                     if line.strip().startswith(("import torch", "from torch", "from safetensors.torch",
                                                 "from uap.metrics", "from uap.s1", "from uap.attacks"))]
    assert bool(torch_imports) == (path.stem in TORCH_KERNELS), torch_imports


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_are_deterministic(path):
    """seaborn bootstraps its error bars from fresh entropy unless given a seed (and a strip plot jitters
    with numpy's global RNG): every such call is seeded, so a re-run renders the same PNG (DVC hashes)."""
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    for call in ("lineplot", "barplot", "pointplot"):
        assert code.count(f"sns.{call}(") == code.count(f"sns.{call}(seed=0, "), call
    if "sns.stripplot(" in code:
        assert "np.random.seed(0)" in code


# ------------------------------------------------------------------ rendering does not depend on the folder
def _fake_universality_run(run: Path) -> None:
    """Small inputs of notebooks/s1_universality.ipynb, in the formats its rules write (results/<run>/s1/)."""
    import numpy as np
    import pandas as pd
    from safetensors.numpy import save_file
    s1 = run / "s1"
    s1.mkdir(parents=True)
    pd.DataFrame({"table": ["Table 1", "Table 1", "Table 2", "Table 5"], "row": ["K=1", "K=16", "Random", "Sub-class"],
                  "K": [1, 16, 16, 16], "test_acc": [31.5, 22.0, 12.5, None], "paper_test_acc": [64.3, 40.1, 10.0, 30.2],
                  "chance": [10.0] * 4, "note": ["", "", "", "not applicable: no class hierarchy"]}
                 ).to_csv(s1 / "interpolation.csv", index=False)
    pd.DataFrame({"model": ["natural", "natural2", "robust_l2"], "robust": [False, False, True],
                  "feature_source": ["natural", "natural, diff init", "robust_l2"], "test_acc": [40.0, 35.5, 22.0]}
                 ).to_csv(s1 / "leakage_probes.csv", index=False)
    rows = [{"method": m, "target": 3, "space": s, "i": i, "j": j, "cosine": 1.0 if i == j else 0.1 * (i + j)}
            for m in ("random_init", "orthogonal") for s in ("input", "representation") for i in range(2) for j in range(2)]
    pd.DataFrame(rows).to_csv(s1 / "diversity_similarity.csv", index=False)
    pd.DataFrame({"method": ["random_init", "orthogonal", "subclass"], "asr": [0.4, 0.3, None],
                  "delta_norm": [3.0, 3.0, None], "note": ["", "", "not applicable: no class hierarchy"]}
                 ).to_csv(s1 / "diversity_asr.csv", index=False)
    pd.DataFrame([{"K": K, "batch_size": 8, "lr": 0.1, "epoch": e, "seed": 0, "base_acc": 0.2 * e}
                  for K in (16, 64) for e in (1, 2, 3)]).to_csv(s1 / "dynamics.csv", index=False)
    g = np.random.default_rng(0)
    save_file({k: g.standard_normal((2, 1, 8, 8)).astype(np.float32) for k in ("orthogonal", "random_init")},
              str(s1 / "diversity.safetensors"))


def test_a_rendered_notebook_is_the_same_bytes_from_two_clones_in_different_folders(tmp_path):
    """`python -m uap notebook`, as the figure rules call it (relative paths, from the repository root), in two
    copies of the checkout: the HTML and the executed notebook are byte-identical, hold no absolute path, no
    timestamp and no code cell (the .ipynb keeps the code)."""
    import subprocess
    import sys

    from tests.workflow.conftest import copy_checkout, pipeline_env
    out = {}
    for name in ("first", "elsewhere/second"):
        root = copy_checkout(tmp_path / name)
        _fake_universality_run(root / "results" / "smoke")
        res = subprocess.run(
            [sys.executable, "-m", "uap", "notebook", "--config", "config/smoke.yaml",
             "--notebook", "notebooks/s1_universality.ipynb", "--run-dir", "results/smoke",
             "--fig-dir", "results/smoke/figures", "--out", "results/smoke/notebooks/s1_universality.ipynb",
             "--html", "results/smoke/notebooks/s1_universality.html"],
            cwd=root, env=pipeline_env(), capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        nb_dir = root / "results" / "smoke" / "notebooks"
        out[name] = {f: (nb_dir / f).read_bytes() for f in ("s1_universality.html", "s1_universality.ipynb")}
        html, ipynb = (out[name][f].decode() for f in ("s1_universality.html", "s1_universality.ipynb"))
        for text in (html, ipynb):
            assert str(tmp_path) not in text and str(Path.home()) not in text and "/tmp" not in text
            assert "start_time" not in text and "end_time" not in text and "duration" not in text
        assert '"results/smoke/figures"' in ipynb and ".figures." not in ipynb      # the final folder, not staging
        assert "run_dir" not in html and "import pandas" not in html and "import pandas" in ipynb
        assert html.count('src="data:image/png;base64,') == 5 and "Interpolating universality" in html
        assert sorted(p.name for p in (root / "results" / "smoke" / "figures").iterdir()) == [
            "s1u_diversity.png", "s1u_diversity_deltas.png", "s1u_dynamics.png", "s1u_interpolation.png", "s1u_leakage.png"]
    assert out["first"] == out["elsewhere/second"]
