rule pgd_attack:
    input:
        model=f"{R}/models/natural.safetensors",
        test=rules.prepare_data.output.test,
    output:
        delta=f"{R}/attacks/pgd_{{norm}}.safetensors",
        meta=f"{R}/attacks/pgd_{{norm}}.json",
        table=f"{R}/attacks/pgd_{{norm}}.csv",
    log:
        f"{R}/logs/pgd_attack/{{norm}}.log",
    benchmark:
        f"{R}/benchmarks/pgd_attack/{{norm}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("attacks"),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap pgd --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--norm {wildcards.norm} --out {output.delta} --table {output.table} --threads {threads} > {log} 2>&1"


rule universal_attack:
    input:
        model=f"{R}/models/natural.safetensors",
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        delta=f"{R}/attacks/universal_{{norm}}.safetensors",
        meta=f"{R}/attacks/universal_{{norm}}.json",
        table=f"{R}/attacks/universal_{{norm}}.csv",
        curves=f"{R}/attacks/universal_{{norm}}_curves.csv",
    log:
        f"{R}/logs/universal_attack/{{norm}}.log",
    benchmark:
        f"{R}/benchmarks/universal_attack/{{norm}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("attacks"),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap universal --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--norm {wildcards.norm} --out {output.delta} --table {output.table} --curves {output.curves} "
        "--threads {threads} > {log} 2>&1"
