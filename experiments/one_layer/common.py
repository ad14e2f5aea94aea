"""The one-layer testbed's shared steps: seeds → Ψ0s and fine-tuned models (through the cache), test
sets, λ-grid evaluation of Ψ0 + ΔΨ_T1 + λ ΔΨ_T2, and wandb-ready tables of the training histories."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from experiments.config import Setup
from experiments.theory.scope import hypotheses
from models.cache import ModelCache
from models.grid import evaluate_grid, grid_1d
from models.task_vectors import TaskVector
from models.training import FinetuneResult
from models.transformer import OneLayerTransformer, pretrained_model
from synthetic.runtime import derive_seed
from synthetic.sampler import TaskBatch
from synthetic.tasks import Task


def psi0_for_seed(setup: Setup, seed: int) -> OneLayerTransformer:
    """Ψ0 of seed s: the model config's seed shifted by s."""
    return pretrained_model(
        replace(setup.model, seed=setup.model.seed + seed), device=setup.device, dtype=setup.dtype
    )


def train_seed(task_name: str, seed: int) -> int:
    """The training-stream seed of (task, s): shared by every experiment, so the cache reuses models."""
    return derive_seed("finetune", task_name, seed)


def test_set(task: Task, n: int, seed: int) -> TaskBatch:
    return task.sample_seeded(n, derive_seed("test", task.name, seed))


def hypotheses_of(setup: Setup, eps: float, steps: Sequence[float]) -> dict[str, float]:
    """The theorems' hypotheses (``experiments.theory.scope.hypotheses``) for this setup; ``steps``: the
    SGD steps each fine-tuning run took (their mean is t)."""
    M = setup.n_irrelevant if setup.n_irrelevant is not None else setup.d - 2
    return hypotheses(
        m=setup.model.width,
        M=M,
        batch=setup.train.batch_size,
        eps=eps,
        lr=setup.train.lr,
        delta_star=setup.tokens.delta_star,
        steps=float(np.mean(steps)),
    )


@dataclass
class Trained:
    results: dict[tuple, FinetuneResult]
    requested: int
    trained: int
    seconds: float


def train_all(
    jobs: dict[tuple, tuple[OneLayerTransformer, Task, str, int]],
    setup: Setup,
    cache: ModelCache,
    *,
    batched: bool | str,
    progress: bool,
) -> Trained:
    """Fine-tune every job (key -> (Ψ0, task, task name for the seed, seed)) through the cache."""
    keys = list(jobs)
    requests = [
        (p, t, replace(setup.train, seed=train_seed(name, s))) for p, t, name, s in jobs.values()
    ]
    before = cache.stats.trained
    t0 = time.perf_counter()
    out = cache.finetune_many(requests, batched=batched, progress=progress)
    return Trained(
        results=dict(zip(keys, out, strict=True)),
        requested=len(requests),
        trained=cache.stats.trained - before,
        seconds=time.perf_counter() - t0,
    )


def train_jobs(
    c: dict,
    setup: Setup,
    jobs: dict[tuple, tuple[OneLayerTransformer, Task, str, int]],
    *,
    progress: bool,
    cache: ModelCache | None = None,
) -> Trained:
    """``train_all`` with the run's cache (``cache_dir``, unless one is given) and ``batched`` setting."""
    cache = cache if cache is not None else ModelCache(c.get("cache_dir"))
    return train_all(jobs, setup, cache, batched=c.get("batched", "auto"), progress=progress)


def train_pair(
    c: dict,
    setup: Setup,
    tasks: dict[str, Task],
    seeds: Sequence[int],
    *,
    progress: bool,
    cache: ModelCache | None = None,
) -> tuple[dict[int, OneLayerTransformer], Trained]:
    """Ψ0 of every seed and every task fine-tuned from it; jobs keyed (seed, task name)."""
    psi0s = {s: psi0_for_seed(setup, s) for s in seeds}
    jobs = {(s, n): (psi0s[s], tasks[n], n, s) for s in seeds for n in tasks}
    return psi0s, train_jobs(c, setup, jobs, progress=progress, cache=cache)


def lambda_curves(
    psi0: OneLayerTransformer,
    tv1: TaskVector,
    tv2: TaskVector,
    lams: Sequence[float],
    data: dict[str, TaskBatch],
    memory_mb: float,
) -> dict[str, dict[str, np.ndarray]]:
    """Accuracy and mean hinge of Ψ0 + ΔΨ1 + λ ΔΨ2 on each test set, for every λ: {task: {acc, hinge}}."""
    res = evaluate_grid(
        psi0, [tv1, tv2], grid_1d(torch.tensor(lams), fixed=[1.0]), data, memory_mb=memory_mb
    )
    return {n: {"acc": res.accuracy[n].numpy(), "hinge": res.hinge[n].numpy()} for n in data}


def history_rows(results: dict[tuple, FinetuneResult], label) -> list[list[Any]]:
    """Rows (run, step, val_hinge, val_accuracy, attention) of every training history, for wandb."""
    rows = []
    for key, res in results.items():
        h = res.history
        for i, step in enumerate(h.step):
            rows.append(
                [
                    label(key),
                    step,
                    h.val_hinge[i],
                    h.val_accuracy[i],
                    h.attention_on_discriminative[i],
                ]
            )
    return rows


HISTORY_COLUMNS = ["run", "step", "val_hinge", "val_accuracy", "attention_on_discriminative"]


def training_curves(trained: Trained, title: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The wandb table of every (seed, task) training history and its validation-hinge line plot."""
    table = {
        "columns": HISTORY_COLUMNS,
        "rows": history_rows(trained.results, lambda k: f"{k[1]}/seed{k[0]}"),
    }
    plot = {
        "table": "training_curves",
        "x": "step",
        "y": "val_hinge",
        "stroke": "run",
        "title": title,
    }
    return table, plot
