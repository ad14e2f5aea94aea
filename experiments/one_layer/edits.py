"""The task-arithmetic edits that the compression experiments (``low_rank``, ``pruning``) rerun.

Per seed (one Ψ0 each), with the models of the other experiments (same tasks, same seeds: the cache
reuses them):

* ``add_irrelevant``, ``add_aligned``: Ψ0 + ΔΨ_T1 + λ ΔΨ_T2 on both tasks; λ chosen on the mean
  curves to minimise the worse of the two mean hinge losses; success: that hinge ≤ ε (Theorem 1).
* ``negate_irrelevant``, ``negate_contradictory``: the same curves for λ < 0; λ chosen to maximise
  T2's mean hinge among the λ < 0 where T1's mean hinge stays ≤ ε (λ = −1 if none); success: T2's
  hinge ≥ forget and T1's ≤ ε (Theorem 2).
* ``ood``: Ψ0 + λ1 ΔΨ_T1 + λ2 ΔΨ_T2 on T' over a coarse (λ1, λ2) grid; the point chosen on a
  validation split, reported on a test split; success: test hinge ≤ ε (Theorem 3).

The edits (and their labels) are the guarantees listed in ``experiments.theory.corollaries``.
A ``transform`` (task vector → task vector: truncation, pruning, identity) is applied to *every*
task vector of an edit, and the coefficients are chosen again for the transformed vectors: the
corollaries claim that suitable coefficients still exist, not that the same ones work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.analysis import best_points, stack_parts
from experiments.config import Setup, lam_grid, seeds_of
from experiments.one_layer.common import lambda_curves, psi0_for_seed, test_set, train_all
from experiments.one_layer.ood_common import TARGET, geometry_for, grid_maps, val_set
from experiments.theory.corollaries import EDITS
from models.cache import ModelCache
from models.task_vectors import TaskVector
from synthetic.patterns import pair_geometry
from synthetic.runtime import resolve_device
from synthetic.tasks import make_tasks


@dataclass
class EditSuite:
    """Everything needed to evaluate the edits for any transform: per seed Ψ0, vectors and data."""

    seeds: list[int]
    psi0s: dict
    pair_vectors: dict  # (seed, pair) -> (τ1, τ2)
    pair_data: dict  # (seed, pair) -> {"T1": batch, "T2": batch}
    ood_vectors: dict  # seed -> [τ1, τ2]
    ood_data: dict  # seed -> {"val": batch, "test": batch}
    lams: np.ndarray
    ood_axis: np.ndarray
    models_requested: int
    models_trained: int

    def vectors(self) -> dict[str, TaskVector]:
        """Every distinct task vector, named "<pair or ood>/<task>/seed<s>" (for spectra and row norms)."""
        out = {}
        for (s, pair), (t1, t2) in self.pair_vectors.items():
            if pair == "irrelevant":
                out[f"T1/seed{s}"] = t1
            out[f"{pair} T2/seed{s}"] = t2
        for s, (t1, t2) in self.ood_vectors.items():
            out[f"ood T1/seed{s}"] = t1
            out[f"ood T2/seed{s}"] = t2
        return out


def pair_alphas(exp: dict) -> dict[str, float]:
    return {
        "irrelevant": 0.0,
        "aligned": float(exp["aligned_alpha"]),
        "contradictory": float(exp["contradictory_alpha"]),
    }


def _pair_tasks(setup: Setup, exp: dict) -> dict[str, dict]:
    """The tasks of the three pairs (irrelevant, aligned, contradictory), by pair."""
    device = resolve_device(setup.device)
    pair_tasks = {}
    for pair, alpha in pair_alphas(exp).items():
        geo = pair_geometry(
            setup.d,
            alpha,
            n_irrelevant=setup.n_irrelevant,
            rotate=setup.rotate,
            seed=setup.basis_seed,
            device=device,
            dtype=setup.dtype,
        )
        pair_tasks[pair] = make_tasks(geo, setup.tokens)
    return pair_tasks


def prepare(setup: Setup, c: dict, cache: ModelCache | None = None, *, progress: bool) -> EditSuite:
    """Fine-tune (or fetch) every model the edits need and sample their data (``c``: the config)."""
    from experiments.config import target_of

    exp, ev = c["experiment"], c["eval"]
    seeds = seeds_of(exp)
    cache = cache if cache is not None else ModelCache(c.get("cache_dir"))
    pair_tasks = _pair_tasks(setup, exp)
    target = target_of({"ood_gamma": exp["ood_gamma"]}, gamma_key="ood_gamma")
    ood_tasks = make_tasks(geometry_for(setup, target["gamma"], target["kappa"]), setup.tokens)
    psi0s = {s: psi0_for_seed(setup, s) for s in seeds}
    jobs = {}
    for s in seeds:
        for pair, tasks in pair_tasks.items():
            for n in ("T1", "T2"):
                jobs[(s, pair, n)] = (psi0s[s], tasks[n], n, s)
        for n in ("T1", "T2"):
            jobs[(s, "ood", n)] = (psi0s[s], ood_tasks[n], n, s)
    trained = train_all(jobs, setup, cache, batched=c.get("batched", "auto"), progress=progress)

    def tv(s, group, n):
        return TaskVector.from_models(psi0s[s], trained.results[(s, group, n)].model)

    n = exp["n_eval"]
    return EditSuite(
        seeds=seeds,
        psi0s=psi0s,
        pair_vectors={(s, p): (tv(s, p, "T1"), tv(s, p, "T2")) for s in seeds for p in pair_tasks},
        pair_data={
            (s, p): {k: test_set(t, n, s) for k, t in tasks.items()}
            for s in seeds
            for p, tasks in pair_tasks.items()
        },
        ood_vectors={s: [tv(s, "ood", "T1"), tv(s, "ood", "T2")] for s in seeds},
        ood_data={
            s: {"val": val_set(ood_tasks[TARGET], n, s), "test": test_set(ood_tasks[TARGET], n, s)}
            for s in seeds
        },
        lams=np.asarray(lam_grid(ev["lam"])),
        ood_axis=np.asarray(lam_grid(exp["ood_lam"])),
        models_requested=trained.requested,
        models_trained=trained.trained,
    )


def _point(lams, i: int, h1, h2, a1, a2, acc: float, hinge: float, ok: bool) -> dict[str, Any]:
    return {
        "lambda": float(lams[i]),
        "T1_acc": float(a1[i]),
        "T2_acc": float(a2[i]),
        "T1_hinge": float(h1[i]),
        "T2_hinge": float(h2[i]),
        "acc": float(acc),
        "hinge": float(hinge),
        "success": bool(ok),
    }


def _choose_addition(lams, h1, h2, a1, a2, eps) -> dict[str, Any]:
    worse = np.maximum(h1, h2)
    i = int(np.lexsort((np.abs(lams), worse))[0])
    return _point(lams, i, h1, h2, a1, a2, min(a1[i], a2[i]), worse[i], worse[i] <= eps)


def _choose_negation(lams, h1, h2, a1, a2, eps, forget) -> dict[str, Any]:
    neg = np.flatnonzero(lams < 0)
    keep = neg[h1[neg] <= eps]
    if keep.size:
        i = int(keep[np.lexsort((-lams[keep], -h2[keep]))[0]])
    else:
        i = int(np.argmin(np.abs(lams + 1.0)))
    return _point(lams, i, h1, h2, a1, a2, a1[i], h1[i], h2[i] >= forget and h1[i] <= eps)


def evaluate_edits(
    suite: EditSuite, transform: Callable[[TaskVector], TaskVector], ev: dict
) -> dict[str, dict[str, Any]]:
    """Every edit with every task vector passed through ``transform``: {edit: chosen point}."""
    eps, forget, mem = ev["eps"], ev["forget_hinge"], ev["memory_mb"]
    out = {}
    for pair in ("irrelevant", "aligned", "contradictory"):
        curves = []
        for s in suite.seeds:
            t1, t2 = suite.pair_vectors[(s, pair)]
            curves.append(
                lambda_curves(
                    suite.psi0s[s],
                    transform(t1),
                    transform(t2),
                    suite.lams.tolist(),
                    suite.pair_data[(s, pair)],
                    mem,
                )
            )
        mean = {
            n: {k: np.mean([c[n][k] for c in curves], 0) for k in ("acc", "hinge")}
            for n in ("T1", "T2")
        }
        args = (
            suite.lams,
            mean["T1"]["hinge"],
            mean["T2"]["hinge"],
            mean["T1"]["acc"],
            mean["T2"]["acc"],
        )
        if pair in ("irrelevant", "aligned"):
            out[f"add_{pair}"] = _choose_addition(*args, eps)
        if pair in ("irrelevant", "contradictory"):
            out[f"negate_{pair}"] = _choose_negation(*args, eps, forget)
    ax = suite.ood_axis
    per_seed = [
        grid_maps(
            suite.psi0s[s],
            [transform(t) for t in suite.ood_vectors[s]],
            ax,
            ax,
            suite.ood_data[s],
            mem,
        )
        for s in suite.seeds
    ]
    best = best_points(ax, ax, *stack_parts(per_seed))["best"]
    out["ood"] = {
        "lambda1": best["lambda1"],
        "lambda2": best["lambda2"],
        "acc": best["acc"]["mean"],
        "hinge": best["hinge"]["mean"],
        "success": bool(best["hinge"]["mean"] <= eps),
    }
    return {k: out[k] for k in EDITS}


def compressed_edits(
    setup: Setup,
    c: dict,
    cache: ModelCache | None,
    variants: Sequence[str],
    levels: Sequence,
    transform: Callable[[TaskVector, str, Any], TaskVector],
    *,
    desc: str,
    progress: bool,
) -> tuple[EditSuite, dict[str, dict], dict[str, dict[str, dict]]]:
    """The suite, the edits with the full vectors, and ``evaluate_edits`` for every (variant, level)
    with ``transform(τ, variant, level)``: {variant: {str(level): {edit: chosen point}}}."""
    suite = prepare(setup, c, cache, progress=progress)
    full = evaluate_edits(suite, lambda tv: tv, c["eval"])
    results: dict[str, dict[str, Any]] = {v: {} for v in variants}
    todo = [(v, x) for v in variants for x in levels]
    for v, x in tqdm(todo, desc=desc, disable=not progress):
        results[v][str(x)] = evaluate_edits(
            suite, lambda tv, v=v, x=x: transform(tv, v, x), c["eval"]
        )
    return suite, full, results


def series(results: dict, levels: Sequence, key: str) -> dict[str, dict[str, list]]:
    """{variant: {edit: [results[variant][str(level)][edit][key] for each level]}}."""
    return {v: {e: [r[str(x)][e][key] for x in levels] for e in EDITS} for v, r in results.items()}
