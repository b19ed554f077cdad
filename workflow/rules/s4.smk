# S4: singular-vector UAPs (004_37ee862723438816.txt) and the DeepFool UAP they are compared with.
S4_MAIN = config["s4"]["models"][0]


rule sv_layers:
    input:
        model=f"{R}/models/{{model}}.safetensors",
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s4/layers_{{model}}.csv",
        deltas=f"{R}/s4/layers_{{model}}.safetensors",
        meta=f"{R}/s4/layers_{{model}}.json",
    log:
        f"{R}/logs/sv_layers/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/sv_layers/{{model}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("s4"),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap sv-layers --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--table {output.table} --out {output.deltas} --threads {threads} > {log} 2>&1"


rule sv_images:
    input:
        model=f"{R}/models/{S4_MAIN}.safetensors",
        layers=f"{R}/s4/layers_{S4_MAIN}.csv",
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s4/images_{S4_MAIN}.csv",
    log:
        f"{R}/logs/sv_images.log",
    benchmark:
        f"{R}/benchmarks/sv_images.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("s4"),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap sv-images --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--layers {input.layers} --table {output.table} --threads {threads} > {log} 2>&1"


rule sv_q:
    input:
        model=f"{R}/models/{S4_MAIN}.safetensors",
        layers=f"{R}/s4/layers_{S4_MAIN}.csv",
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s4/q_{S4_MAIN}.csv",
    log:
        f"{R}/logs/sv_q.log",
    benchmark:
        f"{R}/benchmarks/sv_q.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("s4"),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap sv-q --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--layers {input.layers} --table {output.table} --threads {threads} > {log} 2>&1"


rule sv_transfer:
    input:
        models=expand(f"{R}/models/{{m}}.safetensors", m=config["s4"]["models"]),
        layers=expand(f"{R}/s4/layers_{{m}}.csv", m=config["s4"]["models"]),
        deltas=expand(f"{R}/s4/layers_{{m}}.safetensors", m=config["s4"]["models"]),
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s4/transfer.csv",
    log:
        f"{R}/logs/sv_transfer.log",
    benchmark:
        f"{R}/benchmarks/sv_transfer.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    params:
        cfg=cfg_slice("s4"),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap sv-transfer --config {params.cfg} --data-dir {params.data_dir} --models {input.models} "
        "--layers {input.layers} --deltas {input.deltas} --table {output.table} --threads {threads} > {log} 2>&1"
