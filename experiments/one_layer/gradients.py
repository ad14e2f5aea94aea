"""Experiment ``gradients``: task vectors as gradients (gradients.md), on the project's model and tasks.

1. Exactness (float64): one epoch of full-batch GD with the project's trainer gives τ = −η ∇L(θ0); the
   mean of T one-step task vectors equals one GD step on the mean loss.
2. Multi-epoch error: ‖τ_k + kη∇L(θ0)‖ over η × k against the second-order prediction
   η² k(k−1)/2 ‖H∇L(θ0)‖ (exact Hessian-vector products) and the smoothness bound η² β̂ G k(k−1)/2
   (β̂ = largest ‖H‖₂ by power iteration at θ0, θ^(k/2) and θ^(k) of the longest run; G = largest
   gradient norm on the trajectory). The loss is ``experiment.loss`` (logistic by default: the hinge
   loss is not twice differentiable at the margin, so its Hessian-vector products miss the kinks).
3. and 4. (the minibatch regime: first-epoch dominance, one-epoch merging) are in
   ``experiments.one_layer.gradients_minibatch``.

The predictions (−η∇L, the mean step, η² k(k−1)/2 ‖Hg‖, the bound, the log-log slope) come from
``experiments.theory.gradients``; the claims rows from ``experiments.claims.gradients``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.config import Setup, seeds_of, to_container
from experiments.one_layer.common import psi0_for_seed
from experiments.one_layer.gradients_minibatch import (
    dominance,
    dominance_summary,
    merging,
    merging_summary,
)
from experiments.theory.gradients import (
    PREDICTED_LOGLOG_SLOPE,
    first_order_step,
    loglog_slope,
    mean_task_step,
    one_epoch_task_vector,
    second_order_error,
    smoothness_bound,
)
from models.gradients import gd_trajectory_with_gradients, gradient, hessian_norm, hvp, norm
from models.task_vectors import TaskVector
from models.training import TrainConfig, finetune
from models.transformer import attention, values
from synthetic.patterns import orthonormal_geometry
from synthetic.runtime import derive_seed, generator
from synthetic.tasks import make_task

MULTI_EPOCH_KEYS = ("error", "predicted", "bound", "relative", "flipped_units")


def _rel(a: dict, b: dict) -> float:
    return norm({k: a[k] - b[k] for k in a}) / max(norm(b), 1e-300)


def one_epoch_gd(n: int, lr: float, loss: str, seed: int) -> TrainConfig:
    """The project's trainer set to one epoch of full-batch GD: epochs mode, one batch of all n."""
    return TrainConfig(
        mode="epochs", n_train=n, batch_size=n, n_epochs=1, eps=0.0, lr=lr, loss=loss, seed=seed
    )


def exactness(psi0, tasks, exp, seed) -> dict[str, float]:
    """Part 1 with the project's trainer (epochs mode, one full batch, one epoch)."""
    n, lr, loss = exp["n_train"], exp["exact_lr"], exp["loss"]
    cfg = one_epoch_gd(n, lr, loss, derive_seed("gradients", seed))
    taus, grads = [], []
    for t in tasks:
        res = finetune(psi0, t, cfg)
        data = t.sample(
            n, generator(derive_seed("train", cfg.seed), t.mu.device)
        )  # the run's training set
        g = gradient(psi0.params, psi0.readout, data.X.to(psi0.dtype), data.y.to(psi0.dtype), loss)
        taus.append(dict(TaskVector.from_models(psi0, res.model)))
        grads.append(g)
    single = _rel(taus[0], {k: one_epoch_task_vector(v, lr) for k, v in grads[0].items()})
    mean_tau = {k: sum(t[k] for t in taus) / len(taus) for k in taus[0]}
    mean_step = {k: mean_task_step([g[k] for g in grads], lr) for k in grads[0]}
    return {"one_task_rel_error": single, "mean_of_tasks_rel_error": _rel(mean_tau, mean_step)}


def _activation_pattern(params, X: torch.Tensor) -> torch.Tensor:
    """Signs of every hidden pre-activation on the training set: where the ReLU is on."""
    return (attention(params, X) @ values(params, X)) > 0


