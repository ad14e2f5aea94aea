"""A task: a discriminative pattern, the shared irrelevant patterns and the token recipe."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import torch

from synthetic.patterns import Geometry
from synthetic.runtime import generator
from synthetic.sampler import TaskBatch, TokenConfig, check_task_fits, sample_task


@dataclass(frozen=True)
class Task:
    name: str
    mu: torch.Tensor  # (d,)
    irrelevant: torch.Tensor  # (M, d)
    tokens: TokenConfig

    @property
    def d(self) -> int:
        return self.mu.shape[0]

    def sample(self, n: int, g: torch.Generator) -> TaskBatch:
        return sample_task(self.mu, self.irrelevant, n, self.tokens, g)

    def sample_seeded(self, n: int, seed: int) -> TaskBatch:
        """n samples from a fresh generator seeded with ``seed`` on the task's device."""
        return self.sample(n, generator(seed, self.mu.device))

    def fingerprint(self) -> str:
        """A hash of everything that determines this task's distribution (not its name)."""
        h = hashlib.sha256()
        for t in (self.mu, self.irrelevant):
            h.update(t.detach().to("cpu", torch.float64).contiguous().numpy().round(12).tobytes())
        h.update(repr(sorted(asdict(self.tokens).items())).encode())
        return h.hexdigest()[:16]


def make_task(geometry: Geometry, name: str, tokens: TokenConfig) -> Task:
    check_task_fits(tokens, geometry)
    return Task(name=name, mu=geometry.mu(name), irrelevant=geometry.irrelevant, tokens=tokens)


def make_tasks(geometry: Geometry, tokens: TokenConfig) -> dict[str, Task]:
    return {name: make_task(geometry, name, tokens) for name in geometry.tasks}
