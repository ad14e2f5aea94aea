"""Fine-tuning Ψ0 on one task with plain SGD (theory.md §4.7), and evaluation.

Plain SGD: θ ← θ − η ∇L(θ), no momentum, no weight decay; only the trainable weights move, the
readout stays fixed. Two data regimes:

* ``mode="online"`` (the theory's): a fresh batch of B samples at every step, for at most
  ``n_steps`` steps;
* ``mode="epochs"``: a fixed training set of ``n_train`` samples, shuffled each epoch, split into
  batches of B (the last one may be smaller), for ``n_epochs`` epochs.

Training stops early when the validation hinge loss, checked every ``eval_every`` steps, is at most
``eps`` (``eps=0`` disables it). A non-finite loss raises ``FloatingPointError`` naming the step and η.

One engine trains S ≥ 1 independent models at once (``finetune_many``): the parameters carry a
leading model dimension, every product runs as one batched matmul over the S models, and each model
keeps its own data stream, validation set, learning rate and early stopping (a stopped model is
frozen). ``finetune`` is the S = 1 case, so a batched run and S single runs execute the same steps
and differ only by floating-point rounding of the batched products.

Data streams: online batches are drawn ``ceil(4096 / B)`` steps at a time from the run's generator
(one sampler call per block, not per step); the stream depends only on the seed and B, never on S.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import torch
from tqdm.auto import tqdm

from models.config import LOSSES, TrainConfig  # noqa: F401  (re-exported)
from models.transformer import OneLayerTransformer, forward_stacked
from synthetic.runtime import derive_seed, generator
from synthetic.sampler import TaskBatch
from synthetic.tasks import Task

BLOCK_SAMPLES = 4096  # online data are drawn this many samples (whole steps) at a time


def hinge(margin: torch.Tensor) -> torch.Tensor:
    """max(0, 1 − y f) per sample, given the margin y f."""
    return torch.clamp(1.0 - margin, min=0.0)


def logistic(margin: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(−y f)) per sample."""
    return torch.nn.functional.softplus(-margin)


def loss_fn(name: str):
    return {"hinge": hinge, "logistic": logistic}[name]


@dataclass
class History:
    """Curves recorded every ``eval_every`` steps (and at step 0 and the last step)."""

    step: list[int] = field(default_factory=list)
    # mean training loss since the previous record (NaN at step 0)
    train_loss: list[float] = field(default_factory=list)
    # training-batch loss of every step 1..steps_run
    step_loss: list[float] = field(default_factory=list)
    val_hinge: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    attention_on_discriminative: list[float] = field(default_factory=list)
    stopped_early: bool = False
    steps_run: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FinetuneResult:
    model: OneLayerTransformer
    history: History


@torch.no_grad()
def evaluate(model: OneLayerTransformer, batch: TaskBatch, chunk: int = 8192) -> dict[str, float]:
    """Mean hinge loss, mean logistic loss, 0-1 accuracy (f = 0 counts as wrong) and attention mass.

    ``attention_on_discriminative`` is the softmax mass that queries put on ±μ_T tokens, averaged over
    queries and samples.
    """
    totals = {"hinge": 0.0, "logistic": 0.0, "accuracy": 0.0, "attention_on_discriminative": 0.0}
    n = len(batch)
    for start in range(0, n, chunk):
        part = batch[start : start + chunk].to(model.device)
        X, y = part.X.to(model.dtype), part.y.to(model.dtype)
        f = model(X)
        margin = y * f
        totals["hinge"] += hinge(margin).sum().item()
        totals["logistic"] += logistic(margin).sum().item()
        totals["accuracy"] += (torch.sign(f) == y).sum().item()
        attn = model.attention(X)
        mass = (attn * part.discriminative.unsqueeze(1).to(attn.dtype)).sum(-1).mean(-1)
        totals["attention_on_discriminative"] += mass.sum().item()
    return {k: v / n for k, v in totals.items()}


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


def batch_signature(psi0: OneLayerTransformer, cfg: TrainConfig) -> tuple:
    """What runs trained together by ``finetune_many`` must share: the architecture (up to the seed),
    device and dtype of Ψ0, and the training config up to seed and learning rate."""
    return (replace(psi0.cfg, seed=0), psi0.device.type, psi0.dtype, replace(cfg, seed=0, lr=1.0))


def _check_compatible(
    psi0s: Sequence[OneLayerTransformer], tasks: Sequence[Task], cfgs: Sequence[TrainConfig]
) -> None:
    if not (len(psi0s) == len(tasks) == len(cfgs)) or not psi0s:
        raise ValueError(
            f"finetune_many needs as many models, tasks and configs (got {len(psi0s)}, {len(tasks)}, {len(cfgs)})"
        )
    ref = batch_signature(psi0s[0], cfgs[0])
    for psi0, task, cfg in zip(psi0s, tasks, cfgs, strict=True):
        if task.d != psi0.cfg.d:
            raise ValueError(
                f"task {task.name} has d={task.d} but the model has model.d={psi0.cfg.d}"
            )
        if task.tokens.n_tokens != psi0.cfg.n_tokens:
            raise ValueError(
                f"task {task.name} has data.n_tokens={task.tokens.n_tokens} but the model has "
                f"model.n_tokens={psi0.cfg.n_tokens}"
            )
        sig = batch_signature(psi0, cfg)
        if sig[:3] != ref[:3]:
            raise ValueError(
                "finetune_many: all models must share one architecture, device and dtype (seeds may differ)"
            )
        if sig[3] != ref[3]:
            raise ValueError("finetune_many: training configs may differ only in seed and lr")


