"""Experiment ``gradients_vit``: the gradient paper (gradients.md) on the pre-trained coloured-digits ViT.

Several binary tasks on the same digits (``synthetic.digit_tasks``; shared inputs, gradients.md §7.1)
share Ψ0's body; each task has its own frozen 2-class head (drawn once per task, like a frozen
zero-shot head), and task vectors run over the body only. Per seed (the seed sets the digits' colours
and the minibatch order):

1. every task is fine-tuned for ``epochs`` epochs with plain SGD and with Adam (constant step,
   batch ``batch_size``, logistic loss), keeping the body after every epoch (``models.vit_multi``);
2. first-epoch dominance (``gradients_vit_dominance``): update-norm shares, the normalised
   minibatch-gradient norm, cosines, the convergence epoch;
3. merging (``gradients_vit_merge``): 1-epoch, 10-epoch, converged and fraction-of-budget vectors,
   mean and validation-tuned task arithmetic, over task sets;
4. exactness in float64 (``gradients_vit_exact``).

The claims rows are ``experiments.claims.gradients_vit``; the figures ``plots.cdigits.gradients_vit``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.cdigits.common import bookkeeping, build_world
from experiments.cdigits.gradients_vit_dominance import dominance_summary, run_dominance
from experiments.cdigits.gradients_vit_exact import exactness_seed
from experiments.cdigits.gradients_vit_merge import Scorer, fraction_kind, merge_seed
from experiments.cdigits.gradients_vit_merge_summary import fraction_table, merge_summary
from experiments.config import CSetup, to_container
from experiments.paper import GRADIENTS_GRAD_NORM, GRADIENTS_MERGE_AVG, GRADIENTS_MERGE_FRACTIONS
from models.vit import init_head
from models.vit_multi import stack_heads, train_tasks
from synthetic.digit_tasks import TASKS, DigitTask, task_data
from synthetic.runtime import derive_seed

OPTIMIZERS = ("sgd", "adam")
MULTI_KEYS = ("error", "predicted", "ratio", "residual", "relative", "hg_drift")


def task_heads(cfg, names: list[str], device) -> list[dict[str, torch.Tensor]]:
    """One frozen 2-class head per task, drawn once per (task name, model seed)."""
    seeds = [derive_seed("gradients_vit-head", n, cfg.seed) for n in names]
    return [{k: v.to(device) for k, v in init_head(cfg, 2, s).items()} for s in seeds]


def seed_data(world, tasks: list[DigitTask], exp: dict, seed: int) -> dict[str, tuple]:
    """Split -> (shared images, labels (T, n)): the first n_train / n_eval digits of each split."""
    out = {}
    for split, n in (("train", exp["n_train"]), ("val", exp["n_eval"]), ("test", exp["n_eval"])):
        idx = world.splits[split][:n]
        x, Y = task_data(world.digits.images[idx], world.digits.labels[idx], tasks, split, seed)
        out[split] = (torch.from_numpy(x).to(world.device), torch.from_numpy(Y).to(world.device))
    return out


def multi_epoch_table(exact: list[dict]) -> list[dict[str, float]]:
    """Mean over seeds of each (η, k) row."""
    rows: dict[tuple, list[dict]] = {}
    for e in exact:
        for r in e["rows"]:
            rows.setdefault((r["lr"], r["k"]), []).append(r)
    return [
        {"lr": lr, "k": k, **{m: float(np.mean([r[m] for r in rs])) for m in MULTI_KEYS}}
        for (lr, k), rs in sorted(rows.items())
    ]


def _one_seed(world, setup: CSetup, names, heads, exp, seed, progress) -> tuple[dict, dict, dict]:
    """Both optimisers' runs of one seed: dominance per optimiser, merges, exactness."""
    tasks, stacked = [TASKS[n] for n in names], stack_heads(heads)
    data, dom, merges = seed_data(world, tasks, exp, seed), {}, {}
    score = {s: Scorer(setup.vit, world.psi0.body, stacked, *data[s]) for s in ("val", "test")}
    for opt in OPTIMIZERS:
        run = train_tasks(
            setup.vit,
            world.psi0.body,
            stacked,
            data["train"],
            data["val"],
            optimizer=opt,
            lr=exp[f"{opt}_lr"],
            batch_size=exp["batch_size"],
            epochs=exp["epochs"],
            seed=derive_seed("gradients_vit-order", seed),
            progress=progress,
        )
        dom[opt] = run_dominance(run, names, exp["conv_tol"])
        if opt in exp["merge_optimizers"]:
            conv = [dom[opt][n]["converged_epoch"] for n in names]
            merges[opt] = merge_seed(run, conv, exp, seed, score["val"], score["test"])
    exact = exactness_seed(setup.vit, world.psi0.body, heads, *data["train"], exp)
    return dom, merges, exact


