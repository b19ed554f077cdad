# Helpers shared by all rules: validated config, result paths, per-rule config slices.
import json
import shlex
import sys
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
from uap.config import validate_config  # noqa: E402
from uap.grid import grid_points  # noqa: E402
from uap.execution import execution_env  # noqa: E402

_validated = validate_config(config)  # raises ConfigError naming the bad key
config.clear()
config.update(_validated)

# Jobs (local, conda env or SLURM) import the package from this checkout. Execution settings
# (device, max_batch_images) reach the commands through the environment, not through params: they
# do not change results, so changing them must not re-run anything (Snakemake tracks params and the
# shell command's text, not its prefix). Threads come from `threads:` (--threads {threads}).
# UAP_CHECKPOINT_DIR: where the PGD commands (universal, construct, interp-dataset, pgd) keep the
# checkpoints a re-run after a kill or SIGTERM resumes from (the run's own folder).
_job_env = {
    "PYTHONPATH": SRC,
    **execution_env(config),
    "UAP_CHECKPOINT_DIR": str(Path("results", config["run"], "checkpoints")),
}
shell.prefix(
    "set -euo pipefail; "
    + "".join(f"export {k}={shlex.quote(v)}; " for k, v in _job_env.items())
)

RUN = config["run"]
R = f"results/{RUN}"
NORMS = list(config["attacks"]["norms"])
CNORM = config["constructed"]["norm"]
# Table 3's replicate chains (source model → construction → trained models), the main one first;
# CMAIN is the main chain's folder (its D_univ feeds the figures, Table 4 and the label tables)
CHAINS = [
    config["constructed"]["source_model"],
    *config["constructed"]["replicate_sources"],
]
CMAIN = f"{R}/constructed/{CNORM}/{CHAINS[0]}"
HPS = list(grid_points(config["constructed"]))
# Global keys that change results (and so are params of every rule); device and max_batch_images
# are execution settings, passed through the environment (see shell.prefix above).
GLOBAL_KEYS = ("run", "seed", "precision")
# Threads of every compute job (config.job_threads; Snakemake caps it at --cores when running
# locally). An execution setting: `threads:` is not a rerun trigger.
HEAVY_THREADS = config["job_threads"]


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    norm="l2|linf",
    cdata="d_adv|d_univ",
    hp="lr[0-9.e-]+_bs[0-9]+_(drop|nodrop)",
    chain="[A-Za-z0-9_]+",
    tseed="[0-9]+",
    interp="sg|ig",


def reported(files, caption, category, subcategory=None):
    """Output file(s) (a path, list or dict) flagged for `snakemake --report`, captioned by
    workflow/report/<caption>.rst."""
    if isinstance(files, dict):
        return {
            k: reported(v, caption, category, subcategory) for k, v in files.items()
        }
    if isinstance(files, list):
        return [reported(f, caption, category, subcategory) for f in files]
    return report(
        files,
        caption=f"../report/{caption}.rst",
        category=category,
        subcategory=subcategory,
    )


def cfg_slice(*sections, **overrides):
    """The config a command needs, as one shell-quoted JSON argument.

    Passing only the sections a rule uses means Snakemake re-runs a rule exactly when its own
    settings change (params are a rerun trigger)."""
    cfg = {k: config[k] for k in GLOBAL_KEYS}
    cfg.update({s: config[s] for s in sections})
    cfg.update(overrides)
    return shlex.quote(json.dumps(cfg, sort_keys=True))


def parent_of(kind, key, up=1):
    """Params function: the folder (`up` levels) of one of the rule's input/output files."""

    def folder(wildcards, input, output):
        f = getattr(input if kind == "input" else output, key)
        f = f if isinstance(f, str) else f[0]
        return str(Path(f).parents[up - 1])

    return folder


def model_cfg(wildcards):
    if wildcards.model not in config["models"]:
        raise ValueError(
            f"model {wildcards.model!r} is not in config.models ({sorted(config['models'])})"
        )
    return cfg_slice(models={wildcards.model: config["models"][wildcards.model]})


def checkpoint_path(wildcards):
    return f"{R}/checkpoints/{wildcards.model}.safetensors"


