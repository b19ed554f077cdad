rule construct_datasets:
    input:
        model=chain_source,
        train=rules.prepare_data.output.train,
    output:
        d_univ=f"{R}/constructed/{{norm}}/{{chain}}/d_univ.safetensors",
        d_adv=f"{R}/constructed/{{norm}}/{{chain}}/d_adv.safetensors",
        contingency=f"{R}/constructed/{{norm}}/{{chain}}/contingency.csv",
        stats=f"{R}/constructed/{{norm}}/{{chain}}/construction.json",
    log:
        f"{R}/logs/construct_datasets/{{norm}}_{{chain}}.log",
    benchmark:
        f"{R}/benchmarks/construct_datasets/{{norm}}_{{chain}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("attacks", "constructed"),
        data_dir=parent_of("input", "train"),
        out_dir=parent_of("output", "d_univ"),
        replicate=chain_index,
    shell:
        "python -m uap construct --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--out-dir {params.out_dir} --replicate {params.replicate} --threads {threads} > {log} 2>&1"


rule train_on_constructed:
    input:
        dataset=f"{R}/constructed/{{norm}}/{{chain}}/{{cdata}}.safetensors",
        test=rules.prepare_data.output.test,
    output:
        weights=f"{R}/constructed/{{norm}}/{{chain}}/models/{{cdata}}_{{hp}}_s{{tseed}}.safetensors",
        meta=f"{R}/constructed/{{norm}}/{{chain}}/models/{{cdata}}_{{hp}}_s{{tseed}}.json",
    log:
        f"{R}/logs/train_on_constructed/{{norm}}_{{chain}}_{{cdata}}_{{hp}}_s{{tseed}}.log",
    benchmark:
        f"{R}/benchmarks/train_on_constructed/{{norm}}_{{chain}}_{{cdata}}_{{hp}}_s{{tseed}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("constructed"),
        data_dir=parent_of("input", "test"),
        checkpoint=constructed_checkpoint,
        replicate=chain_index,
    shell:
        "python -m uap train-constructed --config {params.cfg} --dataset {input.dataset} --data-dir {params.data_dir} "
        "--hp {wildcards.hp} --replicate {params.replicate} --train-seed {wildcards.tseed} --out {output.weights} "
        "--checkpoint {params.checkpoint} --threads {threads} > {log} 2>&1"


rule generalization_table:
    input:
        models=constructed_models(),
        sources=[
            *expand(f"{R}/models/{{chain}}.safetensors", chain=CHAINS),
            *expand(
                f"{R}/attacks/{{kind}}_{{norm}}.safetensors",
                kind=["pgd", "universal"],
                norm=NORMS,
            ),
            *expand(
                f"{R}/constructed/{CNORM}/{{chain}}/{{cdata}}.safetensors",
                chain=CHAINS,
                cdata=["d_univ", "d_adv"],
            ),
        ],
    output:
        table=reported(f"{R}/tables/generalization.csv", "tables", "S1", "tables"),
        metrics=f"{R}/metrics.json",
    log:
        f"{R}/logs/generalization_table.log",
    benchmark:
        f"{R}/benchmarks/generalization_table.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice("data"),
    shell:
        "python -m uap report-generalization --config {params.cfg} --models {input.models} "
        "--sources {input.sources} --out {output.table} --metrics {output.metrics} > {log} 2>&1"
