"""Published values of S2 (000_0f31663abaa95f9e.txt), shown beside ours where dataset and model match.

Columns of both tables: (dataset, architecture) in the paper's order."""
from __future__ import annotations

COLUMNS = [("Tiny-ImageNet", "vgg16"), ("Tiny-ImageNet", "mobilenet"), ("CIFAR-10", "vgg16"), ("CIFAR-10", "mobilenet"),
           ("MNIST", "mobilenet"), ("MNIST", "cnn2"), ("MNIST", "fcn2")]
DATASET_NAMES = {"tiny_imagenet": "Tiny-ImageNet", "cifar10": "CIFAR-10", "mnist": "MNIST", "mnist5k": "MNIST"}

# Table 1: mean normalised dissimilarity (eq. 9) over the test set.
TABLE1 = {
    ("sg", "random_per_image"): [0.407, 0.664, 0.275, 0.482, 0.342, 1.012, 0.085],
    ("sg", "random_universal"): [0.407, 0.665, 0.274, 0.485, 0.342, 1.006, 0.079],
    ("sg", "per_image_pgd"): [0.777, 0.783, 0.590, 0.710, 0.566, 1.024, 0.324],
    ("sg", "per_image_fgm"): [0.772, 0.778, 0.573, 0.705, 0.549, 0.911, 0.334],
    ("sg", "upi_pca_pgd"): [0.550, 0.681, 0.350, 0.540, 0.428, 1.501, 0.308],
    ("sg", "upi_pca_fgm"): [0.538, 0.668, 0.343, 0.553, 0.428, 1.275, 0.358],
    ("sg", "upi_grad"): [0.598, 0.719, 0.439, 0.641, 0.441, 1.045, 0.242],
    ("sg", "classification_uap"): [0.540, 0.699, 0.372, 0.587, 0.379, 1.042, 0.185],
    ("ig", "random_per_image"): [0.278, 0.528, 0.201, 0.312, 0.240, 0.798, 0.028],
    ("ig", "random_universal"): [0.277, 0.528, 0.199, 0.311, 0.241, 0.794, 0.026],
    ("ig", "per_image_pgd"): [0.749, 0.754, 0.560, 0.652, 0.510, 0.828, 0.246],
    ("ig", "per_image_fgm"): [0.734, 0.728, 0.531, 0.618, 0.476, 0.768, 0.228],
    ("ig", "upi_pca_pgd"): [0.430, 0.578, 0.271, 0.431, 0.318, 0.849, 0.166],
    ("ig", "upi_pca_fgm"): [0.434, 0.561, 0.258, 0.490, 0.321, 0.851, 0.166],
    ("ig", "upi_grad"): [0.531, 0.676, 0.287, 0.541, 0.385, 0.835, 0.183],
    ("ig", "classification_uap"): [0.408, 0.581, 0.280, 0.412, 0.272, 0.824, 0.063],
}

# Table 2 (App. B): fooling rate in %. The random rows do not depend on the interpretation.
_RANDOM2 = {"random_per_image": [1.18, 3.61, 0.66, 1.08, 0.08, 0.49, 0.05],
            "random_universal": [1.18, 3.94, 0.63, 1.15, 0.06, 0.54, 0.05]}
TABLE2 = {
    **{(i, k): v for i in ("sg", "ig") for k, v in _RANDOM2.items()},
    ("sg", "per_image_pgd"): [76.58, 92.64, 34.11, 30.28, 5.46, 0.66, 0.16],
    ("sg", "upi_pca_pgd"): [5.59, 5.03, 4.73, 4.12, 0.24, 2.05, 0.39],
    ("sg", "upi_pca_fgm"): [4.46, 4.23, 4.57, 2.98, 0.24, 2.17, 0.45],
    ("sg", "upi_grad"): [5.32, 10.27, 2.54, 4.78, 0.79, 0.82, 0.51],
    ("ig", "per_image_pgd"): [60.33, 47.72, 25.19, 36.28, 5.85, 6.45, 2.58],
    ("ig", "upi_pca_pgd"): [5.93, 5.77, 4.62, 3.38, 0.26, 2.17, 0.67],
    ("ig", "upi_pca_fgm"): [5.62, 4.63, 4.78, 4.00, 0.26, 2.15, 0.63],
    ("ig", "upi_grad"): [7.41, 20.48, 5.61, 5.62, 0.77, 1.10, 0.76],
}

# Fig. 3–5: |cross-correlation| of UPI-PCA-PGD directions computed for SG vs for IG, same model.
SG_IG_PCA_PGD_CORRELATION = {("Tiny-ImageNet", "vgg16"): 0.025, ("Tiny-ImageNet", "mobilenet"): 0.25,
                             ("CIFAR-10", "vgg16"): 0.96, ("CIFAR-10", "mobilenet"): 0.56,
                             ("MNIST", "cnn2"): 0.91, ("MNIST", "fcn2"): 0.63}


def reference(table: dict, dataset: str, arch: str, interpreter: str, method: str):
    """The paper's value for our dataset/architecture, or None when the paper has no such cell."""
    col = (DATASET_NAMES.get(dataset), arch)
    if col not in COLUMNS or (interpreter, method) not in table:
        return None
    return table[(interpreter, method)][COLUMNS.index(col)]
