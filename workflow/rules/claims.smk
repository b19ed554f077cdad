rule claims_table:
    input:
        **s4_tables(),
        **s1a_tables(),
        **s1a_images(),
        construction=expand(
            f"{R}/constructed/{CNORM}/{{chain}}/construction.json", chain=CHAINS
        ),
        generalization=rules.generalization_table.output.table,
        s2_claims=s2_tables()["upi_claims"],
        s1_interpolation=f"{R}/s1/interpolation.csv",
        s1_leakage=f"{R}/s1/leakage_probes.csv",
        s3_juap_vs_plain=f"{R}/tables/s3_juap_vs_plain.csv",
    output:
        table=reported(f"{R}/tables/claims.csv", "claims", "Claims"),
        summary=f"{R}/tables/claims_summary.json",
    log:
        f"{R}/logs/claims_table.log",
    benchmark:
        f"{R}/benchmarks/claims_table.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice(
            "data",
            "claims",
            "interpolation",
            "constructed",
            s1_analyses={"scaling": S1A["scaling"]},
        ),
    shell:
        "python -m uap claims --config {params.cfg} --generalization {input.generalization} "
        "--s4-layers {input.s4_layers} --s4-images {input.s4_images} --s4-transfer {input.s4_transfer} "
        "--s2-claims {input.s2_claims} "
        "--s1-models {input.s1_models} --s1-locality {input.s1_locality} --s1-shifts {input.s1_shifts} "
        "--s1-scaling {input.s1_scaling} --s1-transfer {input.s1_transfer} "
        "--s1-locality-images {input.s1_locality_images} --s1-shifts-images {input.s1_shifts_images} "
        "--s1-scaling-images {input.s1_scaling_images} --s1-transfer-images {input.s1_transfer_images} "
        "--construction {input.construction} "
        "--s1-interpolation {input.s1_interpolation} --s1-leakage {input.s1_leakage} "
        "--s3-juap-vs-plain {input.s3_juap_vs_plain} "
        "--out {output.table} --summary {output.summary} > {log} 2>&1"


rule figures_claims:
    input:
        **s1a_tables(),
        **s1a_images(),
        claims=rules.claims_table.output.table,
        generalization=rules.generalization_table.output.table,
        construction=f"{CMAIN}/construction.json",
        contingency=f"{CMAIN}/contingency.csv",
        robust_universal=f"{R}/s1/scaling_robust_universal.safetensors",
        s1_interpolation=f"{R}/s1/interpolation.csv",
        notebook="notebooks/claims.ipynb",
    output:
        notebook=f"{R}/notebooks/claims.ipynb",
        html=f"{R}/notebooks/claims.html",
        figures=reported(
            claims_figures(), "claims_figures", "Claims", "evidence per row"
        ),
    log:
        f"{R}/logs/figures_claims.log",
    benchmark:
        f"{R}/benchmarks/figures_claims.tsv"
    conda:
        "../envs/uap.yaml"
    params:
        cfg=cfg_slice(),
        run_dir=parent_of("input", "claims", up=2),
        fig_dir=parent_of("output", "figures"),
    shell:
        "python -m uap notebook --config {params.cfg} --notebook {input.notebook} --run-dir {params.run_dir} "
        "--fig-dir {params.fig_dir} --out {output.notebook} --html {output.html} > {log} 2>&1"
