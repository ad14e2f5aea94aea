"""Experiment ``cdigits_ood``: the paper's Table 2 and Figure 2 on coloured digits with a small ViT.

Known tasks T1 and T2 and a target T' (each (r_o, r_e); the paper gives r_o = 0.85, 0.05, 0.9 and not
r_e: we use r_e = 1 − r_o, so colour is as informative as it can be and T2's colour tie is the
reverse of T1's and T''s, which gives the paper's pattern of Ψ*_T2 below chance on T'). Per seed,
Ψ*_T1, Ψ*_T2 and Ψ*_T' are fine-tuned from Ψ0 and Ψ0 + λ1 ΔΨ_T1 + λ2 ΔΨ_T2 is evaluated on T''s
validation and test splits over the (λ1, λ2) grid. The best point is chosen on the mean validation
accuracy (ties: smaller hinge, then smaller ‖λ‖) and reported on test. γ̂_i = α̂(Ψ*_T', Ψ*_Ti).

Theorem 3's wedge (normals γ̂ and γ̂², one common threshold and a box) and, as controls, each
half-plane alone are fitted on the held-out seeds ``experiment.calibration_seeds`` (their own
fine-tuned models, T''s validation split, their γ̂): threshold and box maximise the overlap (IoU) with
their high-accuracy region (mean accuracy ≥ ``experiment.high_accuracy`` × that of fine-tuning on T'
directly). The reported seeds never enter the fit; the claims judge them by the wedge's precision.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.analysis import mean_std, select
from experiments.cdigits.common import (
    World,
    bookkeeping,
    own_task_rows,
    prepare,
    task_vector,
)
from experiments.config import CSetup, calibration_seeds_of, lam_grid, rates, to_container
from experiments.paper import CDIGITS_GAMMA as PAPER_GAMMA
from experiments.paper import CDIGITS_TABLE2 as PAPER_TABLE2
from experiments.theory import theorem3
from models.estimators import output_alpha
from models.grid import evaluate_grid
from models.vit_train import evaluate
from synthetic.cdigits import ColourTask

OUTPUTS = ("batch", "features")  # the α̂ estimator's outputs (experiment.estimator_output)


def measure_seed(world: World, models: dict, tasks: dict, s: int, grid: list, ev: dict, own: list):
    """One seed: T''s (λ1, λ2) grid on validation and test, the units Ψ*_T1, Ψ*_T2 and Ψ*_T' on
    test ((acc, hinge) each), and γ̂_i = α̂(Ψ*_T', Ψ*_Ti) per output."""
    tvs = [task_vector(world, models[(n, s)][0]) for n in ("T1", "T2")]
    data = {
        "val": world.data(tasks["T'"], "val", s),
        "test": world.data(tasks["T'"], "test", s),
    }
    res = evaluate_grid(world.psi0, tvs, grid, data, memory_mb=ev["memory_mb"])
    unit = evaluate_grid(world.psi0, tvs, [[1.0, 0.0], [0.0, 1.0]], {"t": data["test"]})["t"]
    f = next(o for o in own if o["task"] == "T'" and o["seed"] == s)
    units = {
        "psi_T1": (unit["acc"][0], unit["hinge"][0]),
        "psi_T2": (unit["acc"][1], unit["hinge"][1]),
        "finetuned": (f["accuracy"], f["hinge"]),
    }
    mt = models[("T'", s)][0]
    gh: dict[str, list[float]] = {out: [] for out in OUTPUTS}
    for n in ("T1", "T2"):
        x = torch.cat([data["test"][0], world.data(tasks[n], "test", s)[0]])
        for out in OUTPUTS:
            gh[out].append(output_alpha(mt, models[(n, s)][0], x, output=out))
    return res, units, gh


def best_and_table2(l1, l2, V: dict, T: dict, units: dict, n_seeds: int) -> tuple[dict, dict]:
    """The best point on the mean validation accuracy (ties: lower hinge, then smaller ‖λ‖),
    reported on test, and Table 2 (units and best, mean ± std over seeds and per seed)."""
    i, j = select(-V["acc"].mean(0), -V["hinge"].mean(0), l1, l2)
    best = {
        "lambda1": float(l1[i]),
        "lambda2": float(l2[j]),
        "test_acc": float(T["acc"][:, i, j].mean()),
        "test_acc_std": float(T["acc"][:, i, j].std(ddof=1)) if n_seeds > 1 else 0.0,
        "test_hinge": float(T["hinge"][:, i, j].mean()),
    }
    table2 = {
        k: {
            "acc": mean_std([a for a, _ in v]),
            "hinge": mean_std([h for _, h in v]),
            "acc_per_seed": [float(a) for a, _ in v],
        }
        for k, v in units.items()
    }
    table2["best"] = {
        "acc": mean_std(T["acc"][:, i, j].tolist()),
        "hinge": mean_std(T["hinge"][:, i, j].tolist()),
        "acc_per_seed": T["acc"][:, i, j].tolist(),
    }
    return best, table2


def measure_all(world, models, tasks, setup, l1, l2, ev, own, progress):
    """Every seed's grids stacked: (V, T) {"acc", "hinge"} of shape (S, len(l1), len(l2)), the
    units per Table 2 row, and γ̂ per output: [[γ̂1 per seed], [γ̂2 per seed]]."""
    grid = [[float(a), float(b)] for a in l1 for b in l2]
    val, test = {"acc": [], "hinge": []}, {"acc": [], "hinge": []}
    units = {"psi_T1": [], "psi_T2": [], "finetuned": []}
    gh = {out: [[], []] for out in OUTPUTS}
    for s in tqdm(setup.seeds, desc="cdigits ood: (λ1, λ2) grids", disable=not progress):
        res, u, g = measure_seed(world, models, tasks, s, grid, ev, own)
        for part, store in (("val", val), ("test", test)):
            for k in ("acc", "hinge"):
                store[k].append(res[part][k].reshape(len(l1), len(l2)))
        for k in units:
            units[k].append(u[k])
        for out in OUTPUTS:
            for i in (0, 1):
                gh[out][i].append(g[out][i])
    V = {k: np.stack(v) for k, v in val.items()}
    T = {k: np.stack(v) for k, v in test.items()}
    return V, T, units, gh


def calibrate(world: World, tasks: dict, exp: dict, l1, l2, ev: dict, progress: bool) -> dict:
    """The held-out seeds: their Ψ*_T1, Ψ*_T2, Ψ*_T' and T''s validation grid, γ̂ on validation
    data, and the wedge (and each half-plane alone) fitted to their high-accuracy region."""
    seeds, out = calibration_seeds_of(exp), exp["estimator_output"]
    grid = [[float(a), float(b)] for a in l1 for b in l2]
    acc, own, gh = [], [], [[], []]
    for s in tqdm(seeds, desc="cdigits ood: held-out seeds", disable=not progress):
        m = {n: world.finetuned(t, s, progress=progress)[0] for n, t in tasks.items()}
        tvs = [task_vector(world, m[n]) for n in ("T1", "T2")]
        val = world.data(tasks["T'"], "val", s)
        res = evaluate_grid(world.psi0, tvs, grid, {"v": val}, memory_mb=ev["memory_mb"])["v"]
        acc.append(res["acc"].reshape(len(l1), len(l2)))
        own.append(evaluate(m["T'"], *val)["accuracy"])
        for i, n in enumerate(("T1", "T2")):
            x = torch.cat([val[0], world.data(tasks[n], "val", s)[0]])
            gh[i].append(output_alpha(m["T'"], m[n], x, output=out))
    g = [float(np.mean(v)) for v in gh]
    high = exp["high_accuracy"] * float(np.mean(own))
    measured = np.mean(acc, 0) >= high
    return {
        "seeds": seeds,
        "gamma_hat": g,
        "gamma_hat_per_seed": gh,
        "finetuned_val_acc": own,
        "high_accuracy_threshold": high,
        "measured_region": measured.tolist(),
        "measured_fraction": float(measured.mean()),
        "shape": theorem3.fit_shape(l1, l2, g, measured),
        "half_planes": theorem3.fit_half_planes(l1, l2, g, measured),
    }


def compute(cfg: Any, setup: CSetup, *, progress: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = to_container(cfg)
    exp = c["experiment"]
    tasks = {
        n: ColourTask(n, *rates(f"experiment.{k}", exp[k]))
        for n, k in (("T1", "t1"), ("T2", "t2"), ("T'", "target"))
    }
    l1 = l2 = np.asarray(lam_grid(c["eval"]["lam"]))
    world, models = prepare(setup, c, tasks, progress=progress, desc="cdigits ood: fine-tuning")
    own = own_task_rows(world, models, tasks, exp["min_own_accuracy"])
    V, T, units, gh = measure_all(world, models, tasks, setup, l1, l2, c["eval"], own, progress)
    best, table2 = best_and_table2(l1, l2, V, T, units, len(setup.seeds))
    acc_mean = T["acc"].mean(0)
    gamma_hat = [mean_std(v) for v in gh[exp["estimator_output"]]]
    g = [gamma_hat[0]["mean"], gamma_hat[1]["mean"]]
    high = exp["high_accuracy"] * table2["finetuned"]["acc"]["mean"]
    measured = acc_mean >= high
    cal = calibrate(world, tasks, exp, l1, l2, c["eval"], progress)
    out: dict[str, Any] = {
        "experiment": "cdigits_ood",
        "config": c,
        "rates": {n: [t.r_odd, t.r_even] for n, t in tasks.items()},
        "lambda1": l1.tolist(),
        "lambda2": l2.tolist(),
        "acc_mean": acc_mean.tolist(),
        "hinge_mean": T["hinge"].mean(0).tolist(),
        "val_acc_mean": V["acc"].mean(0).tolist(),
        "best": best,
        "table2": table2,
        "paper_table2": PAPER_TABLE2,
        "gamma_hat": gamma_hat,
        "gamma_hat_values": g,
        "gamma_hat_per_seed": gh[exp["estimator_output"]],
        "per_seed_acc": T["acc"].tolist(),
        "gamma_hat_by_output": {k: [mean_std(x) for x in v] for k, v in gh.items()},
        "paper_gamma": PAPER_GAMMA,
        "high_accuracy": exp["high_accuracy"],
        "high_accuracy_threshold": high,
        "measured_region": measured.tolist(),
        "calibration": cal,
        "region": {  # fitted on the held-out seeds (``calibration``); judged on the reported ones
            "gamma_hat": cal["gamma_hat"],
            "shape": cal["shape"],
            "half_planes": cal["half_planes"],
            "measured_fraction": float(measured.mean()),
        },
        "own_task": own,
        "flagged_runs": [o for o in own if o["flagged"]],
        **bookkeeping(world),
        "tables": {"table2": table2_table(table2)},
        "line_plots": [],
        "wall_seconds": time.perf_counter() - t0,
    }
    out["one_line"] = one_line(out)
    return out


def table2_table(table2: dict) -> dict[str, Any]:
    return {
        "columns": ["model", "acc_mean", "acc_std", "paper_acc"],
        "rows": [
            [k, v["acc"]["mean"], v["acc"]["std"], PAPER_TABLE2.get(k)] for k, v in table2.items()
        ],
    }


def one_line(m: dict) -> str:
    best, t2, g = m["best"], m["table2"], m["gamma_hat_values"]
    b1, b2, bb = (t2[k]["acc"]["mean"] for k in ("psi_T1", "psi_T2", "best"))
    return (
        f"T' best ({best['lambda1']:.1f}, {best['lambda2']:.1f}) {100 * bb:.1f}% vs Ψ*_T1 {100 * b1:.1f}%, "
        f"Ψ*_T2 {100 * b2:.1f}%; γ̂ = ({g[0]:.2f}, {g[1]:.2f}); {m['wall_seconds']:.1f}s"
    )
