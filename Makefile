# The two entry points of the README. Both set up a fresh machine first (idempotent).
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
CORES ?= all
# Local runs use no SLURM. At every start Snakemake's SLURM executor plugin runs `scontrol show config`,
# which waits 9-10 s where SLURM is installed but no controller answers (as here after `make test`);
# an empty SLURM_CONF makes it fail at once.
LOCAL := SLURM_CONF=/dev/null

.PHONY: reproduce test setup lint
reproduce: ## set up, then run the full default DAG (config.yaml, Fashion-MNIST)
	bash workflow/scripts/setup.sh
	$(LOCAL) snakemake --cores $(CORES)
	# S2's Tables 1/2 and its notebook also on the offline MNIST subset (the paper's dataset), into results/mnist5k/
	$(LOCAL) snakemake s2_stage figures_s2_upi --cores $(CORES) --config run=mnist5k 'data={dataset: mnist5k}'

test: ## set up (incl. a local one-node SLURM), then run the whole test suite
	bash workflow/scripts/setup.sh --with-slurm
	python -m pytest tests

setup:
	bash workflow/scripts/setup.sh

lint:
	snakemake --lint
	snakefmt --check Snakefile workflow/rules
