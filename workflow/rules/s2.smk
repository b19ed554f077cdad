# S2: universal perturbations for interpretation (000_0f31663abaa95f9e.txt).
# One experiment per (model, interpretation); its params leave out upi.models, so adding a model
# does not re-run the experiments of the others.
UPI_ATTACK_CFG = {k: v for k, v in config["upi"].items() if k != "models"}


rule upi_attack:
    input:
        model=f"{R}/models/{{model}}.safetensors",
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/upi/{{model}}_{{interp}}.csv",
        deltas=f"{R}/upi/{{model}}_{{interp}}.safetensors",
        meta=f"{R}/upi/{{model}}_{{interp}}.json",
    log:
        f"{R}/logs/upi_attack/{{model}}_{{interp}}.log",
    benchmark:
        f"{R}/benchmarks/upi_attack/{{model}}_{{interp}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice(upi=UPI_ATTACK_CFG),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap upi-attack --config {params.cfg} --model {input.model} --interpreter {wildcards.interp} "
        "--data-dir {params.data_dir} --out {output.deltas} --table {output.table} --threads {threads} "
        "> {log} 2>&1"


rule upi_tables:
    input:
        **s2_inputs(),
    output:
        **reported(s2_tables(), "tables", "S2", "tables"),
    log:
        f"{R}/logs/upi_tables.log",
    benchmark:
        f"{R}/benchmarks/upi_tables.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice("data", "upi", "claims"),
    shell:
        "python -m uap upi-tables --config {params.cfg} --tables {input.tables} --deltas {input.deltas} "
        "--table1 {output.table1} --table2 {output.table2} --correlation {output.correlation} "
        "--claims {output.upi_claims} > {log} 2>&1"
