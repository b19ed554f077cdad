# S1 Sec. 3-5.2 (003_5f4bfee9d191d7d2.txt): Table 7 analogue, locality, spatial invariance,
# scaling and transferability of the natural model's per-example and universal perturbations.
rule models_table:
    input:
        models=expand(f"{R}/models/{{m}}.safetensors", m=list(config["models"])),
        test=rules.prepare_data.output.test,
    output:
        table=reported(f"{R}/tables/models.csv", "tables", "S1", "tables"),
    log:
        f"{R}/logs/models_table.log",
    benchmark:
        f"{R}/benchmarks/models_table.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("attacks", s1_analyses={"robustness": S1A["robustness"]}),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap s1-models-table --config {params.cfg} --models {input.models} --data-dir {params.data_dir} "
        "--table {output.table} --threads {threads} > {log} 2>&1"


rule locality:
    input:
        model=f"{R}/models/natural.safetensors",
        pgd=f"{R}/attacks/pgd_{{norm}}.safetensors",
        universal=f"{R}/attacks/universal_{{norm}}.safetensors",
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s1/locality_{{norm}}.csv",
        images=f"{R}/s1/per_image/locality_{{norm}}.csv",
    log:
        f"{R}/logs/locality/{{norm}}.log",
    benchmark:
        f"{R}/benchmarks/locality/{{norm}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice(s1_analyses={"locality": S1A["locality"]}),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap s1-locality --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--pgd {input.pgd} --universal {input.universal} --table {output.table} --images {output.images} "
        "--threads {threads} > {log} 2>&1"


rule shifts:
    input:
        model=f"{R}/models/natural.safetensors",
        pgd=f"{R}/attacks/pgd_{{norm}}.safetensors",
        universal=f"{R}/attacks/universal_{{norm}}.safetensors",
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s1/shifts_{{norm}}.csv",
        images=f"{R}/s1/per_image/shifts_{{norm}}.csv",
    log:
        f"{R}/logs/shifts/{{norm}}.log",
    benchmark:
        f"{R}/benchmarks/shifts/{{norm}}.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice(s1_analyses={"shifts": S1A["shifts"]}),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap s1-shifts --config {params.cfg} --model {input.model} --data-dir {params.data_dir} "
        "--pgd {input.pgd} --universal {input.universal} --table {output.table} --images {output.images} "
        "--threads {threads} > {log} 2>&1"


rule scaling:
    input:
        natural=f"{R}/models/natural.safetensors",
        robust=s1a_model("scaling.robust_model", S1A["scaling"]["robust_model"]),
        control=s1a_model("scaling.control_model", S1A["scaling"]["control_model"]),
        pgd=f"{R}/attacks/pgd_{scaling_norm()}.safetensors",
        universal=f"{R}/attacks/universal_{scaling_norm()}.safetensors",
        locality=f"{R}/s1/locality_{scaling_norm()}.csv",
        train=rules.prepare_data.output.train,
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s1/scaling.csv",
        images=f"{R}/s1/per_image/scaling.csv",
        robust_universal=f"{R}/s1/scaling_robust_universal.safetensors",
        meta=f"{R}/s1/scaling_robust_universal.json",
    log:
        f"{R}/logs/scaling.log",
    benchmark:
        f"{R}/benchmarks/scaling.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice("attacks", s1_analyses={"scaling": S1A["scaling"]}),
        data_dir=parent_of("input", "test"),
        robust=S1A["scaling"]["robust_model"],
    shell:
        "python -m uap s1-scaling --config {params.cfg} --models {input.natural} {input.robust} {input.control} "
        "--natural natural --robust {params.robust} --data-dir {params.data_dir} --pgd {input.pgd} "
        "--universal {input.universal} --locality {input.locality} --out {output.robust_universal} "
        "--table {output.table} --images {output.images} --threads {threads} > {log} 2>&1"


rule transfer:
    input:
        source=f"{R}/models/natural.safetensors",
        targets=[s1a_model("transfer.targets", m) for m in S1A["transfer"]["targets"]],
        pgd=f"{R}/attacks/pgd_{transfer_norm()}.safetensors",
        universal=f"{R}/attacks/universal_{transfer_norm()}.safetensors",
        test=rules.prepare_data.output.test,
    output:
        table=f"{R}/s1/transfer.csv",
        images=f"{R}/s1/per_image/transfer.csv",
    log:
        f"{R}/logs/transfer.log",
    benchmark:
        f"{R}/benchmarks/transfer.tsv"
    conda:
        "../envs/uap.yaml"
    threads: HEAVY_THREADS
    resources:
        gpu_job=1,
    params:
        cfg=cfg_slice(s1_analyses={"transfer": S1A["transfer"]}),
        data_dir=parent_of("input", "test"),
    shell:
        "python -m uap s1-transfer --config {params.cfg} --source {input.source} --targets {input.targets} "
        "--data-dir {params.data_dir} --pgd {input.pgd} --universal {input.universal} --table {output.table} "
        "--images {output.images} --threads {threads} > {log} 2>&1"


rule figures_s1_analyses:
    input:
        **s1a_tables(),
        universal=expand(f"{R}/attacks/universal_{{norm}}.safetensors", norm=NORMS),
        pgd=expand(f"{R}/attacks/pgd_{{norm}}.safetensors", norm=NORMS),
        robust_universal=rules.scaling.output.robust_universal,
        claims=f"{R}/tables/claims.csv",
        notebook="notebooks/s1_analyses.ipynb",
    output:
        notebook=f"{R}/notebooks/s1_analyses.ipynb",
        html=f"{R}/notebooks/s1_analyses.html",
        figures=reported(s1a_figures(), "s1_analyses", "S1", "figures: s1_analyses"),
    log:
        f"{R}/logs/figures_s1_analyses.log",
    benchmark:
        f"{R}/benchmarks/figures_s1_analyses.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice(),
        run_dir=parent_of("input", "s1_transfer", up=2),
        fig_dir=parent_of("output", "figures"),
    shell:
        "python -m uap notebook --config {params.cfg} --notebook {input.notebook} --run-dir {params.run_dir} "
        "--fig-dir {params.fig_dir} --out {output.notebook} --html {output.html} > {log} 2>&1"
