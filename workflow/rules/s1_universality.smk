# S1 (003_5f4bfee9d191d7d2.txt) Sec. 5.3 and App. A.3, A.4, B.2.2, F: interpolating universality,
# robust-feature leakage bounds, diversity of universal perturbations, learning dynamics.
rule interp_dataset:
    input:
        model=s1u_model("interpolation"),
        train=rules.prepare_data.output.train,
    output:
        dataset=f"{R}/s1/interpolation/{{variant}}.safetensors",
        meta=f"{R}/s1/interpolation/{{variant}}.json",
    log:
        f"{R}/logs/interp_dataset/{{variant}}.log",
    benchmark:
        f"{R}/benchmarks/interp_dataset/{{variant}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("attacks", "interpolation"),
        data_dir=parent_of("input", "train"),
    shell:
        "python -m uap interp-dataset --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--variant {wildcards.variant} --out {output.dataset} --threads {threads} > {log} 2>&1"


rule interp_train:
    input:
        dataset=f"{R}/s1/interpolation/{{variant}}.safetensors",
        match=interp_match,
        test=rules.prepare_data.output.test,
    output:
        weights=f"{R}/s1/interpolation/models/{{variant}}.safetensors",
        meta=f"{R}/s1/interpolation/models/{{variant}}.json",
        seeds=[
            f"{R}/s1/interpolation/models/{{variant}}.seed{s}.{ext}"  # training seeds 1 … n-1
            for s in range(1, INTERP_SEEDS)
            for ext in ("safetensors", "json")
        ],
    log:
        f"{R}/logs/interp_train/{{variant}}.log",
    benchmark:
        f"{R}/benchmarks/interp_train/{{variant}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("interpolation"),
        data_dir=parent_of("input", "test"),
        checkpoint=interp_checkpoint,
    shell:
        "python -m uap interp-train --config {params.cfg} --dataset {input.dataset} --data-dir {params.data_dir} "
        "--out {output.weights} --checkpoint {params.checkpoint} --match {input.match} --threads {threads} > {log} 2>&1"


rule interp_table:
    input:
        datasets=expand(f"{R}/s1/interpolation/{{v}}.safetensors", v=INTERP),
        models=expand(f"{R}/s1/interpolation/models/{{v}}.safetensors", v=INTERP),
        seeds=expand(
            f"{R}/s1/interpolation/models/{{v}}.seed{{s}}.json",
            v=INTERP,
            s=range(1, INTERP_SEEDS),
        ),
    output:
        table=f"{R}/s1/interpolation.csv",
    log:
        f"{R}/logs/interp_table.log",
    benchmark:
        f"{R}/benchmarks/interp_table.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice("data", "interpolation", "leakage"),
    shell:
        "python -m uap interp-table --config {params.cfg} --datasets {input.datasets} --models {input.models} "
        "--out {output.table} > {log} 2>&1"


rule leakage_probes:
    input:
        datasets=expand(
            f"{R}/constructed/{CNORM}/{{chain}}/d_univ.safetensors", chain=CHAINS
        ),
        models=expand(f"{R}/models/{{m}}.safetensors", m=config["leakage"]["models"]),
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s1/leakage_probes.csv",
    log:
        f"{R}/logs/leakage_probes.log",
    benchmark:
        f"{R}/benchmarks/leakage_probes.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("leakage", "models"),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap leakage-probes --config {params.cfg} --datasets {input.datasets} --data-dir {params.data_dir} "
        "--models {input.models} --out {output.table} --threads {threads} > {log} 2>&1"


rule diversity:
    input:
        model=s1u_model("diversity"),
        fine=diversity_fine_model(),
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        similarity=f"{R}/s1/diversity_similarity.csv",
        asr=f"{R}/s1/diversity_asr.csv",
        deltas=f"{R}/s1/diversity.safetensors",
    log:
        f"{R}/logs/diversity.log",
    benchmark:
        f"{R}/benchmarks/diversity.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("attacks", "diversity"),
        data_dir=parent_of("input", "test"),
        fine=fine_model_flag,
    shell:
        "python -m uap diversity --config {params.cfg} --model {input.model} {params.fine} --data-dir {params.data_dir} "
        "--similarity {output.similarity} --asr {output.asr} --out {output.deltas} --threads {threads} > {log} 2>&1"


rule dynamics:
    input:
        model=s1u_model("dynamics"),
        train=rules.prepare_data.output.train,
    output:
        table=f"{R}/s1/dynamics.csv",
    log:
        f"{R}/logs/dynamics.log",
    benchmark:
        f"{R}/benchmarks/dynamics.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("attacks", "dynamics"),
        data_dir=parent_of("input", "train"),
    shell:
        "python -m uap dynamics --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--out {output.table} --threads {threads} > {log} 2>&1"


rule figures_s1_universality:
    input:
        **s1u_tables(),
        deltas=f"{R}/s1/diversity.safetensors",
        notebook="notebooks/s1_universality.ipynb",
    output:
        notebook=f"{R}/notebooks/s1_universality.ipynb",
        html=f"{R}/notebooks/s1_universality.html",
        figures=reported(
            s1u_figures(), "s1_universality", "S1", "figures: s1_universality"
        ),
    log:
        f"{R}/logs/figures_s1_universality.log",
    benchmark:
        f"{R}/benchmarks/figures_s1_universality.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice(),
        run_dir=parent_of("input", "interpolation", up=2),
        fig_dir=parent_of("output", "figures"),
    shell:
        "python -m uap notebook --config {params.cfg} --notebook {input.notebook} --run-dir {params.run_dir} "
        "--fig-dir {params.fig_dir} --out {output.notebook} --html {output.html} > {log} 2>&1"
