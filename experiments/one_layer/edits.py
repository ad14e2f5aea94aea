"""The task-arithmetic edits that the compression experiments (``low_rank``, ``pruning``) rerun.

Per seed (one Ψ0 each; models and data from ``experiments.one_layer.edit_suite``), every task vector
passed through a ``transform`` (truncation, pruning, identity), the edit Ψ0 + λ1 τ1 + λ2 τ2:

* ``add_irrelevant``, ``add_aligned``: λ2 > 0 (Theorem 1);
* ``negate_irrelevant``, ``negate_contradictory``: λ2 < 0 (Theorem 2);
* ``ood``: on T', over the (λ1, λ2) grid ``experiment.ood_lam`` (Theorem 3).

(λ1, λ2) are chosen per seed on a validation split and reported on a test split by
``experiments.one_layer.edit_choice`` (T1's coefficient included, the grid widened until the choice
is interior, or flagged): the corollaries claim that suitable coefficients still exist for the
compressed vectors, not that the same ones work. An edit's per-seed test **slack** is ≤ 0 when it
meets its guarantee within the budget declared in the config (``experiment.budget_eps`` × ε); the
claims (``experiments.claims.compression``) judge the slacks' interval over seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.config import Setup
from experiments.one_layer.edit_choice import Grid, choose, kind_of, slack
from experiments.one_layer.edit_suite import PAIRS, EditSuite, prepare
from experiments.one_layer.ood_common import grid_maps
from experiments.theory.corollaries import EDITS
from models.cache import ModelCache
from models.grid import evaluate_grid
from models.task_vectors import TaskVector


def _pair_seed(suite: EditSuite, s: int, pair: str, tvs: list, ev: dict, exp: dict) -> dict:
    """The pair's edits on seed ``s``: (λ1, λ2) chosen on validation, reported on test."""
    kinds = {e: kind_of(e) for e in EDITS if e != "ood" and e.endswith(pair)}
    data = suite.pair_data[(s, pair)]
    return _seed_edits(suite.psi0s[s], tvs, kinds, data, suite.t1_axis, suite.lams, ev, exp)


def _seed_edits(psi0, tvs, kinds, data, l1, l2, ev: dict, exp: dict) -> dict[str, dict]:
    """``choose`` on data["val"] over l1 × l2 (widened as needed), then the test split at each choice."""
    budget, forget, mem = exp["budget_eps"] * ev["eps"], ev["forget_hinge"], ev["memory_mb"]

    def on_val(a, b):
        return grid_maps(psi0, tvs, a, b, data["val"], mem)

    grid = Grid(l1, l2, on_val(l1, l2))
    chosen, _ = choose(
        kinds, grid, on_val, budget=budget, forget=forget, max_widen=exp["max_widen"]
    )
    points = [[c["lambda1"], c["lambda2"]] for c in chosen.values()]
    res = evaluate_grid(psi0, tvs, points, data["test"], memory_mb=mem)
    out = {}
    for g, (e, c) in enumerate(chosen.items()):
        test = {
            n: {"acc": res.accuracy[n][g : g + 1].numpy(), "hinge": res.hinge[n][g : g + 1].numpy()}
            for n in data["test"]
        }
        tested = {f"{n}_{k}": float(v[k][0]) for n, v in test.items() for k in ("acc", "hinge")}
        out[e] = {**c, **tested, "slack": float(slack(kinds[e], test, budget, forget)[0])}
    return out


def _summary(kind: str, per_seed: list[dict]) -> dict[str, Any]:
    """An edit over seeds: per-seed choices and test slacks, and the means the figures plot."""
    mean = {
        k: float(np.mean([p[k] for p in per_seed]))
        for k in per_seed[0]
        if k.endswith(("_acc", "_hinge"))
    }
    if kind == "ood":
        acc, hinge = mean["T'_acc"], mean["T'_hinge"]
    elif kind == "add":
        acc = float(np.mean([min(p["T1_acc"], p["T2_acc"]) for p in per_seed]))
        hinge = float(np.mean([max(p["T1_hinge"], p["T2_hinge"]) for p in per_seed]))
    else:
        acc, hinge = mean["T1_acc"], mean["T1_hinge"]
    return {
        **mean,
        "acc": acc,
        "hinge": hinge,
        "slack": [p["slack"] for p in per_seed],
        "lambda1": [p["lambda1"] for p in per_seed],
        "lambda2": [p["lambda2"] for p in per_seed],
        "on_edge": any(p["on_edge"] for p in per_seed),
        "success": all(p["slack"] <= 0 for p in per_seed),  # every seed (the claims use intervals)
        "per_seed": per_seed,
    }


def evaluate_edits(
    suite: EditSuite, transform: Callable[[TaskVector, Any], TaskVector], c: dict
) -> dict[str, dict[str, Any]]:
    """Every edit with every task vector passed through ``transform(τ, Ψ0)``: {edit: summary}."""
    ev, exp = c["eval"], c["experiment"]
    per: dict[str, list] = {e: [] for e in EDITS}
    for s in suite.seeds:
        psi0 = suite.psi0s[s]
        for pair in PAIRS:
            tvs = [transform(t, psi0) for t in suite.pair_vectors[(s, pair)]]
            for e, r in _pair_seed(suite, s, pair, tvs, ev, exp).items():
                per[e].append(r)
        tvs = [transform(t, psi0) for t in suite.ood_vectors[s]]
        ax = suite.ood_axis
        r = _seed_edits(psi0, tvs, {"ood": "ood"}, suite.ood_data[s], ax, ax, ev, exp)
        per["ood"].append(r["ood"])
    return {e: _summary(kind_of(e), per[e]) for e in EDITS}


def compressed_edits(
    setup: Setup,
    c: dict,
    cache: ModelCache | None,
    variants: Sequence[str],
    levels: Sequence,
    transform: Callable[[TaskVector, str, Any, Any], TaskVector],
    *,
    desc: str,
    progress: bool,
) -> tuple[EditSuite, dict[str, dict], dict[str, dict[str, dict]]]:
    """The suite, the edits with the full vectors, and ``evaluate_edits`` for every (variant, level)
    with ``transform(τ, variant, level, Ψ0)``: {variant: {str(level): {edit: chosen point}}}."""
    suite = prepare(setup, c, cache, progress=progress)
    full = evaluate_edits(suite, lambda tv, psi0: tv, c)
    results: dict[str, dict[str, Any]] = {v: {} for v in variants}
    todo = [(v, x) for v in variants for x in levels]
    for v, x in tqdm(todo, desc=desc, disable=not progress):
        results[v][str(x)] = evaluate_edits(
            suite, lambda tv, psi0, v=v, x=x: transform(tv, v, x, psi0), c
        )
    return suite, full, results


def suite_record(suite: EditSuite, c: dict) -> dict[str, Any]:
    """What every compression experiment records of its suite: the audits, hypotheses and budget."""
    return {
        "mechanism": suite.mechanism,
        "hypotheses": suite.hypotheses,
        "budget": c["experiment"]["budget_eps"] * c["eval"]["eps"],
        "models_requested": suite.models_requested,
        "models_trained": suite.models_trained,
    }


def series(results: dict, levels: Sequence, key: str) -> dict[str, dict[str, list]]:
    """{variant: {edit: [results[variant][str(level)][edit][key] for each level]}}."""
    return {v: {e: [r[str(x)][e][key] for x in levels] for e in EDITS} for v, r in results.items()}
