"""Fine-tuning Ψ0 on one task with plain SGD (theory.md §4.7), and evaluation.

Plain SGD: θ ← θ − η ∇L(θ), no momentum, no weight decay; only the trainable weights move, the
readout stays fixed. Two data regimes:

* ``mode="online"`` (the theory's): a fresh batch of B samples at every step, for at most
  ``n_steps`` steps;
* ``mode="epochs"``: a fixed training set of ``n_train`` samples, shuffled each epoch, split into
  batches of B (the last one may be smaller), for ``n_epochs`` epochs.

Training stops early when the validation hinge loss, checked every ``eval_every`` steps, is at most
``eps`` (``eps=0`` disables it). A non-finite loss raises ``FloatingPointError`` naming the step and η.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from models.transformer import OneLayerTransformer, forward
from synthetic.checks import (
    check_choice,
    check_float,
    check_int,
    check_positive,
    check_positive_int,
)
from synthetic.runtime import derive_seed, generator
from synthetic.sampler import TaskBatch
from synthetic.tasks import Task

LOSSES = ("hinge", "logistic")


def hinge(margin: torch.Tensor) -> torch.Tensor:
    """max(0, 1 − y f) per sample, given the margin y f."""
    return torch.clamp(1.0 - margin, min=0.0)


def logistic(margin: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(−y f)) per sample."""
    return torch.nn.functional.softplus(-margin)


def loss_fn(name: str):
    return {"hinge": hinge, "logistic": logistic}[name]


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 5.0  # η, in this model's normalisation (readout ±1/√m, 1/P average)
    batch_size: int = 64  # B
    n_steps: int = 1000  # T, the step budget (online mode)
    loss: str = "hinge"  # "hinge" (the theory's) or "logistic"
    eps: float = 0.02  # stop when the validation hinge loss is <= eps (0 disables)
    eval_every: int = 5  # steps between validation checks / history records
    n_val: int = 2048  # validation samples (a fixed set, separate seed)
    mode: str = "online"  # "online" (fresh batches) or "epochs" (fixed training set)
    n_train: int = 4096  # training-set size ("epochs" mode)
    n_epochs: int = 10  # epochs ("epochs" mode)
    seed: int = 0  # data stream of this fine-tuning run

    def __post_init__(self) -> None:
        check_positive("train.lr", self.lr)
        check_positive_int("train.batch_size", self.batch_size)
        check_positive_int("train.n_steps", self.n_steps)
        check_choice("train.loss", self.loss, list(LOSSES))
        check_float("train.eps", self.eps, low=0.0)
        check_positive_int("train.eval_every", self.eval_every)
        check_positive_int("train.n_val", self.n_val)
        check_choice("train.mode", self.mode, ["online", "epochs"])
        check_positive_int("train.n_train", self.n_train)
        check_positive_int("train.n_epochs", self.n_epochs)
        check_int("train.seed", self.seed, minimum=0)

    @property
    def total_steps(self) -> int:
        if self.mode == "online":
            return self.n_steps
        return self.n_epochs * math.ceil(self.n_train / self.batch_size)


@dataclass
class History:
    """Curves recorded every ``eval_every`` steps (and at step 0 and the last step)."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(
        default_factory=list
    )  # mean training loss since the last record
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
        part = batch[start : start + chunk]
        f = model(part.X)
        margin = part.y * f
        totals["hinge"] += hinge(margin).sum().item()
        totals["logistic"] += logistic(margin).sum().item()
        totals["accuracy"] += (torch.sign(f) == part.y).sum().item()
        attn = model.attention(part.X)
        mass = (attn * part.discriminative.unsqueeze(1).to(attn.dtype)).sum(-1).mean(-1)
        totals["attention_on_discriminative"] += mass.sum().item()
    return {k: v / n for k, v in totals.items()}


def _batches(task: Task, cfg: TrainConfig, g: torch.Generator):
    """Yield the training batches of one run, in order."""
    if cfg.mode == "online":
        for _ in range(cfg.n_steps):
            yield task.sample(cfg.batch_size, g)
        return
    data = task.sample(cfg.n_train, g)
    for _ in range(cfg.n_epochs):
        order = torch.randperm(cfg.n_train, generator=g, device=data.y.device)
        for start in range(0, cfg.n_train, cfg.batch_size):
            yield data[order[start : start + cfg.batch_size]]


def validation_set(task: Task, cfg: TrainConfig) -> TaskBatch:
    """The fixed validation set of a run: its own seed, derived from the training seed."""
    return task.sample_seeded(cfg.n_val, derive_seed("validation", cfg.seed))


def finetune(
    psi0: OneLayerTransformer,
    task: Task,
    cfg: TrainConfig,
    *,
    val: TaskBatch | None = None,
    progress: bool = False,
) -> FinetuneResult:
    """Fine-tune a copy of ``psi0`` on ``task``; ``psi0`` is never modified.

    The training stream is drawn from ``generator(derive_seed("train", cfg.seed))`` on the task's
    device, so the same config and seed give the same model on the same device type.
    """
    if task.d != psi0.cfg.d:
        raise ValueError(f"task {task.name} has d={task.d} but the model has model.d={psi0.cfg.d}")
    if task.tokens.n_tokens != psi0.cfg.n_tokens:
        raise ValueError(
            f"task {task.name} has data.n_tokens={task.tokens.n_tokens} but the model has "
            f"model.n_tokens={psi0.cfg.n_tokens}"
        )
    model = psi0.clone()
    params = [p for _, p in model.named_parameters()]
    names = [n for n, _ in model.named_parameters()]
    readout = model.readout
    lossf = loss_fn(cfg.loss)
    val = validation_set(task, cfg) if val is None else val
    # Data are drawn where the task's patterns live, then moved to the model if that differs.
    g = generator(derive_seed("train", cfg.seed), task.mu.device)
    val = val.to(model.device)
    hist = History()

    def record(step: int, train_loss: float) -> float:
        ev = evaluate(model, val)
        hist.step.append(step)
        hist.train_loss.append(train_loss)
        hist.val_hinge.append(ev["hinge"])
        hist.val_accuracy.append(ev["accuracy"])
        hist.attention_on_discriminative.append(ev["attention_on_discriminative"])
        return ev["hinge"]

    record(0, float("nan"))
    running, count, step = 0.0, 0, 0
    bar = tqdm(
        total=cfg.total_steps, desc=f"finetune {task.name}", disable=not progress, leave=False
    )
    for batch in _batches(task, cfg, g):
        batch = batch.to(model.device)
        f = forward(dict(zip(names, params, strict=True)), readout, batch.X)
        loss = lossf(batch.y * f).mean()
        grads = torch.autograd.grad(loss, params)
        step += 1
        lv = loss.item()
        if not math.isfinite(lv):
            raise FloatingPointError(
                f"non-finite training loss ({lv}) at step {step} with train.lr={cfg.lr}; lower the learning rate"
            )
        with torch.no_grad():
            for p, gr in zip(params, grads, strict=True):
                p.sub_(cfg.lr * gr)
        running += lv
        count += 1
        bar.update(1)
        if step % cfg.eval_every == 0 or step == cfg.total_steps:
            vh = record(step, running / count)
            running, count = 0.0, 0
            bar.set_postfix(val_hinge=f"{vh:.4f}")
            if cfg.eps > 0 and vh <= cfg.eps:
                hist.stopped_early = step < cfg.total_steps
                break
    bar.close()
    if count:  # the run ended between two records
        record(step, running / count)
    hist.steps_run = step
    for p in params:
        p.requires_grad_(True)
    return FinetuneResult(model=model, history=hist)
