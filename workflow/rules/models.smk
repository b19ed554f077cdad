rule train_model:
    input:
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        weights=f"{R}/models/{{model}}.safetensors",
        meta=f"{R}/models/{{model}}.json",
    log:
        f"{R}/logs/train_model/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/train_model/{{model}}.tsv"
    priority: 20
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=model_cfg,
        data_dir=parent_of("input", "test"),
        checkpoint=checkpoint_path,
    shell:
        "python -m uap train --config {params.cfg} --model {wildcards.model} --data-dir {params.data_dir} "
        "--out {output.weights} --checkpoint {params.checkpoint} --threads {threads} > {log} 2>&1"
