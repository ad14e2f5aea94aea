"""Experiment ``phase_diagram``: T1's and T2's hinge loss over (α, λ) against Theorems 1 and 2.

For every α of ``experiment.alphas`` (min, max, step) and seed: Ψ*_T1 (one per seed: T1 does not
change with α, the cache trains it once) and Ψ*_T2(α); Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 on both tasks over the λ grid.
Measured, on the mean over seeds (``experiments.analysis.analyse``):

* λ*(α): the smallest λ at which T2's mean hinge ≤ ε; a line fitted over α ≥ 0 (slope and intercept
  against the theory's −1 and 1 + β);
* β̂: the slope of T1's mean hinge against |λ| at α = 0 (the |λ|β term), with its R²;
* for α < 0: λ_min(α), the most negative λ down to which T1 stays retained (mean hinge ≤ ε on every λ
  in [λ_min, 0]), against the −c/α² shape (fitted log-log slope of |λ_min| against |α|; theory −2).

The predictions come from ``experiments.theory.theorem1``, the verdicts from
``experiments.claims.phase_diagram``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.analysis import analyse
from experiments.config import (
    Setup,
    alphas_of,
    calibration_seeds_of,
    lam_grid,
    seeds_of,
    to_container,
)
from experiments.one_layer.common import (
    hypotheses_of,
    lambda_curves,
    psi0_for_seed,
    test_set,
    train_jobs,
)
from experiments.theory.theorem1 import addition_threshold, negation_lower_bound
from models.cache import ModelCache
from models.mechanism import mechanism
from models.task_vectors import TaskVector
from synthetic.patterns import pair_geometry
from synthetic.tasks import make_task


def _train(c: dict, setup: Setup, alphas: np.ndarray, seeds: list[int], progress, cache):
    """T1 (one per seed) and T2(α) fine-tuned from each seed's Ψ0."""
    geos = {
        a: pair_geometry(
            setup.d,
            float(a),
            n_irrelevant=setup.n_irrelevant,
            rotate=setup.rotate,
            seed=setup.basis_seed,
            device=setup.device,
            dtype=setup.dtype,
        )
        for a in alphas
    }
    t1 = make_task(geos[alphas[0]], "T1", setup.tokens)  # identical for every α
    t2 = {a: make_task(geos[a], "T2", setup.tokens) for a in alphas}
    psi0s = {s: psi0_for_seed(setup, s) for s in seeds}
    jobs = {("T1", s): (psi0s[s], t1, "T1", s) for s in seeds}
    jobs.update({("T2", a, s): (psi0s[s], t2[a], "T2", s) for a in alphas for s in seeds})
    return t1, t2, psi0s, train_jobs(c, setup, jobs, progress=progress, cache=cache)


def _grids(setup, ev, alphas, seeds, lams, t1, t2, psi0s, trained, progress, audit=False):
    """Per (α, seed, λ): hinge "H1", "H2" and accuracy "A1", "A2" of the merged model on T1, T2; with
    ``audit``, also the mechanism of every fine-tuned model on the same test sets ("T1" per seed,
    "T2" per α and seed), else None."""
    shape = (len(alphas), len(seeds), len(lams))
    out = {k: np.zeros(shape) for k in ("H1", "H2", "A1", "A2")}
    mech = {"T1": [], "T2": [[] for _ in alphas]} if audit else None
    bar = tqdm(total=len(seeds) * len(alphas), desc="phase diagram: λ grids", disable=not progress)
    for j, s in enumerate(seeds):
        m1 = trained.results[("T1", s)].model
        tv1 = TaskVector.from_models(psi0s[s], m1)
        d1 = test_set(t1, setup.n_test, s)
        if audit:
            mech["T1"].append(mechanism(psi0s[s], m1, t1.mu, d1))
        for i, a in enumerate(alphas):
            m2 = trained.results[("T2", a, s)].model
            tv2 = TaskVector.from_models(psi0s[s], m2)
            data = {"T1": d1, "T2": test_set(t2[a], setup.n_test, s)}
            cv = lambda_curves(psi0s[s], tv1, tv2, lams.tolist(), data, ev["memory_mb"])
            out["H1"][i, j], out["H2"][i, j] = cv["T1"]["hinge"], cv["T2"]["hinge"]
            out["A1"][i, j], out["A2"][i, j] = cv["T1"]["acc"], cv["T2"]["acc"]
            if audit:
                mech["T2"][i].append(mechanism(psi0s[s], m2, t2[a].mu, data["T2"]))
            bar.update(1)
    bar.close()
    return out, mech


