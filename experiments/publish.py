"""The harness's publishing step: an experiment's results become files (never inside an experiment).

Order: claims (from ``experiments.claims``) are added to the results, figures drawn from them,
checkpoints saved, and ``metrics.json`` written last — its presence marks the job as finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments.io import save_figure, write_metrics
from experiments.registry import Spec, resolve


def publish(spec: Spec, results: dict[str, Any], out_dir: Path, job_key: str) -> dict[str, Any]:
    """Judge, draw and write one job's results; returns the metrics as written (plus volatiles)."""
    checkpoints = results.pop("_checkpoints", {})
    metrics = {"job_key": job_key, **results}
    if spec.claims is not None:
        metrics["claims"] = resolve(spec.claims)(metrics)
    figures: dict[str, Any] = {}
    for ref in spec.figures:
        figures.update(resolve(ref)(metrics))
    metrics["figures"] = [f"{stem}.{ext}" for stem in figures for ext in ("png", "pdf")]
    if checkpoints:
        from models.task_vectors import save_model

        for rel, model in checkpoints.items():
            save_model(model, out_dir / rel)
    if figures:
        from plots.style import plt

        for stem, fig in figures.items():
            save_figure(fig, out_dir, stem)
            plt.close(fig)
    write_metrics(out_dir, metrics)  # last
    return metrics