def constructed_checkpoint(wildcards):
    return f"{R}/checkpoints/{wildcards.norm}_{wildcards.chain}_{wildcards.cdata}_{wildcards.hp}_s{wildcards.tseed}.safetensors"


def chain_index(wildcards):
    """Replicate index of a chain (0: constructed.source_model); it offsets every seed of the chain."""
    return CHAINS.index(wildcards.chain)


def chain_source(wildcards):
    return f"{R}/models/{wildcards.chain}.safetensors"


def constructed_models():
    return expand(
        f"{R}/constructed/{CNORM}/{{chain}}/models/{{cdata}}_{{hp}}_s{{tseed}}.safetensors",
        chain=CHAINS,
        cdata=["d_adv", "d_univ"],
        hp=HPS,
        tseed=range(config["constructed"]["train_seeds"]),
    )


def figure_outputs():
    return [f"{R}/figures/s1_universal_{n}.png" for n in NORMS] + [
        f"{R}/figures/s1_generalization.png",
        f"{R}/figures/s1_label_tables.png",
    ]


def s4_tables():
    return {
        "s4_layers": expand(f"{R}/s4/layers_{{m}}.csv", m=config["s4"]["models"]),
        "s4_images": f"{R}/s4/images_{config['s4']['models'][0]}.csv",
        "s4_q": f"{R}/s4/q_{config['s4']['models'][0]}.csv",
        "s4_transfer": f"{R}/s4/transfer.csv",
    }


def s4_figures():
    return [
        f"{R}/figures/s4_{name}.png"
        for name in ("layers", "images", "q", "transfer", "perturbations")
    ]


def s2_inputs():
    """Every (model, interpretation) experiment of S2."""
    u = config["upi"]
    return {
        kind: expand(f"{R}/upi/{{m}}_{{i}}.{ext}", m=u["models"], i=u["interpreters"])
        for kind, ext in (("tables", "csv"), ("deltas", "safetensors"))
    }


def s2_tables():
    return {
        "table1": f"{R}/upi/table1.csv",
        "table2": f"{R}/upi/table2.csv",
        "correlation": f"{R}/upi/cross_correlation.csv",
        "upi_claims": f"{R}/upi/claims.csv",
    }


def s2_figures():
    return [
        f"{R}/figures/s2_{name}.png"
        for name in ("table1", "correlation", "perturbations", "maps")
    ]


# ---- S1 analyses (workflow/rules/s1_analyses.smk)
S1A = config["s1_analyses"]


def s1a_model(key, name):
    if name not in config["models"]:
        raise ValueError(
            f"config.s1_analyses.{key}: {name!r} is not in config.models ({sorted(config['models'])})"
        )
    return f"{R}/models/{name}.safetensors"


def scaling_norm():
    """The norm of the scaling analysis: the one the robust model was trained in."""
    m = config["models"].get(S1A["scaling"]["robust_model"], {})
    norm = m.get("adversarial", {}).get("norm")
    if norm not in NORMS:
        raise ValueError(
            "config.s1_analyses.scaling.robust_model must be an adversarially trained model of "
            f"config.models whose norm is in attacks.norms ({NORMS}); got {S1A['scaling']['robust_model']!r}"
        )
    return norm


def transfer_norm():
    if S1A["transfer"]["norm"] not in NORMS:
        raise ValueError(
            f"config.s1_analyses.transfer.norm: {S1A['transfer']['norm']!r} is not in attacks.norms ({NORMS})"
        )
    return S1A["transfer"]["norm"]


def s1a_tables():
    return {
        "s1_models": f"{R}/tables/models.csv",
        "s1_locality": expand(f"{R}/s1/locality_{{norm}}.csv", norm=NORMS),
        "s1_shifts": expand(f"{R}/s1/shifts_{{norm}}.csv", norm=NORMS),
        "s1_scaling": f"{R}/s1/scaling.csv",
        "s1_transfer": f"{R}/s1/transfer.csv",
    }


def s1a_images():
    """Per-image outcomes of the S1 analyses: what the claims table bootstraps."""
    return {
        "s1_locality_images": expand(
            f"{R}/s1/per_image/locality_{{norm}}.csv", norm=NORMS
        ),
        "s1_shifts_images": expand(f"{R}/s1/per_image/shifts_{{norm}}.csv", norm=NORMS),
        "s1_scaling_images": f"{R}/s1/per_image/scaling.csv",
        "s1_transfer_images": f"{R}/s1/per_image/transfer.csv",
    }


