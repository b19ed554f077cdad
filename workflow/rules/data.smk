rule prepare_data:
    output:
        train=f"{R}/data/train.safetensors",
        test=f"{R}/data/test.safetensors",
        train_meta=f"{R}/data/train.json",
        test_meta=f"{R}/data/test.json",
    log:
        f"{R}/logs/prepare_data.log",
    benchmark:
        f"{R}/benchmarks/prepare_data.tsv"
    conda:
        "../envs/uap.yaml"
    threads: 1
    params:
        cfg=cfg_slice("data"),
        out_dir=parent_of("output", "train"),
    shell:
        "python -m uap prepare-data --config {params.cfg} --out-dir {params.out_dir} --threads {threads} > {log} 2>&1"
