"""Experiment ``task_pair``: Theorems 1 and 2 on one pair of tasks with correlation α.

Ψ*_T1 and Ψ*_T2 are fine-tuned from the same Ψ0 (per seed), and Ψ = Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 is evaluated
on both tasks over the λ grid (the paper's Figure 1). The paper's Table 1 is chosen on the mean
curves over seeds:

* multi-task: the λ maximising the worse of the two accuracies, ties broken by the smaller worse
  hinge loss;
* unlearning: among the λ where T1 keeps at least ``eval.retain_fraction`` of its fine-tuned accuracy,
  the one minimising T2's accuracy, ties broken by the larger T2 hinge loss.

Verdicts use the hinge loss (what the theorems bound): success on a task is a mean hinge ≤ ``eval.eps``,
forgetting is a mean hinge ≥ ``eval.forget_hinge``. When a fine-tuned model misses hinge ≤ ε on its
own task (the theorems' precondition; expected with token noise), the run is flagged and the theorem
rows are marked "untested" with their numbers kept.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.analysis import table1
from experiments.checks import validate_task_pair as validate
from experiments.common import (
    HISTORY_COLUMNS,
    history_rows,
    lambda_curves,
    mean_std,
    psi0_for_seed,
    test_set,
    train_all,
)
from experiments.config import lambda_grid, seeds_of, to_container
from experiments.io import save_figure, write_metrics
from models.cache import ModelCache
from models.estimators import exact_alpha, output_alpha
from models.task_vectors import TaskVector
from models.training import evaluate
from synthetic.tasks import make_tasks


def claims_for_pair(
    alpha: float, lams: np.ndarray, curves: dict, ev: dict, label: str
) -> list[dict[str, Any]]:
    """Theorem 1 and 2 statements for this α, checked on the mean hinge curves."""
    eps, forget = ev["eps"], ev["forget_hinge"]
    h1, h2 = curves["T1"]["hinge_mean"], curves["T2"]["hinge_mean"]
    both = (h1 <= eps) & (h2 <= eps)
    neg = lams < 0
    unlearn = neg & (h2 >= forget) & (h1 <= eps)
    rows = []
    if alpha >= 0:
        pred = 1 - alpha
        lam_star = float(lams[np.flatnonzero(both)[0]]) if both.any() else None
        ok = lam_star is not None and abs(lam_star - pred) <= 0.25
        rows.append(
            {
                "claim": f"{label}: task addition learns both tasks from λ ≥ 1 − α + β",
                "source": "Theorem 1",
                "criterion": f"smallest λ with both mean hinges ≤ {eps} within 0.25 of 1 − α = {pred:.2f}",
                "measured": f"λ* = {lam_star:.2f}"
                if lam_star is not None
                else "no λ on the grid works",
                "verdict": "agrees" if ok else ("partly" if lam_star is not None else "disagrees"),
            }
        )
    else:
        rows.append(
            {
                "claim": f"{label}: task addition cannot learn both contradictory tasks",
                "source": "Theorem 1",
                "criterion": f"no λ with both mean hinges ≤ {eps}",
                "measured": (
                    f"{int(both.sum())} grid λ work (e.g. λ = {lams[np.flatnonzero(both)[0]]:.2f})"
                    if both.any()
                    else f"none; best worse-hinge {np.maximum(h1, h2).min():.3f}"
                ),
                "verdict": "disagrees" if both.any() else "agrees",
            }
        )
    at = int(np.argmin(np.abs(lams + 1.0)))
    if alpha <= 0:
        rows.append(
            {
                "claim": f"{label}: negation (λ < 0) forgets T2 and keeps T1",
                "source": "Theorem 2",
                "criterion": f"at λ = −1: T2 mean hinge ≥ {forget} and T1 mean hinge ≤ {eps}",
                "measured": f"T2 hinge {h2[at]:.3f}, T1 hinge {h1[at]:.3f}; {int(unlearn.sum())} negative λ unlearn",
                "verdict": "agrees"
                if unlearn[at]
                else ("partly" if unlearn.any() else "disagrees"),
            }
        )
    else:
        rows.append(
            {
                "claim": f"{label}: negation cannot forget an aligned T2 while keeping T1",
                "source": "Theorem 2",
                "criterion": f"no λ < 0 with T2 mean hinge ≥ {forget} and T1 mean hinge ≤ {eps}",
                "measured": (
                    f"{int(unlearn.sum())} negative λ unlearn (e.g. λ = {lams[np.flatnonzero(unlearn)[0]]:.2f})"
                    if unlearn.any()
                    else f"none; at λ = −1 T2 hinge {h2[at]:.3f}, T1 hinge {h1[at]:.3f}"
                ),
                "verdict": "disagrees" if unlearn.any() else "agrees",
            }
        )
    return rows


def run(
    cfg: Any,
    out_dir: str | Path,
    *,
    progress: bool = False,
    cache: ModelCache | None = None,
    job_key: str | None = None,
) -> dict[str, Any]:
    setup = validate(cfg)
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    seeds = seeds_of(exp)
    label = exp.get("label") or f"α = {setup.alpha:g}"
    out_dir = Path(out_dir)
    t_start = time.perf_counter()
    lams = np.asarray(lambda_grid(ev))
    geo = setup.geometry()
    tasks = make_tasks(geo, setup.tokens)
    psi0s = {s: psi0_for_seed(setup, s) for s in seeds}
    jobs = {(s, n): (psi0s[s], tasks[n], n, s) for s in seeds for n in tasks}
    cache = cache if cache is not None else ModelCache(c.get("cache_dir"))
    trained = train_all(jobs, setup, cache, batched=c.get("batched", "auto"), progress=progress)

    per_seed, own, alpha_hats = [], [], []
    for s in tqdm(seeds, desc=f"{label}: λ grids", disable=not progress):
        data = {n: test_set(t, setup.n_test, s) for n, t in tasks.items()}
        res = {n: trained.results[(s, n)] for n in tasks}
        tvs = {n: TaskVector.from_models(psi0s[s], r.model) for n, r in res.items()}
        per_seed.append(
            lambda_curves(psi0s[s], tvs["T1"], tvs["T2"], lams.tolist(), data, ev["memory_mb"])
        )
        X = torch.cat([data[n].X for n in tasks])
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
                }
            )
        alpha_hats.append(
            output_alpha(res["T1"].model, res["T2"].model, X, batch_size=min(256, X.shape[0]))
        )

    curves = {}
    for n in tasks:
        acc = np.stack([p[n]["acc"] for p in per_seed])
        hin = np.stack([p[n]["hinge"] for p in per_seed])
        sd = (lambda a: a.std(0, ddof=1)) if len(seeds) > 1 else (lambda a: np.zeros(a.shape[1]))
        curves[n] = {
            "acc_mean": acc.mean(0),
            "acc_std": sd(acc),
            "hinge_mean": hin.mean(0),
            "hinge_std": sd(hin),
        }
    ft_acc_t1 = float(np.mean([o["accuracy"] for o in own if o["task"] == "T1"]))
    t1 = table1(lams, curves, ft_acc_t1, ev)
    claims = claims_for_pair(setup.alpha, lams, curves, ev, label)
    flagged = [o for o in own if not o["reaches_eps"]]
    if (
        flagged
    ):  # the theorems assume ε-good fine-tuned models: their statements are not tested here
        for row in claims:
            row["measured"] = f"precondition fails, not tested; {row['measured']}"
            row["verdict"] = "untested"
    claims.insert(
        0,
        {
            "claim": f"{label}: every Ψ*_T reaches hinge ≤ ε on its own task (precondition)",
            "source": "Theorem 1 setting",
            "criterion": f"own-task test hinge ≤ {ev['eps']} for every task and seed",
            "measured": (
                f"{len(own) - len(flagged)}/{len(own)} runs; worst hinge {max(o['hinge'] for o in own):.4f}, "
                f"accuracy {np.mean([o['accuracy'] for o in own]):.4f} on average"
            ),
            "verdict": "agrees" if not flagged else "disagrees",
        },
    )
    metrics = {
        "experiment": "task_pair",
        "label": label,
        "job_key": job_key,
        "config": c,
        "alpha": exact_alpha(geo.mu("T1"), geo.mu("T2")),
        "alpha_hat": mean_std(alpha_hats),
        "lambdas": lams.tolist(),
        **{n: {k: v.tolist() for k, v in cv.items()} for n, cv in curves.items()},
        "table1": t1,
        "own_task": own,
        "flagged_runs": flagged,
        "claims": claims,
        "models_requested": trained.requested,
        "models_trained": trained.trained,
        "figures": ["task_pair.png", "task_pair.pdf"],
        "tables": {
            "lambda_curves": {
                "columns": ["lambda", "task", "acc_mean", "acc_std", "hinge_mean", "hinge_std"],
                "rows": [
                    [
                        float(lam),
                        n,
                        *(
                            float(curves[n][k][i])
                            for k in ("acc_mean", "acc_std", "hinge_mean", "hinge_std")
                        ),
                    ]
                    for n in tasks
                    for i, lam in enumerate(lams)
                ],
            },
            "training_curves": {
                "columns": HISTORY_COLUMNS,
                "rows": history_rows(trained.results, lambda k: f"{k[1]}/seed{k[0]}"),
            },
        },
        "line_plots": [
            {
                "table": "lambda_curves",
                "x": "lambda",
                "y": "acc_mean",
                "stroke": "task",
                "title": f"{label}: accuracy vs λ",
            },
            {
                "table": "lambda_curves",
                "x": "lambda",
                "y": "hinge_mean",
                "stroke": "task",
                "title": f"{label}: hinge vs λ",
            },
            {
                "table": "training_curves",
                "x": "step",
                "y": "val_hinge",
                "stroke": "run",
                "title": f"{label}: fine-tuning",
            },
        ],
    }
    metrics["wall_seconds"] = time.perf_counter() - t_start
    mt = t1["multi_task"]
    metrics["one_line"] = (
        f"{label}: best multi-task λ {mt['lambda']:.1f} (T1 {mt['T1_acc']:.3f}, T2 {mt['T2_acc']:.3f}); "
        f"{trained.trained}/{trained.requested} models trained; {metrics['wall_seconds']:.1f}s"
    )

    from plots.style import plt
    from plots.task_pair import task_pair_figure

    fig = task_pair_figure([metrics])
    save_figure(fig, out_dir, "task_pair")
    plt.close(fig)
    write_metrics(out_dir, metrics)  # last: its presence marks the job as finished
    return metrics
