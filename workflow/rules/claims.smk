rule claims_table:
    input:
        generalization=rules.generalization_table.output.table,
        **s4_tables(),
        s3_juap_vs_plain=f"{R}/tables/s3_juap_vs_plain.csv",
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
        "--s3-juap-vs-plain {input.s3_juap_vs_plain} "
        "--out {output.table} > {log} 2>&1"
