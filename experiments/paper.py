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
