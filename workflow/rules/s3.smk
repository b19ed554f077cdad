# S3: joint universal perturbations, JUAP (002_0c35d062ce311dce.txt).


rule s3_rts:
    input:
        model=f"{R}/models/{{model}}.safetensors",
        train=rules.prepare_data.output.train,
    output:
        masker=f"{R}/s3/rts_{{model}}.safetensors",
    log:
        f"{R}/logs/s3_rts/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/s3_rts/{{model}}.tsv"
    priority: 10
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("s3"),
        data_dir=parent_of("input", "train"),
    shell:
        "python -m uap s3-rts --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--out {output.masker} --threads {threads} > {log} 2>&1"


rule s3_juap:
    input:
        model=f"{R}/models/{{model}}.safetensors",
        rts=f"{R}/s3/rts_{{model}}.safetensors",
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s3/juap_{{model}}_{{norm}}.csv",
        deltas=f"{R}/s3/juap_{{model}}_{{norm}}.safetensors",
    log:
        f"{R}/logs/s3_juap/{{model}}_{{norm}}.log",
    benchmark:
        f"{R}/benchmarks/s3_juap/{{model}}_{{norm}}.tsv"
    priority: 10
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("s3"),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap s3-juap --config {params.cfg} --model {input.model} --rts {input.rts} "
        "--data-dir {params.data_dir} --norm {wildcards.norm} --table {output.table} --out {output.deltas} "
        "--threads {threads} > {log} 2>&1"


rule s3_losses:
    input:
        model=f"{R}/models/{S3_MAIN}.safetensors",
        rts=f"{R}/s3/rts_{S3_MAIN}.safetensors",
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s3/losses_{S3_MAIN}_{S3_NORM}.csv",
    log:
        f"{R}/logs/s3_losses.log",
    benchmark:
        f"{R}/benchmarks/s3_losses.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("s3"),
        data_dir=parent_of("input", "test"),
        norm=S3_NORM,
    shell:
        "python -m uap s3-losses --config {params.cfg} --model {input.model} --rts {input.rts} "
        "--data-dir {params.data_dir} --norm {params.norm} --table {output.table} --threads {threads} > {log} 2>&1"


rule s3_jap:
    input:
        model=f"{R}/models/{{model}}.safetensors",
        rts=f"{R}/s3/rts_{{model}}.safetensors",
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s3/jap_{{model}}.csv",
        deltas=f"{R}/s3/jap_{{model}}.safetensors",
    log:
        f"{R}/logs/s3_jap/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/s3_jap/{{model}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("s3"),
        data_dir=parent_of("input", "test"),
        norm=S3_NORM,
    shell:
        "python -m uap s3-jap --config {params.cfg} --model {input.model} --rts {input.rts} "
        "--data-dir {params.data_dir} --norm {params.norm} --table {output.table} --out {output.deltas} "
        "--threads {threads} > {log} 2>&1"


rule s3_tables:
    input:
        **s3_runs(),
    output:
        tables=reported(s3_tables(), "tables", "S3", "tables"),
    log:
        f"{R}/logs/s3_tables.log",
    benchmark:
        f"{R}/benchmarks/s3_tables.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice("s3"),
        out_dir=parent_of("output", "tables"),
    shell:
        "python -m uap s3-tables --config {params.cfg} --juap {input.juap} --losses {input.losses} "
        "--jap {input.jap} --out-dir {params.out_dir} > {log} 2>&1"
