rule claims_table:
    input:
        generalization=rules.generalization_table.output.table,
        **s4_tables(),
        s2_table1=s2_tables()["table1"],
        s2_correlation=s2_tables()["correlation"],
    output:
        table=f"{R}/tables/claims.csv",
    log:
        f"{R}/logs/claims_table.log",
    benchmark:
        f"{R}/benchmarks/claims_table.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        cfg=cfg_slice("data", "claims"),
    shell:
        "python -m uap claims --config {params.cfg} --generalization {input.generalization} "
        "--s4-layers {input.s4_layers} --s4-images {input.s4_images} --s4-transfer {input.s4_transfer} "
        "--s2-table1 {input.s2_table1} --s2-correlation {input.s2_correlation} "
        "--out {output.table} > {log} 2>&1"