def multi_epoch(psi0, task, exp, seed) -> dict[str, Any]:
    """Part 2: measured error, second-order prediction and smoothness bound over η × k."""
    loss, ks = exp["loss"], exp["epochs"]
    data = task.sample_seeded(exp["n_train"], derive_seed("gradients-data", seed))
    X, y, ro = data.X.to(psi0.dtype), data.y.to(psi0.dtype), psi0.readout
    theta0 = {k: v.detach() for k, v in psi0.params.items()}
    g0 = gradient(theta0, ro, X, y, loss)
    hg = norm(hvp(theta0, g0, ro, X, y, loss))
    rows = []
    pattern0 = _activation_pattern(theta0, X)
    for lr in exp["lrs"]:
        traj, grads = gd_trajectory_with_gradients(theta0, ro, X, y, lr, max(ks), loss)
        gmax = max(norm(g) for g in grads)  # G: the largest gradient norm the run saw
        beta = max(
            hessian_norm(traj[j], ro, X, y, loss, iters=exp["power_iters"], seed=seed)
            for j in sorted({0, max(ks) // 2, max(ks)})
        )
        for k in ks:
            tau = {n: traj[k][n] - theta0[n] for n in theta0}
            step = first_order_step(k, lr)
            err = norm({n: tau[n] + step * g0[n] for n in tau})
            flipped = (_activation_pattern(traj[k], X) != pattern0).double().mean()
            rows.append(
                {
                    "lr": lr,
                    "k": k,
                    "error": err,
                    "predicted": second_order_error(lr, k, hg),
                    "bound": smoothness_bound(lr, k, beta, gmax),
                    "relative": err / (step * norm(g0)),
                    "flipped_units": float(flipped),
                }
            )
    return {"rows": rows, "grad_norm": norm(g0), "Hg_norm": hg}


def multi_epoch_table(multi: list[dict]) -> list[dict]:
    """Mean over seeds of each (η, k) row, sorted by (η, k)."""
    rows: dict[tuple, list[dict]] = {}
    for m in multi:
        for r in m["rows"]:
            rows.setdefault((r["lr"], r["k"]), []).append(r)
    return [
        {
            "lr": lr,
            "k": k,
            **{key: float(np.mean([r[key] for r in rs])) for key in MULTI_EPOCH_KEYS},
        }
        for (lr, k), rs in sorted(rows.items())
    ]


def slopes(table: list[dict], kmax: int) -> tuple[float, float]:
    """Log-log slope of the error in η at k = kmax: over the η whose runs switch no ReLU unit (the
    second-order expansion assumes a twice-differentiable loss), and over every η."""
    sel = [r for r in table if r["k"] == kmax]
    smooth = [r for r in sel if r["flipped_units"] == 0.0]
    return tuple(loglog_slope([r["lr"] for r in s], [r["error"] for r in s]) for s in (smooth, sel))


def compute(cfg: Any, setup: Setup, *, progress: bool = False) -> dict[str, Any]:
    """Parts 1–4 for every seed, averaged; the results of ``metrics.json`` (without the claims)."""
    c = to_container(cfg)
    exp = c["experiment"]
    seeds = seeds_of(exp)
    t0 = time.perf_counter()
    geo3 = orthonormal_geometry(setup.d, exp["merge_tasks"], dtype=setup.dtype)
    tasks3 = [make_task(geo3, f"T{i + 1}", setup.tokens) for i in range(exp["merge_tasks"])]
    exact, multi, dom, merge = [], [], [], []
    for seed in tqdm(seeds, desc="gradients", disable=not progress):
        psi0 = psi0_for_seed(setup, seed)
        exact.append(exactness(psi0, tasks3, exp, seed))
        multi.append(multi_epoch(psi0, tasks3[0], exp, seed))
        dom.append(dominance(psi0, tasks3[0], exp, seed))
        merge.append(merging(setup, exp, seed))
    table = multi_epoch_table(multi)
    slope, slope_all = slopes(table, max(exp["epochs"]))
    wall = time.perf_counter() - t0
    ex1 = max(e["one_task_rel_error"] for e in exact)
    return {
        "experiment": "gradients",
        "config": c,
        "exactness": exact,
        "multi_epoch": table,
        "multi_epoch_loglog_slope": slope,
        "multi_epoch_loglog_slope_all": slope_all,
        "dominance": dominance_summary(dom),
        "merging": merging_summary(merge),
        "tables": {
            "multi_epoch": {
                "columns": ["lr", "k", "error", "predicted", "bound"],
                "rows": [[r["lr"], r["k"], r["error"], r["predicted"], r["bound"]] for r in table],
            }
        },
        "line_plots": [],
        "wall_seconds": wall,
        "one_line": f"exactness {ex1:.1e}; error slope in η {slope:.2f}; {wall:.1f}s",
    }


def figures(results: dict) -> dict[str, Any]:
    """The experiment's figure, with the slope the theory predicts (adapter: plots import no theory)."""
    from plots.one_layer.gradients import gradients_figure

    return {"gradients": gradients_figure(results, predicted_slope=PREDICTED_LOGLOG_SLOPE)}
