"""The data of one fine-tuning run (``models.training``): its training stream and validation set.

Online batches are drawn ``ceil(4096 / B)`` steps at a time from the run's generator (one sampler
call per block, not per step); the stream depends only on the seed and B, never on how many runs
are trained together. The validation set has its own seed, derived from the training seed.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from models.config import TrainConfig
from synthetic.runtime import derive_seed, generator
from synthetic.sampler import TaskBatch
from synthetic.tasks import Task

BLOCK_SAMPLES = 4096  # online data are drawn this many samples (whole steps) at a time


def stream(task: Task, cfg: TrainConfig, g: torch.Generator) -> Iterator[TaskBatch]:
    """The training batches of one run, in order (see the module docstring for the block scheme)."""
    if cfg.mode == "online":
        per_block = max(1, BLOCK_SAMPLES // cfg.batch_size)
        left = cfg.n_steps
        while left > 0:
            k = min(per_block, left)
            block = task.sample(k * cfg.batch_size, g)
            for i in range(k):
                yield block[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            left -= k
        return
    data = task.sample(cfg.n_train, g)
    for _ in range(cfg.n_epochs):
        order = torch.randperm(cfg.n_train, generator=g, device=data.y.device)
        for start in range(0, cfg.n_train, cfg.batch_size):
            yield data[order[start : start + cfg.batch_size]]


def validation_set(task: Task, cfg: TrainConfig) -> TaskBatch:
    """The fixed validation set of a run: its own seed, derived from the training seed."""
    return task.sample_seeded(cfg.n_val, derive_seed("validation", cfg.seed))


def train_generator(task: Task, cfg: TrainConfig) -> torch.Generator:
    """The generator of a run's training stream, on the task's device."""
    return generator(derive_seed("train", cfg.seed), task.mu.device)
