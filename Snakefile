# Universal adversarial perturbations: reproduction pipeline.
#   snakemake --cores all                         default profile (config.yaml, Fashion-MNIST, CPU)
#   snakemake --cores all --configfile config/smoke.yaml
#   snakemake --workflow-profile workflow/profiles/slurm --configfile config/cifar10.yaml
# Rules live in workflow/rules/, one file per stage; each rule runs one `python -m uap` command.

from snakemake.utils import min_version

min_version("9.0")


# `snakemake --report report.html`: this description, the claims table, every figure and table
# (outputs flagged with report(), captions in workflow/report/) and the per-rule runtimes.
report: "workflow/report/workflow.rst"


# A profile given with --configfile replaces config.yaml (Snakemake would otherwise deep-merge
# the two, and a profile would silently inherit the default profile's models and settings).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/attacks.smk"
include: "workflow/rules/constructed.smk"
include: "workflow/rules/s4.smk"
include: "workflow/rules/s2.smk"
include: "workflow/rules/s1_analyses.smk"
include: "workflow/rules/s1_universality.smk"
include: "workflow/rules/s3.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/figures.smk"


localrules:
    all,
    prepare_data,
    generalization_table,
    claims_table,
    figures_s1_constructed,
    figures_s4_singular,
    figures_s1_analyses,
    interp_table,
    figures_s1_universality,
    s1_universality_stage,
    s4_stage,
    s2_stage,
    upi_tables,
    figures_s2_upi,
    s1_analyses_stage,
    figures_s3_juap,
    s3_tables,
    s4_stage,
    s3_stage,
    data_stage,
    models_stage,
    attacks_stage,
    constructed_stage,
    report_stage,
    figures_stage,


rule all:
    default_target: True
    input:
        final_targets(),


# ---- stage targets: one per DVC stage (dvc.yaml), so DVC versions what Snakemake builds -----
rule data_stage:
    input:
        rules.prepare_data.output,


rule models_stage:
    input:
        expand(f"{R}/models/{{model}}.safetensors", model=list(config["models"])),


rule attacks_stage:
    input:
        expand(
            f"{R}/attacks/{{kind}}_{{norm}}.csv", kind=["pgd", "universal"], norm=NORMS
        ),


rule constructed_stage:
    input:
        constructed_models(),


rule s4_stage:
    input:
        s4_tables().values(),


rule s2_stage:
    input:
        s2_inputs().values(),
        s2_tables().values(),


rule s1_analyses_stage:
    input:
        [f for key, f in s1a_tables().items() if key != "s1_models"],  # models.csv is a table (report)


rule s1_universality_stage:
    input:
        s1u_tables().values(),


rule s3_stage:
    input:
        s3_runs().values(),


rule report_stage:
    input:
        rules.models_table.output,
        rules.generalization_table.output,
        rules.claims_table.output,
        s3_tables(),


rule figures_stage:
    input:
        rules.figures_s1_constructed.output,
        rules.figures_s4_singular.output,
        rules.figures_s2_upi.output,
        rules.figures_s1_analyses.output,
        rules.figures_s1_universality.output,
        rules.figures_s3_juap.output,
        rules.figures_claims.output,
