rule claims_table:
    input:
        generalization=rules.generalization_table.output.table,
        **s4_tables(),
        s1_interpolation=f"{R}/s1/interpolation.csv",
        s1_leakage=f"{R}/s1/leakage_probes.csv",
    output:
        table=f"{R}/tables/claims.csv",
    log:
        f"{R}/logs/claims_table.log",
    benchmark:
        f"{R}/benchmarks/claims_table.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        cfg=cfg_slice("data", "claims", "interpolation"),
    shell:
        "python -m uap claims --config {params.cfg} --generalization {input.generalization} "
        "--s4-layers {input.s4_layers} --s4-images {input.s4_images} --s4-transfer {input.s4_transfer} "
        "--s1-interpolation {input.s1_interpolation} --s1-leakage {input.s1_leakage} "
        "--out {output.table} > {log} 2>&1"
