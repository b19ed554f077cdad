# Universal adversarial perturbations: reproduction pipeline.
#   snakemake --cores all                         default profile (config.yaml, Fashion-MNIST, CPU)
#   snakemake --cores all --configfile config/smoke.yaml
#   snakemake --workflow-profile workflow/profiles/slurm --configfile config/cifar10.yaml
# Rules live in workflow/rules/, one file per stage; each rule runs one `python -m uap` command.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/attacks.smk"
include: "workflow/rules/constructed.smk"
include: "workflow/rules/figures.smk"


localrules:
    all,
    generalization_table,


rule all:
    input:
        final_targets(),
    default_target: True
