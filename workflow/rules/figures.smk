rule figures_s1_constructed:
    input:
        universal=expand(f"{R}/attacks/universal_{{norm}}.safetensors", norm=NORMS),
        pgd=expand(f"{R}/attacks/pgd_{{norm}}.csv", norm=NORMS),
        table=f"{R}/tables/generalization.csv",
        stats=f"{CMAIN}/construction.json",
        contingency=f"{CMAIN}/contingency.csv",
        notebook="notebooks/s1_constructed.ipynb",
    output:
        notebook=f"{R}/notebooks/s1_constructed.ipynb",
        html=f"{R}/notebooks/s1_constructed.html",
        figures=reported(
            figure_outputs(), "s1_constructed", "S1", "figures: s1_constructed"
        ),
    log:
        f"{R}/logs/figures_s1_constructed.log",
    benchmark:
        f"{R}/benchmarks/figures_s1_constructed.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice(),
        run_dir=parent_of("input", "table", up=2),
        fig_dir=parent_of("output", "figures"),
    shell:
        "python -m uap notebook --config {params.cfg} --notebook {input.notebook} --run-dir {params.run_dir} "
        "--fig-dir {params.fig_dir} --out {output.notebook} --html {output.html} > {log} 2>&1"


rule figures_s4_singular:
    input:
        **s4_tables(),
        table=f"{R}/s4/transfer.csv",
        deltas=expand(f"{R}/s4/layers_{{m}}.safetensors", m=config["s4"]["models"]),
        notebook="notebooks/s4_singular.ipynb",
        claims=f"{R}/tables/claims.csv",
    output:
        notebook=f"{R}/notebooks/s4_singular.ipynb",
        html=f"{R}/notebooks/s4_singular.html",
        figures=reported(s4_figures(), "s4_singular", "S4", "figures: s4_singular"),
    log:
        f"{R}/logs/figures_s4_singular.log",
    benchmark:
        f"{R}/benchmarks/figures_s4_singular.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice(),
        run_dir=parent_of("input", "table", up=2),
        fig_dir=parent_of("output", "figures"),
    shell:
        "python -m uap notebook --config {params.cfg} --notebook {input.notebook} --run-dir {params.run_dir} "
        "--fig-dir {params.fig_dir} --out {output.notebook} --html {output.html} > {log} 2>&1"


rule figures_s2_upi:
    input:
        **s2_tables(),
        deltas=s2_inputs()["deltas"],
        notebook="notebooks/s2_upi.ipynb",
    output:
        notebook=f"{R}/notebooks/s2_upi.ipynb",
        html=f"{R}/notebooks/s2_upi.html",
        figures=reported(s2_figures(), "s2_upi", "S2", "figures: s2_upi"),
    log:
        f"{R}/logs/figures_s2_upi.log",
    benchmark:
        f"{R}/benchmarks/figures_s2_upi.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice(),
        run_dir=parent_of("input", "table1", up=2),
        fig_dir=parent_of("output", "figures"),
    shell:
        "python -m uap notebook --config {params.cfg} --notebook {input.notebook} --run-dir {params.run_dir} "
        "--fig-dir {params.fig_dir} --out {output.notebook} --html {output.html} > {log} 2>&1"


rule figures_s3_juap:
    input:
        tables=s3_tables(),
        deltas=expand(
            f"{R}/s3/juap_{{m}}_{{n}}.safetensors",
            m=config["s3"]["models"],
            n=list(config["s3"]["norms"]),
        ),
        jap=expand(f"{R}/s3/jap_{{m}}.safetensors", m=config["s3"]["models"]),
        notebook="notebooks/s3_juap.ipynb",
    output:
        notebook=f"{R}/notebooks/s3_juap.ipynb",
        html=f"{R}/notebooks/s3_juap.html",
        figures=reported(s3_figures(), "s3_juap", "S3", "figures: s3_juap"),
    log:
        f"{R}/logs/figures_s3_juap.log",
    benchmark:
        f"{R}/benchmarks/figures_s3_juap.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice(),
        run_dir=parent_of("input", "tables", up=2),
        fig_dir=parent_of("output", "figures"),
    shell:
        "python -m uap notebook --config {params.cfg} --notebook {input.notebook} --run-dir {params.run_dir} "
        "--fig-dir {params.fig_dir} --out {output.notebook} --html {output.html} > {log} 2>&1"