def _calibration(c, setup, ev, alphas, lams, progress, cache) -> dict[str, Any]:
    """T1's mean hinge map over the held-out seeds (``experiment.calibration_seeds``), for β̂."""
    seeds = calibration_seeds_of(c["experiment"])
    t1, t2, psi0s, trained = _train(c, setup, alphas, seeds, progress, cache)
    g, _ = _grids(setup, ev, alphas, seeds, lams, t1, t2, psi0s, trained, progress)
    return {"seeds": seeds, "T1_hinge_mean": g["H1"].mean(1).tolist()}


def _wandb(alphas: np.ndarray, an: dict) -> dict[str, Any]:
    """The λ*(α) table and its line plot."""
    rows = [
        [float(a), an["lambda_star"][i], an["lambda_min_retained"][i]] for i, a in enumerate(alphas)
    ]
    return {
        "tables": {
            "lambda_star": {
                "columns": ["alpha", "lambda_star", "lambda_min_retained"],
                "rows": rows,
            }
        },
        "line_plots": [
            {
                "table": "lambda_star",
                "x": "alpha",
                "y": "lambda_star",
                "title": "multi-task threshold λ*(α)",
            }
        ],
    }


def compute(
    cfg: Any, setup: Setup, *, progress: bool = False, cache: ModelCache | None = None
) -> dict[str, Any]:
    """Fine-tune T1 and T2(α) per seed, evaluate every λ, and analyse the mean maps."""
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    seeds, alphas = seeds_of(exp), np.asarray(alphas_of(exp))
    lams = np.asarray(lam_grid(ev["lam"]))
    t0 = time.perf_counter()
    t1, t2, psi0s, trained = _train(c, setup, alphas, seeds, progress, cache)
    g, mech = _grids(setup, ev, alphas, seeds, lams, t1, t2, psi0s, trained, progress, audit=True)
    h1, h2 = g["H1"].mean(1), g["H2"].mean(1)
    an = analyse(alphas, lams, h1, h2, ev["eps"])
    steps = [r.history.steps_run for r in trained.results.values()]
    results = {
        "experiment": "phase_diagram",
        "config": c,
        "alphas": alphas.tolist(),
        "lambdas": lams.tolist(),
        **{
            n: {
                "hinge_mean": h.tolist(),
                "hinge_std": g[H].std(1).tolist(),
                "acc_mean": g[A].mean(1).tolist(),
            }
            for n, h, H, A in (("T1", h1, "H1", "A1"), ("T2", h2, "H2", "A2"))
        },
        "analysis": an,
        "seeds": seeds,
        "per_seed_hinge": {"T1": g["H1"].tolist(), "T2": g["H2"].tolist()},
        "mechanism": mech,
        "calibration": _calibration(c, setup, ev, alphas, lams, progress, cache),
        "hypotheses": hypotheses_of(setup, ev["eps"], steps),
        "models_requested": trained.requested,
        "models_trained": trained.trained,
        **_wandb(alphas, an),
        "wall_seconds": time.perf_counter() - t0,
    }
    fit = an["lambda_star_fit"]
    results["one_line"] = (
        f"{len(alphas)} α × {len(lams)} λ × {len(seeds)} seeds; "
        + (f"λ*(α) ≈ {fit['slope']:.2f} α + {fit['intercept']:.2f}; " if fit else "")
        + f"{trained.trained}/{trained.requested} models trained; {results['wall_seconds']:.1f}s"
    )
    return results


def figures(results: dict[str, Any]) -> dict[str, Any]:
    """The phase figure with Theorems 1–2 drawn at the measured β̂ and ĉ (1 when not fitted)."""
    from plots.one_layer.phase_diagram import phase_figure

    alphas, an = np.asarray(results["alphas"]), results["analysis"]
    beta = an["beta"]["beta_hat"] if an["beta"] else 0.0
    c_hat = an["retention_shape"]["c_hat"] if an["retention_shape"] else 1.0
    a_pos = alphas[alphas >= 0]
    a_neg = np.linspace(max(alphas.min(), -1.0), -1e-3, 200)
    theory = {
        "beta": beta,
        "c": c_hat,
        "addition": (a_pos, addition_threshold(a_pos, beta)),
        "negation_lower": (a_neg, negation_lower_bound(a_neg, c_hat)),
    }
    return {"phase_diagram": phase_figure(results, theory)}
