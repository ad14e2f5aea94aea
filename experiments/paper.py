"""The papers' reported numbers, in one place (theory.md §6, gradients.md). Nothing here is measured.

Experiments copy the values they compare against into their results (so that plots and the report
read them from ``metrics.json``); the claims rules import them from here.
"""

from __future__ import annotations

# ---- Task-arithmetic theory paper, coloured digits with a ViT (theory.md §6.1) ---------------------
# α̂ of each task pair, Table 1 (λ, T1 accuracy %, T2 accuracy %) and Figure 1 (values read from
# the figure, about ±3 points).
CDIGITS_ALPHA = {"irrelevant": 0.164, "aligned": 0.891, "contradictory": -0.849}
CDIGITS_TABLE1 = {
    "irrelevant": {"multi_task": (1.4, 91.83, 88.40), "unlearning": (-0.6, 95.02, 50.34)},
    "aligned": {"multi_task": (0.2, 95.62, 92.46), "unlearning": (0.0, 95.20, 90.51)},
    "contradictory": {"multi_task": (0.6, 79.54, 62.52), "unlearning": (-1.0, 94.21, 4.97)},
}
CDIGITS_FIGURE1_LAMBDAS = [
    -1.0,
    -0.8,
    -0.6,
    -0.4,
    -0.2,
    0.0,
    0.2,
    0.4,
    0.6,
    0.8,
    1.0,
    1.2,
    1.4,
    1.6,
]
CDIGITS_FIGURE1 = {
    "irrelevant": (
        [88, 94, 94, 95, 95, 95, 94, 94, 94, 94, 93, 92, 91, 88],
        [50, 50, 50, 49, 50, 50, 50, 50, 51, 62, 76, 84, 86, 84],
    ),
    "aligned": (
        [50, 58, 86, 95, 95, 95, 96, 96, 94, 90, 86],
        [47, 53, 82, 90, 90, 91, 92, 90, 89, 84, 82],
    ),
    "contradictory": (
        [95, 94, 95, 95, 95, 96, 95, 89, 78, 68, 57],
        [8, 24, 27, 27, 27, 29, 42, 51, 63, 67, 69],
    ),
}
# Table 2 (out-of-domain task T', accuracy %) and the estimated correlations γ of Figure 2.
CDIGITS_TABLE2 = {
    "finetuned": 92.21,
    "psi_T1": 88.10,
    "psi_T2": 45.06,
    "best": 91.74,
    "best_lambda": (1.2, -0.6),
}
CDIGITS_GAMMA = (0.792, -0.637)

# ---- Task-arithmetic theory paper, Phi-1.5 unlearning (theory.md §6.2, Tables 3-4) -----------------
# Rouge-L drop (%) on the forgotten book A and the others B, C; α̂ of B and C with A.
LM_DROP_PERCENT = {
    "full": {"A": 37.23, "B": 34.71, "C": 15.13},
    "lora": {"A": 35.53, "B": 24.11, "C": 13.83},
}
LM_ALPHA = {"B": 0.498, "C": 0.239}

# ---- Task vectors as gradients (gradients.md §5): the authors' earlier CLIP ViT-B/16 runs -----------
# Reference values, not the paper's tables (orders of magnitude). (a) normalised per-epoch minibatch-
# gradient norm, Adam lr 1e-5, batch 32: dataset -> (recipe's epochs, [epochs 1-5]) (SVHN has 4).
GRADIENTS_GRAD_NORM = {
    "GTSRB": (11, [0.681, 0.176, 0.087, 0.023, 0.010]),
    "MNIST": (5, [0.421, 0.287, 0.126, 0.093, 0.072]),
    "SVHN": (4, [0.402, 0.231, 0.194, 0.173]),
    "CIFAR100": (6, [0.324, 0.168, 0.146, 0.125, 0.122]),
    "EuroSAT": (12, [0.266, 0.169, 0.117, 0.092, 0.083]),
    "RESISC45": (15, [0.228, 0.146, 0.111, 0.093, 0.077]),
    "DTD": (76, [0.124, 0.098, 0.097, 0.091, 0.086]),
}
# (b) merging 8 tasks (AdamW, mean merge α = 1/8), average absolute test accuracy (%) per vector kind.
GRADIENTS_MERGE_AVG = {"zero_shot": 55.1, "1_epoch": 71.6, "10_epochs": 72.2, "converged": 72.6}
# (c) merging checkpoints taken at x% of fine-tuning, 8 tasks, averages (%): fraction -> row.
GRADIENTS_MERGE_FRACTIONS = {
    "fractions": [0.1, 0.2, 0.3, 0.5, 0.7, 1.0],
    "merged": [69.5, 70.4, 71.6, 71.6, 71.8, 71.9],
    "individual": [89.6, 91.0, 91.5, 92.7, 93.2, 93.2],
    "normalized_same": [77.6, 77.3, 78.2, 77.2, 77.0, 77.1],
    "normalized_converged": [74.5, 75.5, 76.7, 76.7, 77.0, 77.1],
}
