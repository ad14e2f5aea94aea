"""Draw the figures that span several jobs of a results tree (before ``experiments.report`` links them).

python -m experiments.figures [--results results]

Each job draws its own figures when it finishes (``experiments.publish``); the Figure 1 analogues put
every task-pair run of the tree side by side, so they are drawn here, from the ``metrics.json`` files
only: ``figure1.png`` (noise-free runs) and ``figure1_noisy.png`` (noisy runs), with their PDFs, next
to ``REPORT.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.io import save_figure
from experiments.registry import resolve
from experiments.report.gather import figure1_groups, find_metrics

TASK_PAIR_FIGURE = (
    "plots.one_layer.task_pair:task_pair_figure"  # (list of task_pair metrics) -> Figure
)


def draw_cross_run_figures(results: Path) -> list[Path]:
    """Draw every cross-run figure of ``results`` into it; returns the files written."""
    pairs = [(f, m) for f, m in find_metrics(results) if m.get("experiment") == "task_pair"]
    groups = figure1_groups(pairs)
    if not groups:
        return []
    from plots.style import plt

    draw = resolve(TASK_PAIR_FIGURE)
    written = []
    for stem, group in groups:
        fig = draw(group)
        written += save_figure(fig, results, stem)
        plt.close(fig)
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=Path("results"))
    args = ap.parse_args(argv)
    for path in draw_cross_run_figures(args.results):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
