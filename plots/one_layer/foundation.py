"""The foundation figure: fine-tuning curves and the structure of the task vectors.

(a) validation hinge loss vs SGD step, (b) softmax mass on ±μ_T tokens vs step, (c) normalised
singular values of ΔW and ΔV (Corollary 1: close to rank 1), (d) histogram of the row norms of ΔV
scaled by √m (Corollary 2: a group of Θ(m^-1/2) rows and a group near 0).
"""

from __future__ import annotations

import numpy as np

from plots.style import apply_style, plt, task_color


def _training_panels(ax_h, ax_a, metrics: dict) -> None:
    """(a) hinge per step and on validation, (b) attention mass on ±μ_T tokens."""
    seen = set()
    for run in metrics["runs"]:
        name, hist = run["task"], run["history"]
        label = name if name not in seen else None
        seen.add(name)
        c = task_color(name)
        steps = np.arange(1, len(hist["step_loss"]) + 1)
        ax_h.plot(steps, hist["step_loss"], color=c, lw=0.6, alpha=0.45)
        ax_h.plot(
            hist["step"],
            hist["val_hinge"],
            "o",
            color=c,
            ms=3,
            alpha=0.8,
            label=f"{name} validation" if label else None,
        )
        ax_a.plot(
            hist["step"],
            hist["attention_on_discriminative"],
            color=c,
            lw=0.9,
            alpha=0.7,
            label=label,
        )
    ax_h.axhline(
        metrics["config"]["train"]["eps"], color="grey", ls="--", lw=0.8, label="stop at ε"
    )
    ax_h.set_yscale("symlog", linthresh=1e-2)
    ax_h.plot([], [], color="grey", lw=0.6, label="training batch (each step)")
    ax_h.set(
        xlabel="SGD step", ylabel="hinge loss (symlog)", title="(a) fine-tuning, one line per seed"
    )
    ax_h.set_ylim(bottom=0.0)
    ax_a.axhline(
        metrics["summary"]["uniform_attention_mass"],
        color="grey",
        ls=":",
        lw=0.8,
        label="uniform attention",
    )
    ax_a.set(
        xlabel="SGD step", ylabel="softmax mass on ±μ_T tokens", title="(b) attention", ylim=(0, 1)
    )
    for ax in (ax_h, ax_a):
        ax.legend(loc="best")


def _spectrum_panel(ax_s, runs: list[dict]) -> None:
    """(c) normalised singular values of ΔW and ΔV: median over runs, min–max band."""
    lowest = 1.0
    for key, marker in (("W", "o"), ("V", "s")):
        svs = [np.asarray(r["singular_values"][key]) for r in runs if key in r["singular_values"]]
        if not svs:
            continue
        norm = np.stack([s / s[0] for s in svs])[:, :12]
        k = np.arange(1, norm.shape[1] + 1)
        (line,) = ax_s.plot(
            k, np.median(norm, 0), marker=marker, ms=3, lw=0.8, label=f"Δ{key} (median)"
        )
        ax_s.fill_between(k, norm.min(0), norm.max(0), color=line.get_color(), alpha=0.2, lw=0)
        lowest = min(lowest, float(norm.min()))
    ax_s.set_yscale("log")
    ax_s.set_ylim(max(lowest * 0.5, 1e-8), 1.5)
    ax_s.set(
        xlabel="index i",
        ylabel="σ_i / σ_1  (band: min–max over runs)",
        title="(c) task-vector spectrum",
    )
    ax_s.legend()


def foundation_figure(metrics: dict):
    apply_style()
    fig, axes = plt.subplots(2, 2, figsize=(8.0, 6.0))
    (ax_h, ax_a), (ax_s, ax_r) = axes
    runs = metrics["runs"]
    _training_panels(ax_h, ax_a, metrics)
    _spectrum_panel(ax_s, runs)
    rows = np.concatenate([np.asarray(r["row_norms_scaled"]) for r in runs])
    ax_r.hist(rows, bins=40, color="#555555")
    ax_r.set(
        xlabel="‖u_i‖·√m  (row norms of ΔV)",
        ylabel="neurons (all runs)",
        title="(d) neuron row norms",
    )
    ax_r.set_xlim(left=0.0)
    fig.tight_layout()
    return fig


def figures(metrics: dict) -> dict:
    """The harness's figures step: {"foundation": the figure}."""
    return {"foundation": foundation_figure(metrics)}