def compute(cfg: Any, setup: CSetup, *, progress: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    c = to_container(cfg)
    exp, names = c["experiment"], list(c["experiment"]["tasks"])
    world = build_world(setup, c.get("cache_dir"), progress=progress)
    heads = task_heads(setup.vit, names, world.device)
    dom: dict[str, list] = {o: [] for o in OPTIMIZERS}
    merges: dict[str, list] = {o: [] for o in exp["merge_optimizers"]}
    exact = []
    for seed in tqdm(setup.seeds, desc="gradients_vit: seeds", disable=not progress):
        d, m, e = _one_seed(world, setup, names, heads, exp, seed, progress)
        for o in OPTIMIZERS:
            dom[o].append(d[o])
        for o in merges:
            merges[o].append(m[o])
        exact.append(e)
    return assemble(c, names, world, dom, merges, exact, time.perf_counter() - t0)


EXACT_KEYS = ("one_task_rel_error", "mean_of_tasks_rel_error", "grad_norm", "Hg_norm", "rows")


def reference() -> dict[str, Any]:
    """The reference values of gradients.md §5 (a)-(c), copied into the results for plots and report."""
    return {
        "grad_norm": {k: {"epochs": v[0], "values": v[1]} for k, v in GRADIENTS_GRAD_NORM.items()},
        "merge_avg": GRADIENTS_MERGE_AVG,
        "merge_fractions": GRADIENTS_MERGE_FRACTIONS,
    }


def _setup_part(c, names, world) -> dict[str, Any]:
    exp = c["experiment"]
    rules = {
        n: {"digits": list(TASKS[n].digits), "xor_red": TASKS[n].xor_red, "why": TASKS[n].why}
        for n in names
    }
    sizes = {
        s: min(len(world.splits[s]), exp["n_eval" if s != "train" else "n_train"])
        for s in ("train", "val", "test")
    }
    pre = {k: v for k, v in world.pretrain_meta.items() if k != "train_loss"}
    return {
        "experiment": "gradients_vit",
        "config": c,
        "tasks": names,
        "task_rules": rules,
        "split_sizes": sizes,
        "pretrain": pre,
    }


def assemble(c, names, world, dom, merges, exact, wall) -> dict[str, Any]:
    exp = c["experiment"]
    dominance = {o: dominance_summary(dom[o], exp["epochs"]) for o in dom}
    merging = {o: merge_summary(merges[o]) for o in merges}
    first = exp["merge_optimizers"][0]
    keys = ("acc_mean", "normalized_acc_mean", "normalized_acc_same_mean", "loss_mean")
    merge = {
        k: {q: v[q] for q in keys}
        for k, v in merging[first]["mean"].items()
        if k in ("1_epoch", "10_epochs", "converged")
    }
    ex1 = max(e["one_task_rel_error"] for e in exact)
    out = {
        **_setup_part(c, names, world),
        "epoch_shares": {
            o: {t: d["tasks"][t]["shares"] for t in names} for o, d in dominance.items()
        },
        "normalized_grad_norm": {
            o: {t: d["tasks"][t]["grad_norm"] for t in names} for o, d in dominance.items()
        },
        "dominance": dominance,
        "merge_optimizer": first,
        "merge": merge,
        "merging": merging,
        "merge_fractions": {
            o: fraction_table(m, exp["fractions"], fraction_kind) for o, m in merging.items()
        },
        "exactness": [{k: e[k] for k in EXACT_KEYS} for e in exact],
        "exactness_rel_err": ex1,
        "multi_epoch": multi_epoch_table(exact),
        "reference": reference(),
        **bookkeeping(world),
        "line_plots": [],
        "wall_seconds": wall,
    }
    out["tables"] = tables(out)
    s1 = {o: np.mean([d["tasks"][t]["shares"][0] for t in names]) for o, d in dominance.items()}
    gap = np.mean(merging[first]["gap"]["mean"]["per_seed"])
    out["one_line"] = (
        f"epoch-1 share SGD {s1['sgd']:.3f}, Adam {s1['adam']:.3f}; merge gap "
        f"{gap:+.1f} points; exactness {ex1:.1e}; {wall:.1f}s"
    )
    return out


def tables(m: dict) -> dict[str, Any]:
    """wandb tables: per (optimiser, task, epoch) the shares; the merge table."""
    shares = [
        [o, t, e + 1, s, m["normalized_grad_norm"][o][t][e]]
        for o, d in m["epoch_shares"].items()
        for t, v in d.items()
        for e, s in enumerate(v)
    ]
    merge = [
        [k, v["acc_mean"], v["normalized_acc_mean"], v["normalized_acc_same_mean"], v["loss_mean"]]
        for k, v in m["merge"].items()
    ]
    return {
        "epoch_shares": {
            "columns": ["optimizer", "task", "epoch", "update_share", "normalized_grad_norm"],
            "rows": shares,
        },
        "merge": {
            "columns": ["kind", "acc", "normalized_acc", "normalized_acc_same", "loss"],
            "rows": merge,
        },
    }
