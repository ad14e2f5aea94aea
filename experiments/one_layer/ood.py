"""Experiment ``ood``: Theorem 3, out-of-domain generalization by combining task vectors.

Known tasks T1, T2 have orthonormal patterns μ1, μ2; the target T' has μ_T' = γ1 μ1 + γ2 μ2 + κ μ⊥
(theory.md §3.3, §8.1). Per seed, Ψ*_T1, Ψ*_T2 and Ψ*_T' are fine-tuned from one Ψ0, and
Ψ = Ψ0 + λ1 ΔΨ_T1 + λ2 ΔΨ_T2 is evaluated on T' over the (λ1, λ2) grid, on a validation split (to
choose) and a separate test split (to report). Everything is reported as accuracy *and* mean hinge
loss; verdicts use the hinge loss (noise-free tokens make accuracy saturate once the sign is right).

Measured (means over seeds unless said otherwise):

* the heat maps of T' accuracy and hinge (the paper's Figure 2(A));
* Theorem 3's region drawn over them, literal (β = β̂, c fitted) and as a fitted shape (common
  threshold t, box b), with the overlap (IoU) against the measured region {mean test hinge ≤ ε}
  (``experiments.theory.theorem3``);
* the Table 2 analogue: Ψ*_T' itself, Ψ*_T1 = (1, 0), Ψ*_T2 = (0, 1), the best scaled single vector
  and the best (λ1, λ2), each chosen on the validation split and reported on the test split;
* γ̂_i = α̂(Ψ*_T', Ψ*_Ti), the output-cosine estimator, next to the true γ;
* a κ sweep: γ(κ) = √(1 − κ²) γ/‖γ‖, the best T' accuracy and hinge on a coarser grid, down to
  κ = 1 (all γ_i = 0, where no combination should work) (``experiments.one_layer.ood_sweeps``);
* optionally (``experiment.gamma_map_step``) a γ map over the unit disk: the best combined hinge
  against the best single-vector hinge for every γ, with where Theorem 3's conditions (c → 0) can hold.

The claims are made in ``experiments.claims.ood``; the figures drawn by ``plots.one_layer.ood``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.analysis import best_points, beta_hat, mean_std, stack_parts
from experiments.config import (
    Setup,
    calibration_seeds_of,
    lam_grid,
    seeds_of,
    target_of,
    to_container,
)
from experiments.one_layer.common import hypotheses_of, psi0_for_seed, test_set, train_all
from experiments.one_layer.ood_common import TARGET, geometry_for, grid_maps, val_set
from experiments.one_layer.ood_sweeps import Combos, gamma_map, kappa_sweep, select_gamma
from experiments.one_layer.ood_tables import ood_tables, table2_of
from experiments.theory import theorem3
from models.cache import ModelCache
from models.estimators import output_alpha
from models.grid import evaluate_grid, grid_1d
from models.mechanism import mechanism
from models.task_vectors import TaskVector
from models.training import evaluate
from synthetic.tasks import make_tasks


def _measure_seed(s: int, psi0, tvs: list, tasks: dict, models: dict, ctx: dict) -> dict:
    """Everything measured on one seed: the T' grid maps, Ψ*_T1/Ψ*_T2 on T', T1's line for β̂, the
    own-task results, γ̂ and the task-vector cosines."""
    setup, l1, l2 = ctx["setup"], ctx["l1"], ctx["l2"]
    data = {
        "val": val_set(tasks[TARGET], ctx["n_val"], s),
        "test": test_set(tasks[TARGET], setup.n_test, s),
    }
    grid = grid_maps(psi0, tvs, l1, l2, data, ctx["mem"])
    unit = evaluate_grid(psi0, tvs, [[1.0, 0.0], [0.0, 1.0]], {"t": data["test"]})
    t1_data = test_set(tasks["T1"], setup.n_test, s)
    line = evaluate_grid(psi0, tvs, grid_1d(l2, fixed=[1.0]), {"T1": t1_data})
    tests = {
        n: (data["test"] if n == TARGET else test_set(t, setup.n_test, s)) for n, t in tasks.items()
    }
    own = []
    for n in tasks:
        e = evaluate(models[n], tests[n])
        own.append({"seed": s, "task": n, "hinge": e["hinge"], "accuracy": e["accuracy"]})
        own[-1]["steps"] = ctx["steps"][(s, n)]
        if n != TARGET:  # the merged models: the proofs' conclusions are about them
            own[-1]["mechanism"] = mechanism(psi0, models[n], tasks[n].mu, tests[n])
    tv_target = TaskVector.from_models(psi0, models[TARGET])
    gh = {"batch": [], "hidden": []}
    for n in ("T1", "T2"):
        X = torch.cat([tests[TARGET].X, tests[n].X])
        for kind in ("batch", "hidden"):
            gh[kind].append(
                output_alpha(
                    models[TARGET], models[n], X, output=kind, batch_size=min(256, X.shape[0])
                )
            )
    return {
        "grid": grid,
        "unit": {"acc": unit.accuracy["t"], "hinge": unit.hinge["t"]},
        "t1_line": line.hinge["T1"].numpy(),
        "own": own,
        "gamma_hat": gh,
        "tv_cos": [tv_target.cosine(tvs[i]) for i in range(2)],
    }


def _train(setup: Setup, c: dict, gamma, kappa, seeds: list[int], cache, progress: bool):
    """Ψ0 per seed and Ψ*_T1, Ψ*_T2, Ψ*_T' fine-tuned from it (through the cache)."""
    tasks = make_tasks(geometry_for(setup, gamma, kappa), setup.tokens)
    psi0s = {s: psi0_for_seed(setup, s) for s in seeds}
    jobs = {(s, n): (psi0s[s], tasks[n], n, s) for s in seeds for n in tasks}
    cache = cache if cache is not None else ModelCache(c.get("cache_dir"))
    trained = train_all(jobs, setup, cache, batched=c.get("batched", "auto"), progress=progress)
    return tasks, psi0s, trained


