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
