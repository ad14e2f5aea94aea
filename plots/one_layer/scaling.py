"""The scaling figures: (a) ΔV's rank-1 residual against M, log-log, with the M^(−1/2) reference;
(b) ΔV's large-row fraction against m per V0 scale; (c) β̂ against m and against B."""

from __future__ import annotations

import numpy as np

from plots.style import apply_style, plt


def _log2_axis(ax, values) -> None:
    """A log2 x axis labelled at the swept values only (no crowded minor labels)."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(set(values)), [f"{v:g}" for v in sorted(set(values))])
    ax.xaxis.set_minor_locator(plt.NullLocator())


def _band(ax, x, values, label, **kw):
    v = np.asarray(values, dtype=float)  # (points, seeds)
    mean = v.mean(1)
    ax.errorbar(
        x,
        mean,
        yerr=v.std(1, ddof=1) if v.shape[1] > 1 else None,
        marker="o",
        capsize=3,
        label=label,
        **kw,
    )


def residual_figure(results: dict, reference: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    for signs, ls in (("positive", "-"), ("paired", "--")):
        pts = [p for p in results["sweeps"]["residual"] if p["knobs"]["irrelevant_signs"] == signs]
        M = np.array([p["knobs"]["d"] - 2 for p in pts], dtype=float)
        _band(ax, M, [p["rank1_residual_dV"] for p in pts], f"irrelevant tokens: {signs}", ls=ls)
        if signs == "positive":
            y0 = np.mean(pts[0]["rank1_residual_dV"])
            ax.plot(
                M, y0 * (M / M[0]) ** reference, ":", color="grey", label="∝ M^(−1/2) (prediction)"
            )
    ax.set(yscale="log", xlabel="M = d − 2 irrelevant patterns", ylabel="ΔV rank-1 residual")
    _log2_axis(ax, [p["knobs"]["d"] - 2 for p in results["sweeps"]["residual"]])
    ax.set_title("ΔV's second direction is a finite-M effect")
    ax.legend(fontsize=7)
    return fig


def rows_figure(results: dict) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    for v0 in results["config"]["experiment"]["v0_stds"]:
        pts = [p for p in results["sweeps"]["rows"] if p["knobs"]["v0_std"] == v0]
        _band(
            ax,
            [p["knobs"]["width"] for p in pts],
            [p["large_fraction"] for p in pts],
            f"V0 std {v0:g}",
        )
    ax.set(xlabel="width m", ylabel="large-row fraction of ΔV", ylim=(-0.05, 1.05))
    _log2_axis(ax, [p["knobs"]["width"] for p in results["sweeps"]["rows"]])
    ax.set_title("Corollary 2: |L| / m against m (mean ± std over seeds)")
    ax.legend(fontsize=7)
    return fig


def beta_figure(results: dict) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.4), sharey=True)
    for ax, knob, label in zip(
        axes, ("width", "batch_size"), ("width m", "batch size B"), strict=True
    ):
        pts = [p for p in results["sweeps"]["beta"] if knob in p["knobs"]]
        _band(ax, [p["knobs"][knob] for p in pts], [p["beta_hat"] for p in pts], "β̂ (one-sided)")
        ax.set(xlabel=label)
        _log2_axis(ax, [p["knobs"][knob] for p in pts])
    axes[0].set_ylabel("β̂")
    fig.suptitle("β̂ against m and B (prediction: flat; mean ± std over seeds)")
    return fig


def scaling_figures(results: dict, reference: float = -0.5) -> dict[str, plt.Figure]:
    apply_style()
    return {
        "scaling_residual": residual_figure(results, reference),
        "scaling_rows": rows_figure(results),
        "scaling_beta": beta_figure(results),
    }
