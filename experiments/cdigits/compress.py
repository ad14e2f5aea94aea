"""Experiment ``cdigits_compress``: Corollaries 1–2 on the ViT task vectors of ``cdigits_pair``.

Every matrix of every task vector is truncated by SVD to rank min(r, its rank) (``experiment.ranks``;
vectors and biases are kept), or every tensor is magnitude-pruned to its largest entries
(``experiment.keep``, per tensor). The pair edits are rerun with λ re-chosen on the mean curves by the
Table 1 rules (``experiments.analysis.table1``) over the ``eval`` λ grid:

* addition (each pair): score = the worse of T1's and T2's accuracy at the multi-task λ;
* negation (irrelevant and contradictory pairs): score = T1's accuracy − T2's accuracy at the
  unlearning λ (T1 kept, T2 forgotten: high is good; 0 when no λ keeps T1).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.analysis import table1
from experiments.cdigits.common import bookkeeping, prepare, task_vector
from experiments.config import CSetup, lam_grid, pair_tasks, to_container
from models.grid import evaluate_grid
from models.transforms import low_rank, prune_magnitude
from models.vit_train import evaluate
from synthetic.cdigits import ColourTask


def scores(pair: str, t1: dict) -> dict[str, dict[str, Any]]:
    """The edit scores of one pair from its Table 1: addition (the worse task accuracy at the
    multi-task λ) and, except for aligned pairs, negation (T1 acc − T2 acc at the unlearning λ)."""
    mt, un = t1["multi_task"], t1["unlearning"]
    out = {
        f"add {pair}": {
            "lambda": mt["lambda"],
            "score": min(mt["T1_acc"], mt["T2_acc"]),
            "T1_acc": mt["T1_acc"],
            "T2_acc": mt["T2_acc"],
        }
    }
    if not pair.startswith("aligned"):
        out[f"negate {pair}"] = (
            {
                "lambda": un["lambda"],
                "score": un["T1_acc"] - un["T2_acc"],
                "T1_acc": un["T1_acc"],
                "T2_acc": un["T2_acc"],
            }
            if un
            else {"lambda": None, "score": 0.0, "T1_acc": None, "T2_acc": None}
        )
    return out


def edits(
    world, models, tasks, pairs, seeds, lams, ev, n_eval, ft1, transform
) -> dict[str, dict[str, Any]]:
    """Every pair edit with the task vectors passed through ``transform``; ``ft1`` is Ψ*_T1's own
    accuracy (the retention reference of the unlearning rule)."""
    out = {}
    for pair in pairs:
        per = []
        for s in seeds:
            data = {
                "T1": world.data(tasks["T1"], "test", s, n_eval),
                "T2": world.data(tasks[pair], "test", s, n_eval),
            }
            tvs = [transform(task_vector(world, models[(n, s)][0])) for n in ("T1", pair)]
            coef = [[1.0, float(x)] for x in lams]
            per.append(evaluate_grid(world.psi0, tvs, coef, data, memory_mb=ev["memory_mb"]))
        curves = {
            n: {
                "acc_mean": np.mean([p[n]["acc"] for p in per], 0),
                "hinge_mean": np.mean([p[n]["hinge"] for p in per], 0),
            }
            for n in ("T1", "T2")
        }
        out.update(scores(pair, table1(lams, curves, ft1, ev)))
    return out


def sweep(args: tuple, full: dict, key: str, values: list, transform, progress: bool, desc: str):
    """Every edit at each of ``values`` (task vectors passed through ``transform(tv, value)``):
    {edit: [{key: value, **edit}, ...]} in the order of ``values``."""
    rows: dict[str, list] = {e: [] for e in full}
    for v in tqdm(values, desc=desc, disable=not progress):
        res = edits(*args, lambda tv, v=v: transform(tv, v))
        for e in full:
            rows[e].append({key: v, **res[e]})
    return rows


def compute(cfg: Any, setup: CSetup, *, progress: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    tasks = {n: ColourTask(n, *r) for n, r in pair_tasks(exp).items()}
    pairs = [n for n in tasks if n != "T1"]
    lams = np.asarray(lam_grid(ev["lam"]))
    world, models = prepare(
        setup, c, tasks, progress=progress, desc="cdigits compress: fine-tuning"
    )
    n_eval = exp.get("n_eval")
    own_t1 = [
        evaluate(models[("T1", s)][0], *world.data(tasks["T1"], "test", s, n_eval))["accuracy"]
        for s in setup.seeds
    ]
    args = (world, models, tasks, pairs, setup.seeds, lams, ev, n_eval, float(np.mean(own_t1)))
    full = edits(*args, lambda tv: tv)
    ranks = sorted({int(r) for r in exp["ranks"]})
    keep = sorted({float(k) for k in exp["keep"]}, reverse=True)
    low = sweep(
        args,
        full,
        "rank",
        ranks,
        lambda tv, r: low_rank(tv, r, clip=True),
        progress,
        "cdigits: low rank",
    )
    mag = sweep(args, full, "keep", keep, prune_magnitude, progress, "cdigits: pruning")
    wall = time.perf_counter() - t0
    return {
        "experiment": "cdigits_compress",
        "config": c,
        "ranks": ranks,
        "keep": keep,
        "full": full,
        "low_rank": low,
        "magnitude": mag,
        "accuracy_vs_rank": {e: [r["score"] for r in low[e]] for e in full},
        "accuracy_vs_keep": {e: [r["score"] for r in mag[e]] for e in full},
        **bookkeeping(world),
        "tables": {},
        "line_plots": [],
        "wall_seconds": wall,
        "one_line": f"{len(ranks)} ranks, {len(keep)} kept fractions; {wall:.1f}s",
    }
