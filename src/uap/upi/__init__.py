"""S2 — universal perturbations for interpretation (000_0f31663abaa95f9e.txt): the experiment of
one (model, interpretation) pair, Tables 1–2 analogues, cross-correlations and the published values.
The attacks themselves live in uap.attacks (upi_grad, upi_pca, interp_pgd, sgd_uap)."""
