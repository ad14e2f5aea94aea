"""One plotting style for the project: headless backend, fonts, task colours, sizes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

TASK_COLORS = {"T1": "#c0392b", "T2": "#222222", "T'": "#1f77b4"}
THEORY_COLOR = "#2ca02c"
SINGLE_COL = (4.0, 3.0)


def apply_style() -> None:
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "legend.fontsize": 8,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def task_color(name: str) -> str:
    return TASK_COLORS.get(name, "#7f7f7f")
