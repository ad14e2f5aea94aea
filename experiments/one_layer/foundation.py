"""Experiment ``foundation``: fine-tune T1 and T2 of one task pair over several seeds and measure
the fine-tuned models and their task vectors.

Per seed s: Ψ0 is drawn with ``model.seed + s``; each task's training stream and validation set come
from seeds derived from (task, s); the test set of each task from ("test", task, s). Measured:
own-task and cross-task test hinge loss and accuracy, SGD steps and wall time, attention mass on
±μ_T tokens, ΔW's alignment with μμᵀ, the fraction of ΔV along μ, singular values, rank-r residuals,
ΔV row norms, and the three task-correlation estimators (exact α, task-vector cosine, output α̂).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from tqdm.auto import tqdm

from experiments.analysis import mean_std
from experiments.config import Setup, seeds_of, to_container
from experiments.one_layer.common import hypotheses_of, test_set, train_pair, training_curves
from models.cache import ModelCache
from models.estimators import exact_alpha, output_alpha, task_vector_cosine
from models.mechanism import mechanism
from models.task_vectors import TaskVector
from models.training import evaluate
from models.transformer import effective_wv
from models.transforms import low_rank_residual
from synthetic.tasks import make_tasks


def _stats_of_run(psi0, model, task, test_sets, rank: int) -> dict[str, Any]:
    tv = TaskVector.from_models(psi0, model)
    # Effective ΔW, ΔV: the task vector itself for "wv"; the change of W_KᵀW_Q and W_O W_V for "qkvo".
    (W1, V1), (W0, V0) = effective_wv(model.params), effective_wv(psi0.params)
    dW, dV = (W1 - W0).detach(), (V1 - V0).detach()
    mu = task.mu.to(dW.dtype)
    mumu = torch.outer(mu, mu)
    cos_w = float((dW * mumu).sum() / (dW.norm() * mumu.norm()).clamp_min(1e-30))
    frac_v = float((dV @ mu).norm() / dV.norm().clamp_min(1e-30))
    # Energy of ΔV in span(μ, v̄), v̄ the normalised mean irrelevant pattern: the tokens a query averages
    # always contain irrelevant ones, so ReLU-gated gradients carry a v̄ component that does not cancel.
    vbar = task.irrelevant.to(dV.dtype).sum(0)
    basis = torch.linalg.qr(torch.stack([mu, vbar / vbar.norm()]).T).Q  # (d, 2) orthonormal
    span_v = float((dV @ basis).norm() ** 2 / (dV.norm() ** 2).clamp_min(1e-30))
    eff = {"W": dW, "V": dV}
    m = dV.shape[0]
    return {
        "task_vector_norm": tv.norm(),
        "norms": {k: float(v.norm()) for k, v in eff.items()},
        "dW_cosine_with_mumuT": cos_w,
        "dV_fraction_along_mu": frac_v,
        "dV_energy_in_span_mu_vbar": span_v,
        "singular_values": {k: torch.linalg.svdvals(v.double()).tolist() for k, v in eff.items()},
        "low_rank_relative_residual": {
            k: r / max(float(eff[k].norm()), 1e-30) for k, r in low_rank_residual(eff, rank).items()
        },
        "row_norms_scaled": (dV.norm(dim=1) * m**0.5).tolist(),
        "test": {name: evaluate(model, batch) for name, batch in test_sets.items()},
        "mechanism": mechanism(psi0, model, task.mu, test_sets[task.name]),
    }, tv


def _measure_seed(seed, psi0, results, tasks, geo, setup: Setup, rank: int, checkpoints: dict):
    """Runs (one per task) and the correlation estimators of one seed; its models go to ``checkpoints``."""
    names = list(tasks)
    checkpoints[f"checkpoints/psi0_seed{seed}.pt"] = psi0
    test_sets = {n: test_set(t, setup.n_test, seed) for n, t in tasks.items()}
    runs, models, tvs = [], {}, {}
    for name in names:
        res = results[(seed, name)]
        stats, tv = _stats_of_run(psi0, res.model, tasks[name], test_sets, rank)
        checkpoints[f"checkpoints/{name}_seed{seed}.pt"] = res.model
        models[name], tvs[name] = res.model, tv
        runs.append(
            {
                "seed": seed,
                "task": name,
                "steps": res.history.steps_run,
                "stopped_early": res.history.stopped_early,
                "history": res.history.as_dict(),
                **stats,
            }
        )
    X = torch.cat([test_sets[n].X for n in names])
    per_seed = {
        "seed": seed,
        "alpha_exact": exact_alpha(geo.mu("T1"), geo.mu("T2")),
        "task_vector_cosine": task_vector_cosine(tvs["T1"], tvs["T2"]),
        "alpha_hat_batch": output_alpha(
            models["T1"], models["T2"], X, output="batch", batch_size=min(256, X.shape[0])
        ),
        "alpha_hat_hidden": output_alpha(models["T1"], models["T2"], X, output="hidden"),
    }
    return runs, per_seed


def _summary(runs: list[dict], per_seed: list[dict], names: list[str], setup: Setup) -> dict:
    """Mean ± std over runs/seeds of every measured quantity, and the uniform attention mass."""

    def own(key: str, name: str) -> dict[str, float]:
        return mean_std([r["test"][name][key] for r in runs if r["task"] == name])

    tokens = setup.tokens
    return {
        "own_task": {
            n: {
                "test_hinge": own("hinge", n),
                "test_accuracy": own("accuracy", n),
                "attention_on_discriminative": own("attention_on_discriminative", n),
                "steps": mean_std([r["steps"] for r in runs if r["task"] == n]),
            }
            for n in names
        },
        "cross_task_accuracy": {
            f"{a}_on_{b}": mean_std([r["test"][b]["accuracy"] for r in runs if r["task"] == a])
            for a in names
            for b in names
            if a != b
        },
        **{
            k: mean_std([r[k] for r in runs])
            for k in ("dW_cosine_with_mumuT", "dV_fraction_along_mu", "dV_energy_in_span_mu_vbar")
        },
        "low_rank_relative_residual": {
            k: mean_std([r["low_rank_relative_residual"][k] for r in runs]) for k in ("W", "V")
        },
        "correlation": {
            k: mean_std([p[k] for p in per_seed])
            for k in ("alpha_exact", "task_vector_cosine", "alpha_hat_batch", "alpha_hat_hidden")
        },
        "uniform_attention_mass": sum(tokens.fixed_counts) / tokens.n_tokens
        if tokens.counts == "fixed"
        else tokens.delta_star + tokens.delta_conf,
    }


def compute(
    cfg: Any, setup: Setup, *, progress: bool = False, cache: ModelCache | None = None
) -> dict[str, Any]:
    """Fine-tune T1 and T2 per seed, measure the models and task vectors (the results, no files)."""
    c = to_container(cfg)
    exp = c["experiment"]
    seeds = seeds_of(exp)
    geo = setup.geometry()
    tasks = make_tasks(geo, setup.tokens)
    t_start = time.perf_counter()
    psi0s, trained = train_pair(c, setup, tasks, seeds, progress=progress, cache=cache)
    runs, per_seed, checkpoints = [], [], {}
    for seed in tqdm(seeds, desc="foundation: measure", disable=not progress):
        r, p = _measure_seed(
            seed, psi0s[seed], trained.results, tasks, geo, setup, exp["low_rank"], checkpoints
        )
        runs += r
        per_seed.append(p)
    summary = _summary(runs, per_seed, list(tasks), setup)
    summary.update(
        {
            "models_requested": trained.requested,
            "models_trained": trained.trained,
            "models_from_cache": trained.requested - trained.trained,
            "train_seconds": trained.seconds,
            "seconds_per_trained_model": trained.seconds / trained.trained
            if trained.trained
            else None,
            "wall_seconds": time.perf_counter() - t_start,
        }
    )
    worst = max(r["test"][r["task"]]["hinge"] for r in runs)
    table, plot = training_curves(trained, "validation hinge during fine-tuning")
    return {
        "one_line": (
            f"{trained.trained} models trained, {trained.requested - trained.trained} from the cache; "
            f"worst own-task test hinge {worst:.4f}; {summary['wall_seconds']:.1f}s"
        ),
        "tables": {"training_curves": table},
        "line_plots": [plot],
        "experiment": "foundation",
        "config": c,
        "device": str(psi0s[seeds[0]].device),
        "runs": runs,
        "per_seed": per_seed,
        "summary": summary,
        "hypotheses": hypotheses_of(setup, c["eval"]["eps"], [r["steps"] for r in runs]),
        "_checkpoints": checkpoints,
    }