def _region(exp: dict, l1, l2, gamma, measured: np.ndarray, t1_lines: list) -> dict[str, Any]:
    """Theorem 3's region fitted to the measured one: literal (β = β̂ or ``experiment.beta``),
    shape (t, b), and each half-plane alone."""
    beta = (
        beta_hat(l2, np.mean(t1_lines, 0))
        if exp.get("beta") is None
        else {"beta_hat": float(exp["beta"]), "slope": None, "r2": None}
    )
    return {
        "measured_fraction": float(measured.mean()),
        "literal": theorem3.fit_literal(l1, l2, gamma, measured, beta["beta_hat"]),
        "shape": theorem3.fit_shape(l1, l2, gamma, measured),
        "half_planes": theorem3.fit_half_planes(l1, l2, gamma, measured),
        "beta": beta,
    }


def _calibration(setup: Setup, c: dict, gamma, kappa, cache, progress: bool) -> dict[str, Any]:
    """Ψ0 and task vectors of the held-out seeds (``experiment.calibration_seeds``), and T1's hinge on
    Ψ0 + ΔΨ_T1 + λ2 ΔΨ_T2 over λ2 averaged over them (for β̂; the reported seeds never enter it)."""
    seeds = calibration_seeds_of(c["experiment"])
    tasks, psi0s, trained = _train(setup, c, gamma, kappa, seeds, cache, progress)
    tvs = {
        s: [TaskVector.from_models(psi0s[s], trained.results[(s, n)].model) for n in ("T1", "T2")]
        for s in seeds
    }
    l2 = np.asarray(lam_grid(c["eval"]["lam"]))
    lines = [
        evaluate_grid(
            psi0s[s],
            tvs[s],
            grid_1d(l2, fixed=[1.0]),
            {"T1": test_set(tasks["T1"], setup.n_test, s)},
        )
        .hinge["T1"]
        .numpy()
        for s in seeds
    ]
    line = np.mean(lines, 0).tolist()
    return {"seeds": seeds, "psi0s": psi0s, "tvs": tvs, "T1_line_mean": line}


def _sweeps(setup: Setup, exp: dict, psi0s: dict, tvs: dict, gamma, mem: float, progress: bool):
    """The κ sweep (reported seeds) and, optionally, the γ map (on ``map_seeds`` held-out seeds:
    ``psi0s``/``tvs`` are then those of the calibration seeds), on the coarser grid."""
    s1 = s2 = np.asarray(lam_grid(exp["sweep_lam"]))
    direction = np.asarray(gamma) / np.linalg.norm(gamma)
    sweep = []
    if exp.get("kappas"):
        combos = Combos(psi0s["reported"], tvs["reported"], s1, s2, mem)
        sweep = kappa_sweep(setup, list(exp["kappas"]), direction, combos, exp["sweep_n"], progress)
    gmap = []
    if exp.get("gamma_map_step") is not None:
        held = psi0s["held_out"]
        map_seeds = {s: held[s] for s in list(held)[: exp["map_seeds"]]}
        combos = Combos(map_seeds, tvs["held_out"], s1, s2, mem)
        gmap = gamma_map(setup, exp["gamma_map_step"], combos, exp["map_n"], progress)
    return sweep, gmap


def _estimates(per_seed: list[dict], output: str) -> dict[str, Any]:
    """γ̂ (with the chosen output vector and with each) and the task-vector cosines, over seeds."""
    gh = {
        k: [[r["gamma_hat"][k][i] for r in per_seed] for i in range(2)] for k in ("batch", "hidden")
    }
    return {
        "gamma_hat": [mean_std(v) for v in gh[output]],
        "gamma_hat_output": output,
        "gamma_hat_by_output": {k: [mean_std(x) for x in v] for k, v in gh.items()},
        "task_vector_cosine": [mean_std([r["tv_cos"][i] for r in per_seed]) for i in range(2)],
    }


def _maps(l1, l2, val: dict, test: dict) -> dict[str, Any]:
    """The T' heat maps: test mean (± std over seeds) accuracy and hinge, validation mean hinge."""

    def std(a: np.ndarray) -> list:
        return a.std(0, ddof=1).tolist() if len(a) > 1 else np.zeros_like(a.mean(0)).tolist()

    return {
        "lambda1": l1.tolist(),
        "lambda2": l2.tolist(),
        "acc_mean": test["acc"].mean(0).tolist(),
        "acc_std": std(test["acc"]),
        "hinge_mean": test["hinge"].mean(0).tolist(),
        "hinge_std": std(test["hinge"]),
        "val_hinge_mean": val["hinge"].mean(0).tolist(),
    }


