"""S1 (003_5f4bfee9d191d7d2.txt): analyses of universal perturbations and non-robust features."""
