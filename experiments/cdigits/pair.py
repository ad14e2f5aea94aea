"""Experiment ``cdigits_pair``: the paper's Figure 1 and Table 1 on coloured digits with a small ViT.

T1 ties colour to parity (``experiment.t1`` = (r_o, r_e)); each T2 of ``experiment.pairs`` is
irrelevant (colour uninformative), aligned (same tie) or contradictory (reversed tie). Per seed,
Ψ*_T1 and every Ψ*_T2 are fine-tuned from one pre-trained Ψ0 (frozen parity head), and
Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 is evaluated on T1's and T2's test splits over the λ grid (direct batched
evaluation). Table 1 is chosen on the mean curves with the synthetic ``task_pair`` rules; α̂ is the
output-cosine estimator (``experiment.estimator_output``: the vector of outputs f = z_odd − z_even over
batches of the union of both test splits, or the pooled features per input; both are reported).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.analysis import mean_curves, mean_std, table1
from experiments.cdigits.common import (
    World,
    bookkeeping,
    own_task_rows,
    prepare,
    task_vector,
)
from experiments.config import CSetup, lam_grid, pair_tasks, to_container
from experiments.paper import CDIGITS_ALPHA as PAPER_ALPHA
from models.estimators import output_alpha
from models.grid import evaluate_grid
from synthetic.cdigits import ColourTask


def measure_pair(
    world: World, models: dict, tasks: dict, pair: str, seeds: list[int], lams, ev: dict
) -> tuple[list[dict], dict[str, list[float]]]:
    """Per seed: T1's and T2's test curves of Ψ0 + ΔΨ_T1 + λ ΔΨ_T2, and α̂ for both outputs."""
    per_seed, alphas = [], {"batch": [], "features": []}
    for s in seeds:
        m1, m2 = models[("T1", s)][0], models[(pair, s)][0]
        data = {
            "T1": world.data(tasks["T1"], "test", s),
            "T2": world.data(tasks[pair], "test", s),
        }
        tvs = [task_vector(world, m1), task_vector(world, m2)]
        coef = [[1.0, float(lam)] for lam in lams]
        per_seed.append(evaluate_grid(world.psi0, tvs, coef, data, memory_mb=ev["memory_mb"]))
        x = torch.cat([data["T1"][0], data["T2"][0]])
        for out in alphas:
            alphas[out].append(output_alpha(m1, m2, x, output=out))
    return per_seed, alphas


def lambda_table(results: dict, lams) -> dict[str, Any]:
    return {
        "columns": ["pair", "lambda", "task", "acc_mean", "acc_std"],
        "rows": [
            [p, float(lam), n, results[p][n]["acc_mean"][i], results[p][n]["acc_std"][i]]
            for p in results
            for n in ("T1", "T2")
            for i, lam in enumerate(lams)
        ],
    }


def compute(cfg: Any, setup: CSetup, *, progress: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    rates = pair_tasks(exp)
    tasks = {n: ColourTask(n, *r) for n, r in rates.items()}
    lams = np.asarray(lam_grid(ev["lam"]))
    world, models = prepare(setup, c, tasks, progress=progress, desc="cdigits: fine-tuning")
    own = own_task_rows(world, models, tasks, exp["min_own_accuracy"])
    ft_acc = {n: float(np.mean([o["accuracy"] for o in own if o["task"] == n])) for n in tasks}
    results: dict[str, Any] = {}
    for pair in tqdm(
        [n for n in tasks if n != "T1"], desc="cdigits: λ curves", disable=not progress
    ):
        per_seed, alphas = measure_pair(world, models, tasks, pair, setup.seeds, lams, ev)
        curves = mean_curves(per_seed)
        results[pair] = {
            "rates": {"T1": list(rates["T1"]), "T2": list(rates[pair])},
            "T1": {k: v.tolist() for k, v in curves["T1"].items()},
            "T2": {k: v.tolist() for k, v in curves["T2"].items()},
            "table1": table1(lams, curves, ft_acc["T1"], ev),
            "alpha_hat": {k: mean_std(v) for k, v in alphas.items()},
            "alpha_hat_per_seed": alphas,
            "per_seed_acc": {n: [g.accuracy[n].tolist() for g in per_seed] for n in ("T1", "T2")},
            "finetuned_T1_acc": ft_acc["T1"],
            "finetuned_T2_acc": ft_acc[pair],
            "paper_alpha": PAPER_ALPHA.get(pair.split()[0]),
        }
    out: dict[str, Any] = {
        "experiment": "cdigits_pair",
        "config": c,
        "lambdas": lams.tolist(),
        "pairs": results,
        "estimator_output": exp["estimator_output"],
        "own_task": own,
        "flagged_runs": [o for o in own if o["flagged"]],
        "pretrain": {k: v for k, v in world.pretrain_meta.items() if k != "train_loss"},
        "split_sizes": {k: len(v) for k, v in world.splits.items()},
        **bookkeeping(world),
        "tables": {"lambda_curves": lambda_table(results, lams)},
        "line_plots": [],
        "wall_seconds": time.perf_counter() - t0,
    }
    out["one_line"] = (
        "α̂ "
        + ", ".join(
            f"{p} {r['alpha_hat'][exp['estimator_output']]['mean']:.2f}" for p, r in results.items()
        )
        + f"; own-task accuracy ≥ {100 * min(o['accuracy'] for o in own):.1f}%; {world.cache.trained} ViTs trained; "
        f"{out['wall_seconds']:.1f}s"
    )
    return out
