"""Experiment ``gradients``, the minibatch regime (gradients.md §4.2–4.3, §7.1): parts 3 and 4.

3. First-epoch dominance in minibatch SGD over several epochs (update-norm shares, cosines, an
   epoch × epoch cosine map), with Adam as a negative control.
4. One-epoch merging: task addition with one-epoch task vectors (the first epoch of the same runs)
   versus converged ones, for an irrelevant and an aligned pair (sum) and for T orthonormal tasks
   (mean and sum); normalised accuracy = merged accuracy / converged single-task accuracy.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from experiments.analysis import mean_std
from experiments.one_layer.common import psi0_for_seed, test_set
from experiments.theory.gradients import merge_coefficient, update_norm_shares
from models.task_vectors import TaskVector, apply
from models.training import TrainConfig, evaluate, finetune, loss_fn
from models.transformer import forward
from synthetic.patterns import orthonormal_geometry, pair_geometry
from synthetic.runtime import derive_seed, generator
from synthetic.tasks import make_task


def _flat(params: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([v.reshape(-1) for v in params.values()])


def _step_and_cosine(params: dict[str, torch.Tensor], opt: torch.optim.Optimizer) -> float:
    """Take the optimiser step; the cosine of the update with the negative gradient it was given."""
    before = {k: v.detach().clone() for k, v in params.items()}
    grads = {k: v.grad.detach().clone() for k, v in params.items()}
    opt.step()
    upd = {k: params[k].detach() - before[k] for k in params}
    return float(torch.nn.functional.cosine_similarity(_flat(upd), -_flat(grads), dim=0))


def _optimizer(params: dict[str, torch.Tensor], exp: dict, optimizer: str) -> torch.optim.Optimizer:
    if optimizer == "sgd":
        return torch.optim.SGD(params.values(), lr=exp["sgd_lr"], momentum=0.0, weight_decay=0.0)
    return torch.optim.Adam(params.values(), lr=exp["adam_lr"])


def _train_epochs(psi0, task, exp, seed, optimizer: str, loss: str) -> tuple[list[dict], float]:
    """Minibatch training over ``sgd_epochs`` epochs of a fixed set: the parameters at every epoch end,
    and the cosine of the very first update with the negative minibatch gradient."""
    n, B = exp["n_train"], exp["sgd_batch"]
    data = task.sample_seeded(n, derive_seed("gradients-sgd", seed))
    X, y = data.X.to(psi0.dtype), data.y.to(psi0.dtype)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in psi0.params.items()}
    opt = _optimizer(params, exp, optimizer)
    g = generator(derive_seed("gradients-order", seed), X.device)
    snaps = [{k: v.detach().clone() for k, v in params.items()}]
    first_step = None
    for _ in range(exp["sgd_epochs"]):
        order = torch.randperm(n, generator=g, device=X.device)
        for s in range(0, n, B):
            idx = order[s : s + B]
            opt.zero_grad()
            loss_fn(loss)(y[idx] * forward(params, psi0.readout, X[idx])).mean().backward()
            if first_step is None:
                first_step = _step_and_cosine(params, opt)
            else:
                opt.step()
        snaps.append({k: v.detach().clone() for k, v in params.items()})
    return snaps, first_step


def dominance(psi0, task, exp, seed) -> dict[str, Any]:
    """Part 3: per-epoch update shares and cosines, SGD versus Adam, for each loss of dominance_losses."""
    out = {}
    for loss in exp["dominance_losses"]:
        for opt in ("sgd", "adam"):
            out[f"{opt}/{loss}"] = _dominance_one(psi0, task, exp, seed, opt, loss)
    return out


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()).clamp_min(1e-300))


def _dominance_one(psi0, task, exp, seed, opt: str, loss: str) -> dict[str, Any]:
    snaps, first_cos = _train_epochs(psi0, task, exp, seed, opt, loss)
    ups = [
        torch.cat([(snaps[e + 1][k] - snaps[e][k]).reshape(-1) for k in snaps[0]])
        for e in range(len(snaps) - 1)
    ]
    total = torch.cat([(snaps[-1][k] - snaps[0][k]).reshape(-1) for k in snaps[0]])
    norms = np.array([float(u.norm()) for u in ups])
    return {
        "norm_share": update_norm_shares(norms).tolist(),
        "cos_first_with_epoch": [_cos(ups[0], u) for u in ups],
        "cos_first_with_final": _cos(ups[0], total),
        "cos_matrix": [[_cos(a, b) for b in ups] for a in ups],
        "first_step_cosine_with_negative_gradient": first_cos,
    }


def dominance_summary(dom: list[dict]) -> dict[str, Any]:
    """Mean over seeds of each (optimiser, loss) run's shares and cosines."""
    return {
        opt: {
            "norm_share": np.mean([d[opt]["norm_share"] for d in dom], axis=0).tolist(),
            "cos_first_with_epoch": np.mean(
                [d[opt]["cos_first_with_epoch"] for d in dom], axis=0
            ).tolist(),
            "cos_first_with_final": mean_std([d[opt]["cos_first_with_final"] for d in dom]),
            "cos_matrix": np.mean([d[opt]["cos_matrix"] for d in dom], axis=0).tolist(),
            "first_step_cosine": mean_std(
                [d[opt]["first_step_cosine_with_negative_gradient"] for d in dom]
            ),
        }
        for opt in dom[0]
    }


