"""Sampler for a task T of the data model (theory.md §3.1, Definition 2).

One example (X, y): X holds P unit-norm tokens in R^d, y ∈ {+1, −1}.

* label-relevant tokens y·μ_T, a fraction δ* of the tokens;
* confusion tokens −y·μ_T, a fraction δ#;
* irrelevant tokens, the rest, each drawn uniformly from v_1..v_M (``irrelevant_signs="paired"``:
  from ±v_1..±v_M with a fair sign, so that their mean is 0);
* positions shuffled; labels balanced (exactly n/2 of each when n is even).

Counts: ``counts="fixed"`` uses round(δ*·P) and round(δ#·P) in every sample; ``counts="random"``
draws (n_rel, n_conf, n_irr) ~ Multinomial(P; δ*, δ#, 1−δ*−δ#) per sample and redraws the samples
that break the majority rule n_rel > n_conf (rejection, so the realised mean fractions sit slightly
above δ* and below δ#; both are recorded by ``TaskBatch.fractions``).

Optional Gaussian token noise (``noise_std`` > 0, default 0): x ← (x + σ ξ)/‖x + σ ξ‖, so tokens stay
unit-norm. Everything is drawn from one ``torch.Generator`` on the target device, vectorised over
samples (no Python loop over samples).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from synthetic.checks import ConfigError, check_int, check_positive_int
from synthetic.patterns import Geometry
from synthetic.tokens import TokenConfig

RELEVANT, CONFUSION, IRRELEVANT = 0, 1, 2
MAX_REJECTION_ROUNDS = 1000


@dataclass(frozen=True)
class TaskBatch:
    """n samples: tokens X (n, P, d), labels y (n,) in {+1, −1}, token kinds (n, P) in {0, 1, 2}."""

    X: torch.Tensor
    y: torch.Tensor
    kind: torch.Tensor  # RELEVANT=0, CONFUSION=1, IRRELEVANT=2

    def __len__(self) -> int:
        return self.y.shape[0]

    @property
    def discriminative(self) -> torch.Tensor:
        """Boolean (n, P): the token is ±μ_T (label-relevant or confusion)."""
        return self.kind != IRRELEVANT

    def fractions(self) -> dict[str, float]:
        """Realised fractions of each token kind over the whole batch."""
        total = self.kind.numel()
        return {
            "relevant": (self.kind == RELEVANT).sum().item() / total,
            "confusion": (self.kind == CONFUSION).sum().item() / total,
            "irrelevant": (self.kind == IRRELEVANT).sum().item() / total,
        }

    def __getitem__(self, idx: slice | torch.Tensor) -> TaskBatch:
        return TaskBatch(self.X[idx], self.y[idx], self.kind[idx])

    def to(self, device: torch.device | str) -> TaskBatch:
        if self.X.device == torch.device(device):
            return self
        return TaskBatch(self.X.to(device), self.y.to(device), self.kind.to(device))


def _balanced_labels(
    n: int, g: torch.Generator, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    y = torch.ones(n, device=device, dtype=dtype)
    y[n // 2 :] = -1.0
    if n % 2:  # the odd sample gets a random label
        y[-1] = 1.0 if torch.rand((), generator=g, device=device) < 0.5 else -1.0
    return y[torch.randperm(n, generator=g, device=device)]


def _random_counts(
    n: int, cfg: TokenConfig, g: torch.Generator, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (n_rel, n_conf) from the multinomial, resampling rows that break the majority rule."""
    probs = torch.tensor(
        [cfg.delta_star, cfg.delta_conf, max(0.0, 1.0 - cfg.delta_star - cfg.delta_conf)],
        device=device,
        dtype=torch.float64,
    )
    P = cfg.n_tokens
    n_rel = torch.empty(n, dtype=torch.long, device=device)
    n_conf = torch.empty(n, dtype=torch.long, device=device)
    todo = torch.arange(n, device=device)
    for _ in range(MAX_REJECTION_ROUNDS):
        if todo.numel() == 0:
            return n_rel, n_conf
        kinds = torch.multinomial(probs.expand(todo.numel(), 3), P, replacement=True, generator=g)
        r = (kinds == RELEVANT).sum(1)
        c = (kinds == CONFUSION).sum(1)
        ok = r > c
        n_rel[todo[ok]] = r[ok]
        n_conf[todo[ok]] = c[ok]
        todo = todo[~ok]
    raise ConfigError(
        f"data.delta_star={cfg.delta_star!r}, data.delta_conf={cfg.delta_conf!r} is invalid with "
        f"data.counts='random': the majority rule failed in {MAX_REJECTION_ROUNDS} redraws; widen δ* − δ#"
    )