def claims_figures():
    """The PNGs of notebooks/claims.ipynb (the evidence behind each claims row)."""
    names = ["overview", "table3", "scaling", "transfer", "interpolation"]
    names += [f"{kind}_{n}" for kind in ("shifts", "locality") for n in NORMS]
    return [f"{R}/figures/claims_{n}.png" for n in names]


def s1a_figures():
    return [
        f"{R}/figures/s1_{name}.png"
        for name in ["models", "scaling", "transfer"]
        + [f"{kind}_{n}" for kind in ("locality", "shifts") for n in NORMS]
    ]


S3_MAIN = config["s3"]["models"][0]
S3_NORM = config["s3"]["main_norm"]


def s3_runs():
    s = config["s3"]
    return {
        "juap": expand(
            f"{R}/s3/juap_{{m}}_{{n}}.csv", m=s["models"], n=list(s["norms"])
        ),
        "losses": f"{R}/s3/losses_{S3_MAIN}_{S3_NORM}.csv",
        "jap": expand(f"{R}/s3/jap_{{m}}.csv", m=s["models"]),
    }


def s3_tables():
    names = (
        "table2_fooling",
        "table3_discrepancy",
        "table4_image_dependent",
        "table5_norms",
        "table6_losses",
        "juap_vs_plain",
    )
    return [f"{R}/tables/s3_{n}.csv" for n in names]


def s3_figures():
    return [
        f"{R}/figures/s3_{n}.png" for n in ("maps", "jap_maps", "fooling_discrepancy")
    ]


def final_targets():
    return [
        f"{R}/tables/claims.csv",
        f"{R}/notebooks/s4_singular.html",
        f"{R}/notebooks/s3_juap.html",
        f"{R}/tables/generalization.csv",
        f"{R}/metrics.json",
        f"{R}/notebooks/s1_constructed.html",
        f"{R}/notebooks/s2_upi.html",
        f"{R}/notebooks/s1_analyses.html",
        f"{R}/notebooks/s1_universality.html",
        f"{R}/notebooks/claims.html",
    ]


# ---- S1 interpolation / leakage / diversity / dynamics (workflow/rules/s1_universality.smk) ----
from uap.s1.variants import WILDCARD as INTERP_WILDCARD  # noqa: E402
from uap.s1.variants import variants as interp_variants  # noqa: E402
from uap.s1.variants import matched_variants as interp_matched  # noqa: E402

INTERP = interp_variants(config)
INTERP_MATCHED = interp_matched(config)
INTERP_SEEDS = config["interpolation"]["train_seeds"]


wildcard_constraints:
    variant=INTERP_WILDCARD,


def s1u_model(section):
    return f"{R}/models/{config[section]['source_model']}.safetensors"


def s1u_tables():
    return {
        "interpolation": f"{R}/s1/interpolation.csv",
        "leakage": f"{R}/s1/leakage_probes.csv",
        "diversity_similarity": f"{R}/s1/diversity_similarity.csv",
        "diversity_asr": f"{R}/s1/diversity_asr.csv",
        "dynamics": f"{R}/s1/dynamics.csv",
    }


def s1u_figures():
    names = ("interpolation", "leakage", "diversity", "diversity_deltas", "dynamics")
    return [f"{R}/figures/s1u_{n}.png" for n in names]


def interp_match(wildcards):
    """The datasets a variant is size-matched with: every Table 1/2/5 dataset (none for cyclic)."""
    if wildcards.variant not in INTERP_MATCHED:
        return []
    return expand(f"{R}/s1/interpolation/{{v}}.safetensors", v=INTERP_MATCHED)


def interp_checkpoint(wildcards):
    return f"{R}/checkpoints/interp_{wildcards.variant}.safetensors"


def fine_model_flag(wildcards, input):
    return f"--fine-model {input.fine}" if input.fine else ""


def diversity_fine_model():
    fine = config["diversity"]["fine_model"]
    return [f"{R}/models/{fine}.safetensors"] if fine else []
