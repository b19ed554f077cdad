rule claims_table:
    input:
        **s4_tables(),
        **s1a_tables(),
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
            "data", "claims", "interpolation", s1_analyses={"scaling": S1A["scaling"]}
        ),
    shell:
        "python -m uap claims --config {params.cfg} --generalization {input.generalization} "
        "--s4-layers {input.s4_layers} --s4-images {input.s4_images} --s4-transfer {input.s4_transfer} "
        "--s2-claims {input.s2_claims} "
        "--s1-models {input.s1_models} --s1-locality {input.s1_locality} --s1-shifts {input.s1_shifts} "
        "--s1-scaling {input.s1_scaling} --s1-transfer {input.s1_transfer} "
        "--s1-interpolation {input.s1_interpolation} --s1-leakage {input.s1_leakage} "
        "--s3-juap-vs-plain {input.s3_juap_vs_plain} "
        "--out {output.table} --summary {output.summary} > {log} 2>&1"
