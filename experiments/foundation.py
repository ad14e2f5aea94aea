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
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.checks import validate_foundation as validate
from experiments.common import (
    HISTORY_COLUMNS,
    history_rows,
    mean_std,
    psi0_for_seed,
    test_set,
    train_all,
)
from experiments.config import Setup, seeds_of, to_container
from experiments.io import save_figure, write_metrics
from models.cache import ModelCache
from models.estimators import exact_alpha, output_alpha, task_vector_cosine
from models.task_vectors import TaskVector, save_model
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
    }, tv


def claims(runs: list[dict], summary: dict, setup: Setup) -> list[dict[str, Any]]:
    """Theory statements this experiment can check, with the measured numbers and a verdict.

    Each verdict follows the rule written in its ``criterion``; the rules are fixed here, before
    looking at the numbers of any particular run.
    """
    own = summary["own_task"]
    worst_hinge = max(r["test"][r["task"]]["hinge"] for r in runs)
    worst_acc = min(r["test"][r["task"]]["accuracy"] for r in runs)
    uniform = summary["uniform_attention_mass"]
    att = float(np.mean([own[n]["attention_on_discriminative"]["mean"] for n in own]))
    cos_w = summary["dW_cosine_with_mumuT"]["mean"]
    res_v = summary["low_rank_relative_residual"]["V"]["mean"]
    res_w = summary["low_rank_relative_residual"]["W"]["mean"]
    rows = np.concatenate([np.asarray(r["row_norms_scaled"]) for r in runs])
    per_run_small = [
        float(np.mean(np.asarray(r["row_norms_scaled"]) < 0.3 * max(r["row_norms_scaled"])))
        for r in runs
    ]
    small = float(np.mean(per_run_small))

    def verdict(ok: bool, partial: bool = False) -> str:
        return "agrees" if ok else ("partly" if partial else "disagrees")

    return [
        {
            "claim": "Fine-tuning reaches generalization error <= eps on its own task (Thm 1 precondition)",
            "source": "theory.md §4.7",
            "criterion": "every run: test hinge <= 0.05 and accuracy >= 0.99",
            "measured": f"worst test hinge {worst_hinge:.4f}, worst accuracy {worst_acc:.4f} over {len(runs)} runs",
            "verdict": verdict(worst_hinge <= 0.05 and worst_acc >= 0.99),
        },
        {
            "claim": "Attention mass on ±μ_T tokens rises towards 1 after fine-tuning",
            "source": "theory.md §8.1 (Attention), §5.8",
            "criterion": "agrees if mean mass >= 0.9; partly if it rises above the uniform mass",
            "measured": f"mean mass {att:.3f} vs uniform {uniform:.3f}",
            "verdict": verdict(att >= 0.9, partial=att > uniform + 0.01),
        },
        {
            "claim": "ΔW_T ≈ c_W μ_T μ_Tᵀ",
            "source": "theory.md §5.8 (derivation)",
            "criterion": "cosine(ΔW, μμᵀ) >= 0.9",
            "measured": f"cosine {cos_w:.3f} ± {summary['dW_cosine_with_mumuT']['std']:.3f}",
            "verdict": verdict(cos_w >= 0.9),
        },
        {
            "claim": "Task vectors are close to rank 1 (Corollary 1)",
            "source": "theory.md §5.6",
            "criterion": "‖Δ − Δ_rank1‖_F / ‖Δ‖_F <= 0.1 for both ΔW and ΔV",
            "measured": (
                f"relative rank-1 residual ΔW {res_w:.3f}, ΔV {res_v:.3f}; "
                f"{100 * summary['dV_energy_in_span_mu_vbar']['mean']:.2f}% of ‖ΔV‖² lies in span(μ, v̄), "
                "v̄ = mean irrelevant pattern (rank 2)"
            ),
            "verdict": verdict(max(res_w, res_v) <= 0.1, partial=min(res_w, res_v) <= 0.1),
        },
        {
            "claim": "ΔV row norms split into a Θ(m^-1/2) group and a group near 0 (Corollary 2)",
            "source": "theory.md §5.7",
            "criterion": "10%–90% of rows below 0.3 × the largest row norm of their run",
            "measured": (
                f"{100 * small:.1f}% of rows below 0.3 × max; √m‖u_i‖ ranges "
                f"{rows.min():.2f}–{rows.max():.2f} (median {np.median(rows):.2f})"
            ),
            "verdict": verdict(0.1 <= small <= 0.9),
        },
    ]