def _merge_settings(setup, exp) -> dict[str, tuple]:
    """label -> (geometry, task names, aggregations)."""
    t = exp["merge_tasks"]
    return {
        "irrelevant pair": (pair_geometry(setup.d, 0.0, dtype=setup.dtype), ["T1", "T2"], ["sum"]),
        "aligned pair": (pair_geometry(setup.d, 0.8, dtype=setup.dtype), ["T1", "T2"], ["sum"]),
        f"{t} orthonormal tasks": (
            orthonormal_geometry(setup.d, t, dtype=setup.dtype),
            [f"T{i + 1}" for i in range(t)],
            ["mean", "sum"],
        ),
    }


def _task_vectors(psi0, tasks, tests, base: TrainConfig, seed) -> tuple[dict, dict]:
    """One-epoch and converged task vectors of every task, and each converged model's accuracy."""
    vecs, ft_acc = {"one_epoch": [], "converged": []}, {}
    for n, t in tasks.items():
        cfg = replace(base, seed=derive_seed("merge", n, seed))
        conv = finetune(psi0, t, cfg)
        one = finetune(psi0, t, replace(cfg, n_epochs=1, eps=0.0))
        vecs["converged"].append(TaskVector.from_models(psi0, conv.model))
        vecs["one_epoch"].append(TaskVector.from_models(psi0, one.model))
        ft_acc[n] = evaluate(conv.model, tests[n])["accuracy"]
    return vecs, ft_acc


def merging(setup, exp, seed) -> dict[str, Any]:
    """Part 4: one-epoch versus converged task vectors, merged; accuracy and normalised accuracy."""
    psi0 = psi0_for_seed(setup, seed)
    base = TrainConfig(
        mode="epochs",
        n_train=exp["n_train"],
        batch_size=exp["sgd_batch"],
        n_epochs=exp["merge_epochs"],
        lr=setup.train.lr,
        loss=setup.train.loss,
        eps=setup.train.eps,
    )
    out = {}
    for label, (geo, names, aggs) in _merge_settings(setup, exp).items():
        tasks = {n: make_task(geo, n, setup.tokens) for n in names}
        tests = {n: test_set(t, setup.n_test, seed) for n, t in tasks.items()}
        vecs, ft_acc = _task_vectors(psi0, tasks, tests, base, seed)
        for kind, vs in vecs.items():
            for agg in aggs:
                merged = apply(psi0, [(merge_coefficient(agg, len(vs)), v) for v in vs])
                ev = {n: evaluate(merged, tests[n]) for n in names}
                out[f"{label} / {agg} / {kind}"] = {
                    "accuracy": {n: ev[n]["accuracy"] for n in names},
                    "hinge": {n: ev[n]["hinge"] for n in names},
                    "normalised_accuracy": float(
                        np.mean([ev[n]["accuracy"] / ft_acc[n] for n in names])
                    ),
                }
    return out


def merging_summary(merge: list[dict]) -> dict[str, Any]:
    """Mean ± std over seeds of each merge's normalised accuracy, accuracies and hinge losses."""
    return {
        key: {
            "normalised_accuracy": mean_std([m[key]["normalised_accuracy"] for m in merge]),
            "accuracy": {
                n: mean_std([m[key]["accuracy"][n] for m in merge])
                for n in merge[0][key]["accuracy"]
            },
            "hinge": {
                n: mean_std([m[key]["hinge"][n] for m in merge]) for n in merge[0][key]["hinge"]
            },
        }
        for key in merge[0]
    }