def sample_task(
    mu: torch.Tensor,
    irrelevant: torch.Tensor,
    n: int,
    cfg: TokenConfig,
    g: torch.Generator,
) -> TaskBatch:
    """Draw n samples of the task with discriminative pattern ``mu`` (d,) and irrelevant patterns (M, d).

    Tensors are created on ``mu``'s device and dtype; ``g`` must live on the same device.
    """
    n = check_positive_int("n_samples", n)
    device, dtype = mu.device, mu.dtype
    P = cfg.n_tokens
    if cfg.needs_irrelevant and irrelevant.shape[0] < 1:
        raise ConfigError(
            "data.n_irrelevant=0 is invalid: irrelevant tokens are requested, need >= 1 pattern"
        )

    y = _balanced_labels(n, g, device, dtype)

    # Token kinds before shuffling: [relevant]*n_rel + [confusion]*n_conf + [irrelevant]*rest.
    if cfg.counts == "fixed":
        r, c = cfg.fixed_counts
        n_rel = torch.full((n,), r, device=device, dtype=torch.long)
        n_conf = torch.full((n,), c, device=device, dtype=torch.long)
    else:
        n_rel, n_conf = _random_counts(n, cfg, g, device)
    pos = torch.arange(P, device=device).expand(n, P)
    kind = torch.full((n, P), IRRELEVANT, device=device, dtype=torch.long)
    kind[pos < (n_rel + n_conf).unsqueeze(1)] = CONFUSION
    kind[pos < n_rel.unsqueeze(1)] = RELEVANT
    # Shuffle positions independently per sample: argsort of uniform noise is a uniform permutation.
    perm = torch.rand(n, P, generator=g, device=device).argsort(dim=1)
    kind = torch.gather(kind, 1, perm)

    sign = torch.where(kind == RELEVANT, 1.0, torch.where(kind == CONFUSION, -1.0, 0.0)).to(dtype)
    X = (sign * y.unsqueeze(1)).unsqueeze(-1) * mu  # ±y·μ on discriminative positions, 0 elsewhere
    if irrelevant.shape[0] > 0:
        idx = torch.randint(irrelevant.shape[0], (n, P), generator=g, device=device)
        irr = irrelevant[idx]
        if cfg.irrelevant_signs == "paired":  # ±v_j: the mean irrelevant token is 0
            flip = torch.randint(2, (n, P, 1), generator=g, device=device).to(dtype) * 2 - 1
            irr = irr * flip
        X = X + (kind == IRRELEVANT).unsqueeze(-1).to(dtype) * irr
    if cfg.noise_std > 0:
        X = X + cfg.noise_std * torch.randn(X.shape, generator=g, device=device, dtype=dtype)
        X = X / X.norm(dim=-1, keepdim=True)
    return TaskBatch(X=X, y=y, kind=kind.to(torch.int8))


def check_task_fits(cfg: TokenConfig, geometry: Geometry) -> None:
    """Raise before any work when the geometry cannot supply the tokens the config asks for."""
    check_int("data.n_irrelevant", geometry.n_irrelevant, minimum=1 if cfg.needs_irrelevant else 0)
