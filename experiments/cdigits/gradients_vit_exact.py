"""``gradients_vit`` part 4: the exact statements on the ViT, in float64 (gradients.md §3.2-3.6).

1. One epoch of full-batch GD with the project's trainer (``models.vit_train.finetune``: SGD without
   momentum, one batch of all ``exact_n`` digits, one epoch) gives τ = −η∇L(θ0) (autograd gradient).
2. The mean of the tasks' one-step vectors equals one GD step on the mean loss L̄ = (1/T) Σ L_t, whose
   gradient is taken by autograd on L̄ itself.
3. k epochs of full-batch GD on the first task, over the η grid: ‖τ_k + kη∇L(θ0)‖ against the
   second-order prediction η² k(k−1)/2 ‖H∇L(θ0)‖ (exact Hessian-vector product at θ0), the vector
   residual ‖τ_k + kη g0 − η² k(k−1)/2 H g0‖ / ‖η² k(k−1)/2 H g0‖ (the norms alone cannot see a
   second-order term that turns), the relative first-order error ‖τ_k + kη g0‖ / (kη‖g0‖), and how much
   H g0 itself moves along the run,
   ‖H(θ^(kmax)) g0 − H(θ0) g0‖ / ‖H(θ0) g0‖ (LayerNorm, GELU and softmax are smooth: no kinks, but
   their curvature changes along the path, which the constant of the prediction ignores).
"""

from __future__ import annotations

from typing import Any

import torch

from experiments.theory.gradients import (
    first_order_step,
    one_epoch_task_vector,
    second_order_error,
    second_order_term,
)
from models.gradients import norm
from models.vit import ViT
from models.vit_config import ViTConfig, ViTTrainConfig
from models.vit_gradients import gd_trajectory, gradient, hvp, multitask_gradient
from models.vit_train import finetune

LOSS = "cross_entropy"  # the logistic loss on f = z_1 − z_0: smooth, as the expansion needs


def _rel(a: dict, b: dict) -> float:
    return norm({k: a[k] - b[k] for k in a}) / max(norm(b), 1e-300)


def _f64(d: dict) -> dict:
    return {k: v.detach().to(torch.float64) for k, v in d.items()}


def one_step(cfg: ViTConfig, body, heads: list[dict], x, Y, lr: float) -> dict[str, float]:
    """Parts 1 and 2 (float64 inputs): the largest relative error over tasks, and the mean's."""
    n = len(x)
    gd = ViTTrainConfig(optimizer="sgd", lr=lr, momentum=0.0, batch_size=n, epochs=1, loss=LOSS)
    taus, errs = [], []
    for t, head in enumerate(heads):
        model, _ = finetune(ViT(cfg, body, head), x, Y[t], gd)
        tau = {k: model.body[k] - body[k] for k in body}
        g = gradient(cfg, body, head, x, Y[t], LOSS)
        errs.append(_rel(tau, {k: one_epoch_task_vector(v, lr) for k, v in g.items()}))
        taus.append(tau)
    mean_tau = {k: sum(t[k] for t in taus) / len(taus) for k in body}
    gbar = multitask_gradient(cfg, body, heads, x, Y, LOSS)
    step = {k: one_epoch_task_vector(v, lr) for k, v in gbar.items()}  # one GD step on L̄
    return {"one_task_rel_error": max(errs), "mean_of_tasks_rel_error": _rel(mean_tau, step)}


def multi_epoch(cfg: ViTConfig, body, head, x, y, lrs, ks) -> dict[str, Any]:
    """Part 3 for one task: a row per (η, k)."""
    g0 = gradient(cfg, body, head, x, y, LOSS)
    hg = hvp(cfg, body, g0, head, x, y, LOSS)
    hg_norm, g_norm, kmax, rows = norm(hg), norm(g0), max(ks), []
    for lr in lrs:
        traj = gd_trajectory(cfg, body, head, x, y, lr, kmax, LOSS)
        hg_end = hvp(cfg, traj[kmax], g0, head, x, y, LOSS)
        drift = _rel(hg_end, hg)
        for k in ks:
            dev = {n: traj[k][n] - body[n] + first_order_step(k, lr) * g0[n] for n in body}
            err, pred = norm(dev), second_order_error(lr, k, hg_norm)
            term = {n: second_order_term(hg[n], lr, k) for n in body}
            rows.append(
                {
                    "lr": lr,
                    "k": k,
                    "error": err,
                    "predicted": pred,
                    "ratio": err / pred if pred > 0 else float("nan"),
                    "relative": err / (first_order_step(k, lr) * g_norm),
                    "residual": _rel(dev, term) if pred > 0 else float("nan"),
                    "hg_drift": drift,
                }
            )
    return {"rows": rows, "grad_norm": g_norm, "Hg_norm": hg_norm}


def exactness_seed(cfg: ViTConfig, body0, heads: list[dict], x, Y, exp: dict) -> dict[str, Any]:
    """Parts 1-3 on the first ``exact_n`` training digits of one seed, in float64."""
    n = exp["exact_n"]
    body, hs = _f64(body0), [_f64(h) for h in heads]
    x64, Yn = x[:n].to(torch.float64), Y[:, :n]
    out = one_step(cfg, body, hs, x64, Yn, exp["exact_lr"])
    return out | multi_epoch(cfg, body, hs[0], x64, Yn[0], exp["lrs"], exp["ks"])
