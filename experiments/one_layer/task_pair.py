"""Experiment ``task_pair``: Theorems 1 and 2 on one pair of tasks with correlation α.

Ψ*_T1 and Ψ*_T2 are fine-tuned from the same Ψ0 (per seed), and Ψ = Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 is evaluated
on both tasks over the λ grid (the paper's Figure 1). The paper's Table 1 is chosen on the mean
curves over seeds (``experiments.analysis.table1``):

* multi-task: the λ maximising the worse of the two accuracies, ties broken by the smaller worse
  hinge loss;
* unlearning: among the λ where T1 keeps at least ``eval.retain_fraction`` of its fine-tuned accuracy,
  the one minimising T2's accuracy, ties broken by the larger T2 hinge loss.

The verdicts (``experiments.claims.task_pair``) use the hinge loss, what the theorems bound. The
results carry Theorems 1–2's prediction for this α (``prediction``) for the figure.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.analysis import mean_curves, mean_std, table1
from experiments.config import Setup, calibration_seeds_of, lam_grid, seeds_of, to_container
from experiments.one_layer.common import (
    hypotheses_of,
    lambda_curves,
    test_set,
    train_pair,
    training_curves,
)
from experiments.theory.theorem1 import pair_prediction, relation
from models.cache import ModelCache
from models.estimators import exact_alpha, output_alpha
from models.mechanism import mechanism
from models.task_vectors import TaskVector
from models.training import evaluate
from synthetic.tasks import make_tasks

CURVE_KEYS = ("acc_mean", "acc_std", "hinge_mean", "hinge_std")


def _curves(s, psi0, trained, tasks, lams, setup: Setup, ev: dict):
    """The λ curves of one seed (Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 on both test sets) and those test sets."""
    data = {n: test_set(t, setup.n_test, s) for n, t in tasks.items()}
    tvs = [TaskVector.from_models(psi0, trained.results[(s, n)].model) for n in tasks]
    return lambda_curves(psi0, *tvs, lams.tolist(), data, ev["memory_mb"]), data


def _evaluate_seed(s, psi0, trained, tasks, lams, setup: Setup, ev: dict):
    """λ curves of one seed, its own-task rows and the output α̂ of its two fine-tuned models."""
    curves, data = _curves(s, psi0, trained, tasks, lams, setup, ev)
    res = {n: trained.results[(s, n)] for n in tasks}
    X = torch.cat([data[n].X for n in tasks])
    own = []
    for n in tasks:
        e = evaluate(res[n].model, data[n])
        own.append(
            {
                "seed": s,
                "task": n,
                "hinge": e["hinge"],
                "accuracy": e["accuracy"],
                "steps": res[n].history.steps_run,
                "reaches_eps": e["hinge"] <= ev["eps"],
                "mechanism": mechanism(psi0, res[n].model, tasks[n].mu, data[n]),
            }
        )
    alpha_hat = output_alpha(res["T1"].model, res["T2"].model, X, batch_size=min(256, X.shape[0]))
    return curves, own, alpha_hat


def _calibration(c, setup: Setup, tasks, lams, ev: dict, cache, progress: bool) -> dict[str, Any]:
    """The λ curves of the held-out seeds (``experiment.calibration_seeds``), on which the claims fit
    β̂; they are never among the reported seeds."""
    seeds = calibration_seeds_of(c["experiment"])
    psi0s, trained = train_pair(c, setup, tasks, seeds, progress=progress, cache=cache)
    curves = [_curves(s, psi0s[s], trained, tasks, lams, setup, ev)[0] for s in seeds]
    return {
        "seeds": seeds,
        **{f"{n}_hinge": [cv[n]["hinge"].tolist() for cv in curves] for n in tasks},
        "models_trained": trained.trained,
    }


def pair_label(alpha: float, noise_std: float) -> str:
    """The label of a pair from the config that ran, e.g. "aligned, noisy (α = 0.8)"."""
    return f"{relation(alpha)}{', noisy' if noise_std > 0 else ''} (α = {float(alpha)})"


def _wandb(label: str, lams: np.ndarray, curves: dict, trained) -> dict[str, Any]:
    """The λ-curve and training-curve tables with their line plots."""
    rows = [
        [float(lam), n, *(float(curves[n][k][i]) for k in CURVE_KEYS)]
        for n in curves
        for i, lam in enumerate(lams)
    ]
    train_table, train_plot = training_curves(trained, f"{label}: fine-tuning")
    line = {"table": "lambda_curves", "x": "lambda", "stroke": "task"}
    return {
        "tables": {
            "lambda_curves": {"columns": ["lambda", "task", *CURVE_KEYS], "rows": rows},
            "training_curves": train_table,
        },
        "line_plots": [
            {**line, "y": "acc_mean", "title": f"{label}: accuracy vs λ"},
            {**line, "y": "hinge_mean", "title": f"{label}: hinge vs λ"},
            train_plot,
        ],
    }


def compute(
    cfg: Any, setup: Setup, *, progress: bool = False, cache: ModelCache | None = None
) -> dict[str, Any]:
    """Fine-tune both tasks per seed and evaluate Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 over the λ grid."""
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    seeds = seeds_of(exp)
    label = exp.get("label") or pair_label(setup.alpha, setup.tokens.noise_std)
    t_start = time.perf_counter()
    lams = np.asarray(lam_grid(ev["lam"]))
    geo = setup.geometry()
    tasks = make_tasks(geo, setup.tokens)
    psi0s, trained = train_pair(c, setup, tasks, seeds, progress=progress, cache=cache)
    per_seed, own, alpha_hats = [], [], []
    for s in tqdm(seeds, desc=f"{label}: λ grids", disable=not progress):
        curves_s, own_s, alpha_hat = _evaluate_seed(s, psi0s[s], trained, tasks, lams, setup, ev)
        per_seed.append(curves_s)
        own += own_s
        alpha_hats.append(alpha_hat)
    curves = mean_curves(per_seed, tasks)
    calibration = _calibration(c, setup, tasks, lams, ev, cache, progress)
    ft_acc_t1 = float(np.mean([o["accuracy"] for o in own if o["task"] == "T1"]))
    t1 = table1(lams, curves, ft_acc_t1, ev)
    results = {
        "experiment": "task_pair",
        "label": label,
        "config": c,
        "alpha": exact_alpha(geo.mu("T1"), geo.mu("T2")),
        "alpha_hat": mean_std(alpha_hats),
        "prediction": pair_prediction(setup.alpha),
        "lambdas": lams.tolist(),
        **{n: {k: v.tolist() for k, v in cv.items()} for n, cv in curves.items()},
        "seeds": seeds,
        "per_seed_hinge": {n: [cv[n]["hinge"].tolist() for cv in per_seed] for n in tasks},
        "calibration": calibration,
        "hypotheses": hypotheses_of(setup, ev["eps"], [o["steps"] for o in own]),
        "table1": t1,
        "own_task": own,
        "flagged_runs": [  # the own-task rows that miss ε (their audits stay in own_task only)
            {k: o[k] for k in ("seed", "task", "hinge", "accuracy")}
            for o in own
            if not o["reaches_eps"]
        ],
        "models_requested": trained.requested,
        "models_trained": trained.trained,
        **_wandb(label, lams, curves, trained),
        "wall_seconds": time.perf_counter() - t_start,
    }
    mt = t1["multi_task"]
    results["one_line"] = (
        f"{label}: best multi-task λ {mt['lambda']:.1f} (T1 {mt['T1_acc']:.3f}, T2 {mt['T2_acc']:.3f}); "
        f"{trained.trained}/{trained.requested} models trained; {results['wall_seconds']:.1f}s"
    )
    return results