def run(
    cfg: Any,
    out_dir: str | Path,
    *,
    progress: bool = False,
    cache: ModelCache | None = None,
    job_key: str | None = None,
) -> dict[str, Any]:
    """Run the experiment; write metrics.json, the figure and the checkpoints into ``out_dir``."""
    setup = validate(cfg)
    c = to_container(cfg)
    exp = c["experiment"]
    seeds = seeds_of(exp)
    out_dir = Path(out_dir)

    geo = setup.geometry()
    tasks = make_tasks(geo, setup.tokens)
    names = list(tasks)
    runs, per_seed = [], []
    t_start = time.perf_counter()
    psi0s = {seed: psi0_for_seed(setup, seed) for seed in seeds}
    jobs = {
        (seed, name): (psi0s[seed], tasks[name], name, seed) for seed in seeds for name in names
    }
    cache = cache if cache is not None else ModelCache(c.get("cache_dir"))
    trained = train_all(jobs, setup, cache, batched=c.get("batched", "auto"), progress=progress)
    results = trained.results

    for seed in tqdm(seeds, desc="foundation: measure", disable=not progress):
        psi0 = psi0s[seed]
        save_model(psi0, out_dir / "checkpoints" / f"psi0_seed{seed}.pt")
        test_sets = {n: test_set(t, setup.n_test, seed) for n, t in tasks.items()}
        models, tvs = {}, {}
        for name in names:
            res = results[(seed, name)]
            stats, tv = _stats_of_run(psi0, res.model, tasks[name], test_sets, exp["low_rank"])
            save_model(res.model, out_dir / "checkpoints" / f"{name}_seed{seed}.pt")
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
        per_seed.append(
            {
                "seed": seed,
                "alpha_exact": exact_alpha(geo.mu("T1"), geo.mu("T2")),
                "task_vector_cosine": task_vector_cosine(tvs["T1"], tvs["T2"]),
                "alpha_hat_batch": output_alpha(
                    models["T1"], models["T2"], X, output="batch", batch_size=min(256, X.shape[0])
                ),
                "alpha_hat_hidden": output_alpha(models["T1"], models["T2"], X, output="hidden"),
            }
        )

    def own(key: str, name: str) -> dict[str, float]:
        return mean_std([r["test"][name][key] for r in runs if r["task"] == name])

    summary = {
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
        "dW_cosine_with_mumuT": mean_std([r["dW_cosine_with_mumuT"] for r in runs]),
        "dV_fraction_along_mu": mean_std([r["dV_fraction_along_mu"] for r in runs]),
        "dV_energy_in_span_mu_vbar": mean_std([r["dV_energy_in_span_mu_vbar"] for r in runs]),
        "low_rank_relative_residual": {
            k: mean_std([r["low_rank_relative_residual"][k] for r in runs]) for k in ("W", "V")
        },
        "correlation": {
            k: mean_std([p[k] for p in per_seed])
            for k in ("alpha_exact", "task_vector_cosine", "alpha_hat_batch", "alpha_hat_hidden")
        },
        "uniform_attention_mass": sum(setup.tokens.fixed_counts) / setup.tokens.n_tokens
        if setup.tokens.counts == "fixed"
        else setup.tokens.delta_star + setup.tokens.delta_conf,
        "models_requested": trained.requested,
        "models_trained": trained.trained,
        "models_from_cache": trained.requested - trained.trained,
        "train_seconds": trained.seconds,
        "seconds_per_trained_model": trained.seconds / trained.trained if trained.trained else None,
        "wall_seconds": time.perf_counter() - t_start,
    }
    worst = max(r["test"][r["task"]]["hinge"] for r in runs)
    metrics = {
        "job_key": job_key,
        "one_line": (
            f"{trained.trained} models trained, {trained.requested - trained.trained} from the cache; "
            f"worst own-task test hinge {worst:.4f}; {summary['wall_seconds']:.1f}s"
        ),
        "figures": ["foundation.png", "foundation.pdf"],
        "tables": {
            "training_curves": {
                "columns": HISTORY_COLUMNS,
                "rows": history_rows(results, lambda k: f"{k[1]}/seed{k[0]}"),
            }
        },
        "line_plots": [
            {
                "table": "training_curves",
                "x": "step",
                "y": "val_hinge",
                "stroke": "run",
                "title": "validation hinge during fine-tuning",
            }
        ],
        "claims": claims(runs, summary, setup),
        "experiment": "foundation",
        "config": c,
        "device": str(psi0s[seeds[0]].device),
        "runs": runs,
        "per_seed": per_seed,
        "summary": summary,
    }

    from plots.foundation import foundation_figure
    from plots.style import plt

    fig = foundation_figure(metrics)
    save_figure(fig, out_dir, "foundation")
    plt.close(fig)
    write_metrics(out_dir, metrics)  # last: its presence marks the job as finished
    return metrics
