"""Experiment ``scaling``: finite-size effects behind three of the theory's structural statements.

Predictions, written before the runs (``experiments.theory.scaling``):

1. **ΔV's second direction is a finite-M effect.** ΔV's relative rank-1 residual falls with the number
   M = d − 2 of irrelevant patterns roughly as M^(−1/2) (log-log slope in [−0.7, −0.3]) over d from
   ``dims``; with ±-paired (zero-mean) irrelevant tokens it is ≤ 0.1 at every d.
2. **Corollary 2's |L| = Θ(m).** The fraction of ΔV's rows in the large group does not drift with the
   width m (``widths``), at every V0 scale (``v0_stds``).
3. **β does not grow with m or B.** β̂ (the one-sided slope of T1's hinge against |λ| on the pair,
   over the λ where Theorem 1 or 2 applies, ``analysis.calibrated_beta``) changes by at most ``FLAT``
   per doubling of m or of B.

Every point is fine-tuned on ``n_seeds`` seeds (through the model cache) from the run's config with
the sweep's keys changed (``experiments.config.regimes.variant``); values are kept per seed so the
claims can put a seed interval on each slope.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.analysis import calibrated_beta
from experiments.config import Setup, lam_grid, seeds_of, to_container
from experiments.config.regimes import point_setups
from experiments.one_layer.common import lambda_curves, test_set, train_pair
from experiments.theory.corollaries import row_split
from experiments.theory.scaling import RESIDUAL_REFERENCE
from models.cache import ModelCache
from models.mechanism import mechanism
from models.task_vectors import TaskVector
from models.transformer import effective_wv
from synthetic.tasks import make_tasks


def _measure(name: str, v: dict, setup: Setup, seeds, cache, progress) -> dict[str, list]:
    """Per seed, what sweep ``name`` needs from T1 (and T2 for β̂) fine-tuned at this point."""
    tasks = make_tasks(setup.geometry(), setup.tokens)
    if name != "beta":
        tasks = {"T1": tasks["T1"]}
    psi0s, trained = train_pair(v, setup, tasks, seeds, progress=False, cache=cache)
    out: dict[str, list] = {}
    for s in seeds:
        model, t1 = trained.results[(s, "T1")].model, tasks["T1"]
        data = {n: test_set(t, setup.n_test, s) for n, t in tasks.items()}
        if name == "residual":
            mech = mechanism(psi0s[s], model, t1.mu, data["T1"])
            out.setdefault("rank1_residual_dV", []).append(mech["rank1_residual_dV"])
        elif name == "rows":
            dV = (effective_wv(model.params)[1] - effective_wv(psi0s[s].params)[1]).detach()
            dV = dV.double()
            rows = (dV.norm(dim=1) * dV.shape[0] ** 0.5).tolist()
            split = row_split(rows, setup.train.batch_size)
            for k in ("large", "small", "gap"):
                out.setdefault(f"{k}_fraction", []).append(split[k])
        else:
            tvs = [TaskVector.from_models(psi0s[s], trained.results[(s, n)].model) for n in tasks]
            lams = np.asarray(lam_grid(v["eval"]["lam"]))
            h1 = lambda_curves(psi0s[s], *tvs, lams.tolist(), data, v["eval"]["memory_mb"])
            alpha, c = float(v["data"]["alpha"]), float(v["experiment"]["negation_c"])
            out.setdefault("beta_hat", []).append(
                calibrated_beta(alpha, lams, h1["T1"]["hinge"][None], v["eval"]["eps"], c)
            )
    return out


def compute(
    cfg: Any, setup: Setup, *, progress: bool = False, cache: ModelCache | None = None
) -> dict[str, Any]:
    """Fine-tune every point of the three sweeps and return their per-seed measurements."""
    c = to_container(cfg)
    seeds = seeds_of(c["experiment"])
    cache = cache if cache is not None else ModelCache(c.get("cache_dir"))
    t0 = time.perf_counter()
    sweeps = {}
    for name, points in point_setups(c).items():
        sweeps[name] = [
            {"knobs": knobs, **_measure(name, v, s, seeds, cache, progress)}
            for knobs, v, s in tqdm(points, desc=f"scaling: {name}", disable=not progress)
        ]
    wall = time.perf_counter() - t0
    n = sum(len(p) for p in sweeps.values())
    return {
        "experiment": "scaling",
        "config": c,
        "seeds": seeds,
        "sweeps": sweeps,
        "wall_seconds": wall,
        "one_line": f"{n} points × {len(seeds)} seeds; {wall:.1f}s",
    }


def figures(results: dict[str, Any]) -> dict[str, Any]:
    """The three scaling figures, with the predicted M^(−1/2) line from the theory module."""
    from plots.one_layer.scaling import scaling_figures

    return scaling_figures(results, RESIDUAL_REFERENCE)