@torch.no_grad()
def _evaluate_stacked(
    params, readout, val_X, val_y, val_disc
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-model validation hinge, accuracy and attention mass on ±μ tokens (each of shape (S,))."""
    f, attn = forward_stacked(params, readout, val_X, with_attention=True)
    margin = val_y * f
    mass = (attn * val_disc.unsqueeze(2)).sum(-1).mean(-1)
    return hinge(margin).mean(1), (torch.sign(f) == val_y).to(f.dtype).mean(1), mass.mean(1)


def finetune_many(
    psi0s: Sequence[OneLayerTransformer],
    tasks: Sequence[Task],
    cfgs: Sequence[TrainConfig],
    *,
    progress: bool = False,
    desc: str = "finetune",
) -> list[FinetuneResult]:
    """Fine-tune S models at once: copy s of ``psi0s[s]`` on ``tasks[s]`` with ``cfgs[s]``.

    The S runs are independent (own data stream, validation set, lr, early stop) and each equals a
    single run with the same seed up to float rounding. Configs may differ only in seed and lr;
    models only in seed. Nothing passed in is modified.
    """
    _check_compatible(psi0s, tasks, cfgs)
    S, cfg0 = len(psi0s), cfgs[0]
    device, dtype = psi0s[0].device, psi0s[0].dtype
    names = list(psi0s[0].cfg.param_names)
    params = {
        n: torch.stack([m.params[n].detach() for m in psi0s]).clone().requires_grad_(True)
        for n in names
    }
    readout = torch.stack([m.readout for m in psi0s])
    lr = torch.tensor([c.lr for c in cfgs], device=device, dtype=dtype)
    vals = [validation_set(t, c).to(device) for t, c in zip(tasks, cfgs, strict=True)]
    val_X = torch.stack([v.X for v in vals]).to(dtype)
    val_y = torch.stack([v.y for v in vals]).to(dtype)
    val_disc = torch.stack([v.discriminative for v in vals]).to(dtype)
    streams = [stream(t, c, train_generator(t, c)) for t, c in zip(tasks, cfgs, strict=True)]
    lossf = loss_fn(cfg0.loss)
    hists = [History() for _ in range(S)]
    active = torch.ones(S, dtype=torch.bool, device=device)
    window: list[torch.Tensor] = []  # per-step losses (S,) since the last record
    window_start = 1

    def record(step: int) -> None:
        nonlocal window, window_start
        if window:
            losses = torch.stack(window)  # (steps, S)
            bad = ~torch.isfinite(losses) & active.unsqueeze(0)
            if bad.any():
                i, s = (int(v) for v in bad.nonzero()[0])
                raise FloatingPointError(
                    f"non-finite training loss ({losses[i, s].item()}) at step {window_start + i} with "
                    f"train.lr={cfgs[s].lr} (model {s} of {S}, train.seed={cfgs[s].seed}); lower the learning rate"
                )
            train_loss = losses.mean(0).tolist()
            per_step = losses.T.tolist()
        else:
            train_loss = [float("nan")] * S
            per_step = [[] for _ in range(S)]
        vh, va, vm = (
            t.tolist() for t in _evaluate_stacked(params, readout, val_X, val_y, val_disc)
        )
        for s in range(S):
            if not active[s]:
                continue
            h = hists[s]
            h.step.append(step)
            h.train_loss.append(train_loss[s])
            h.step_loss.extend(per_step[s])
            h.val_hinge.append(vh[s])
            h.val_accuracy.append(va[s])
            h.attention_on_discriminative.append(vm[s])
            h.steps_run = step
            if step > 0 and cfg0.eps > 0 and vh[s] <= cfg0.eps:
                h.stopped_early = step < cfg0.total_steps
                active[s] = False
        window, window_start = [], step + 1

    record(0)
    bar = tqdm(total=cfg0.total_steps, desc=desc, disable=not progress, leave=False)
    step = 0
    for batches in zip(*streams, strict=True):
        if not bool(active.any()):
            break
        step += 1
        X = torch.stack([b.X for b in batches]).to(device=device, dtype=dtype)
        y = torch.stack([b.y for b in batches]).to(device=device, dtype=dtype)
        per_model = lossf(y * forward_stacked(params, readout, X)).mean(1)  # (S,)
        grads = torch.autograd.grad(per_model.sum(), list(params.values()))
        with torch.no_grad():
            scale = (lr * active.to(dtype)).view(S, *([1] * (grads[0].ndim - 1)))
            for p, g in zip(params.values(), grads, strict=True):
                p.sub_(scale * g)  # stopped models have scale 0: frozen
        window.append(per_model.detach())
        bar.update(1)
        if step % cfg0.eval_every == 0 or step == cfg0.total_steps:
            record(step)
            bar.set_postfix(active=int(active.sum()))
    bar.close()
    if window:  # the runs ended between two records
        record(step)
    return [
        FinetuneResult(
            model=psi0s[s].with_params({n: params[n][s].detach() for n in names}),
            history=hists[s],
        )
        for s in range(S)
    ]


def finetune(
    psi0: OneLayerTransformer,
    task: Task,
    cfg: TrainConfig,
    *,
    progress: bool = False,
) -> FinetuneResult:
    """Fine-tune a copy of ``psi0`` on ``task``; ``psi0`` is never modified.

    The training stream comes from ``generator(derive_seed("train", cfg.seed))`` on the task's device
    and the validation set from ``derive_seed("validation", cfg.seed)``, so the same config and seed
    give the same model on the same device type.
    """
    return finetune_many([psi0], [task], [cfg], progress=progress, desc=f"finetune {task.name}")[0]
