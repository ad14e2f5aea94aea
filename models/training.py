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

Data streams (``models.streams``): online batches are drawn ``ceil(4096 / B)`` steps at a time
from the run's generator; the stream depends only on the seed and B, never on S.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch
from tqdm.auto import tqdm

from models.config import LOSSES, TrainConfig  # noqa: F401  (re-exported)
from models.streams import stream, train_generator, validation_set
from models.transformer import OneLayerTransformer, forward_stacked
from synthetic.sampler import TaskBatch
from synthetic.tasks import Task


def hinge(margin: torch.Tensor) -> torch.Tensor:
    """max(0, 1 − y f) per sample, given the margin y f."""
    return torch.clamp(1.0 - margin, min=0.0)


def logistic(margin: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(−y f)) per sample."""
    return torch.nn.functional.softplus(-margin)


def loss_fn(name: str, margin: float = 1.0):
    """The training loss of the margin y f: the hinge (with target ``margin``) or the logistic loss."""
    if name == "hinge" and margin != 1.0:
        return lambda m: torch.clamp(margin - m, min=0.0)
    return {"hinge": hinge, "logistic": logistic}[name]


ATTENTION_PARAMS = ("W", "W_Q", "W_K")  # scaled by train.lr_w_scale; the others by lr_v_scale


def lr_multipliers(names, cfg: TrainConfig) -> list[float]:
    """η's multiplier for each parameter: ``lr_w_scale`` on attention weights, ``lr_v_scale`` on the rest."""
    return [cfg.lr_w_scale if n in ATTENTION_PARAMS else cfg.lr_v_scale for n in names]


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


class _Recorder:
    """The S runs' histories: per-step losses since the last record, validation at each record,
    and early stopping (a stopped run is marked inactive and frozen by the training loop)."""

    def __init__(self, cfgs, params, readout, val) -> None:
        self.cfgs, self.params, self.readout, self.val = cfgs, params, readout, val
        S = len(cfgs)
        self.hists = [History() for _ in range(S)]
        self.active = torch.ones(S, dtype=torch.bool, device=readout.device)
        self.window: list[torch.Tensor] = []  # per-step losses (S,) since the last record
        self.window_start = 1

    def _losses(self) -> tuple[list, list]:
        """Mean training loss per run over the window, and each run's per-step losses."""
        S = len(self.cfgs)
        if not self.window:
            return [float("nan")] * S, [[] for _ in range(S)]
        losses = torch.stack(self.window)  # (steps, S)
        bad = ~torch.isfinite(losses) & self.active.unsqueeze(0)
        if bad.any():
            i, s = (int(v) for v in bad.nonzero()[0])
            raise FloatingPointError(
                f"non-finite training loss ({losses[i, s].item()}) at step {self.window_start + i} with "
                f"train.lr={self.cfgs[s].lr} (model {s} of {S}, train.seed={self.cfgs[s].seed}); lower the learning rate"
            )
        return losses.mean(0).tolist(), losses.T.tolist()

    def record(self, step: int) -> None:
        train_loss, per_step = self._losses()
        vh, va, vm = (t.tolist() for t in _evaluate_stacked(self.params, self.readout, *self.val))
        cfg0 = self.cfgs[0]
        for s, h in enumerate(self.hists):
            if not self.active[s]:
                continue
            h.step.append(step)
            h.train_loss.append(train_loss[s])
            h.step_loss.extend(per_step[s])
            h.val_hinge.append(vh[s])
            h.val_accuracy.append(va[s])
            h.attention_on_discriminative.append(vm[s])
            h.steps_run = step
            if step > 0 and cfg0.eps > 0 and vh[s] <= cfg0.eps:
                h.stopped_early = step < cfg0.total_steps
                self.active[s] = False
        self.window, self.window_start = [], step + 1


def _stack_runs(psi0s, tasks, cfgs) -> tuple[dict, torch.Tensor, torch.Tensor, tuple]:
    """The S runs' parameters (leading model axis, trainable), readouts, learning rates and
    validation sets (X, y, ±μ-token mask)."""
    device, dtype = psi0s[0].device, psi0s[0].dtype
    params = {
        n: torch.stack([m.params[n].detach() for m in psi0s]).clone().requires_grad_(True)
        for n in psi0s[0].cfg.param_names
    }
    readout = torch.stack([m.readout for m in psi0s])
    lr = torch.tensor([c.lr for c in cfgs], device=device, dtype=dtype)
    vals = [validation_set(t, c).to(device) for t, c in zip(tasks, cfgs, strict=True)]
    val_X = torch.stack([v.X for v in vals]).to(dtype)
    val_y = torch.stack([v.y for v in vals]).to(dtype)
    val_disc = torch.stack([v.discriminative for v in vals]).to(dtype)
    return params, readout, lr, (val_X, val_y, val_disc)


def _sgd_steps(streams, params, readout, lr, rec: _Recorder, cfg0, bar) -> int:
    """Plain SGD on all runs at once until the streams end or every run stopped; the last step."""
    S, device, dtype = len(lr), lr.device, lr.dtype
    lossf = loss_fn(cfg0.loss, cfg0.margin)
    mult = lr_multipliers(params, cfg0)
    step = 0
    for batches in zip(*streams, strict=True):
        if not bool(rec.active.any()):
            break
        step += 1
        X = torch.stack([b.X for b in batches]).to(device=device, dtype=dtype)
        y = torch.stack([b.y for b in batches]).to(device=device, dtype=dtype)
        per_model = lossf(y * forward_stacked(params, readout, X)).mean(1)  # (S,)
        grads = torch.autograd.grad(per_model.sum(), list(params.values()))
        with torch.no_grad():
            scale = (lr * rec.active.to(dtype)).view(S, *([1] * (grads[0].ndim - 1)))
            for p, g, k in zip(params.values(), grads, mult, strict=True):
                p.sub_(scale * g if k == 1.0 else (scale * k) * g)  # stopped models: scale 0
        rec.window.append(per_model.detach())
        bar.update(1)
        if step % cfg0.eval_every == 0 or step == cfg0.total_steps:
            rec.record(step)
            bar.set_postfix(active=int(rec.active.sum()))
    return step


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
    params, readout, lr, val = _stack_runs(psi0s, tasks, cfgs)
    streams = [stream(t, c, train_generator(t, c)) for t, c in zip(tasks, cfgs, strict=True)]
    rec = _Recorder(cfgs, params, readout, val)
    rec.record(0)
    bar = tqdm(total=cfgs[0].total_steps, desc=desc, disable=not progress, leave=False)
    step = _sgd_steps(streams, params, readout, lr, rec, cfgs[0], bar)
    bar.close()
    if rec.window:  # the runs ended between two records
        rec.record(step)
    return [
        FinetuneResult(
            model=psi0s[s].with_params({n: params[n][s].detach() for n in params}),
            history=rec.hists[s],
        )
        for s in range(len(psi0s))
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
