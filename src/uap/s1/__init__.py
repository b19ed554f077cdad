"""S1 analyses of universal vs per-example perturbations (003_5f4bfee9d191d7d2.txt).

One module per analysis, each importable on its own:
- robustness: standard and PGD-robust accuracy of every model (Table 7 analogue);
- locality: random patches of a perturbation evaluated alone (Sec. 3.1, Fig. 3/14/15);
- shifts: ASR over a grid of wrap-around translations (Sec. 3.2, Fig. 4/16);
- scaling: ASR of t·δ on natural and robust models (Sec. 4, Fig. 5);
- transfer: transfer of per-example vs universal perturbations across models (Sec. 5.2, Fig. 6);
- interpolation: D_univ over base-set size K and restricted base sets (Sec. 5.3, Tables 1, 2, 5);
- leakage: linear probes on frozen features trained on D_univ (App. A.3, Table 4);
- diversity: several initialisations and an orthogonality penalty (App. F);
- dynamics: learning dynamics of universal PGD (App. B.2.2, Fig. 9).
`commands` and `universality_commands` hold their `python -m uap` commands.
"""