def _best_summary(best: dict) -> dict[str, float]:
    return {
        "lambda1": best["lambda1"],
        "lambda2": best["lambda2"],
        "test_acc": best["acc"]["mean"],
        "test_hinge": best["hinge"]["mean"],
    }


def compute(
    cfg: Any, setup: Setup, *, progress: bool = False, cache: ModelCache | None = None
) -> dict[str, Any]:
    t_start = time.perf_counter()
    c = to_container(cfg)
    exp, ev = c["experiment"], c["eval"]
    seeds, target = seeds_of(exp), target_of(exp)
    gamma, kappa = target["gamma"], target["kappa"]
    label = exp.get("label") or f"γ = ({gamma[0]:.2f}, {gamma[1]:.2f})"
    l1 = l2 = np.asarray(lam_grid(ev["lam"]))
    tasks, psi0s, trained = _train(setup, c, gamma, kappa, seeds, cache, progress)
    models = {s: {n: trained.results[(s, n)].model for n in tasks} for s in seeds}
    tvs = {s: [TaskVector.from_models(psi0s[s], models[s][n]) for n in ("T1", "T2")] for s in seeds}
    ctx = {"setup": setup, "l1": l1, "l2": l2, "n_val": exp["n_val"], "mem": ev["memory_mb"]}
    ctx["steps"] = {k: r.history.steps_run for k, r in trained.results.items()}
    cal = _calibration(setup, c, gamma, kappa, cache, progress)
    per_seed = [
        _measure_seed(s, psi0s[s], tvs[s], tasks, models[s], ctx)
        for s in tqdm(seeds, desc=f"{label}: (λ1, λ2) grids", disable=not progress)
    ]
    val_np, test_np = stack_parts([r["grid"] for r in per_seed])
    table2 = table2_of(per_seed, best_points(l1, l2, val_np, test_np))
    t1_lines = [r["t1_line"] for r in per_seed]
    region = _region(exp, l1, l2, gamma, test_np["hinge"].mean(0) <= ev["eps"], t1_lines)
    psi0_sets = {"reported": psi0s, "held_out": cal.pop("psi0s")}
    tv_sets = {"reported": tvs, "held_out": cal.pop("tvs")}
    sweep, gmap = _sweeps(setup, exp, psi0_sets, tv_sets, gamma, ev["memory_mb"], progress)
    results: dict[str, Any] = {
        "experiment": "ood",
        "label": label,
        "config": c,
        "target": target,
        "gamma": gamma,
        "kappa": kappa,
        **_estimates(per_seed, exp["estimator_output"]),
        **_maps(l1, l2, val_np, test_np),
        "best": _best_summary(table2["best"]),
        "finetuned_target_acc": table2["finetuned"]["acc"]["mean"],
        "finetuned_target_hinge": table2["finetuned"]["hinge"]["mean"],
        "table2": table2,
        "region": region,
        "kappa_sweep": sweep,
        "gamma_map": gmap,
        "gamma_selected_on_held_out": select_gamma(gmap, ev["eps"]) if gmap else None,
        "own_task": [o for r in per_seed for o in r["own"]],
        "per_seed_hinge": test_np["hinge"].tolist(),
        "calibration": cal,
        "hypotheses": hypotheses_of(setup, ev["eps"], list(ctx["steps"].values())),
        "models_requested": trained.requested,
        "models_trained": trained.trained,
        **ood_tables(table2, sweep, label),
    }
    results["wall_seconds"] = time.perf_counter() - t_start
    results["one_line"] = _one_line(results)
    return results


def _one_line(m: dict) -> str:
    b, t2 = m["best"], m["table2"]
    return (
        f"{m['label']}: best (λ1, λ2) = ({b['lambda1']:.1f}, {b['lambda2']:.1f}) T' acc {b['test_acc']:.3f}, "
        f"hinge {b['test_hinge']:.3f} (Ψ*_T1 {t2['psi_T1']['acc']['mean']:.3f}, fine-tuned on T' "
        f"{m['finetuned_target_acc']:.3f}); {m['models_trained']}/{m['models_requested']} models trained; "
        f"{m['wall_seconds']:.1f}s"
    )


def figures(m: dict) -> dict[str, Any]:
    """The Figure 2 analogue (with Theorem 3's fitted regions, from ``experiments.theory``) and, if
    measured, the γ map."""
    from plots.one_layer.ood import gamma_map_figure, ood_figure

    l1, l2 = np.asarray(m["lambda1"]), np.asarray(m["lambda2"])
    overlay = theorem3.overlay(l1, l2, m["gamma"], m["region"]["shape"], m["region"]["literal"])
    out = {"ood": ood_figure(m, overlay)}
    if m["gamma_map"]:
        out["ood_gamma_map"] = gamma_map_figure(m)
    return out
