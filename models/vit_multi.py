"""Several tasks on one ViT backbone, each with its own frozen head, trained side by side.

G task models share Ψ0's body and the inputs of a minibatch; each has its own body (stacked along a
leading axis G: ``models.vit.features`` takes stacked bodies) and its own frozen 2-class head
(stacked: ``{"w": (G, 2, D), "b": (G, 2)}``). The loss is the sum over models of each model's mean
minibatch loss, so every body receives exactly its own task's gradient, and SGD and Adam (elementwise)
update each body as if it were trained alone.

``train_tasks`` keeps what the gradient paper's dominance analysis needs (gradients.md §4.2): the
flattened body at the end of every epoch, the sum of each epoch's minibatch gradients (ĝ_e), the mean
minibatch-gradient norm per epoch, and the validation accuracy after every epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from models.vit import features
from models.vit_config import ViTConfig
from synthetic.runtime import generator

Tensor = torch.Tensor


def stack_heads(heads: list[Mapping[str, Tensor]]) -> dict[str, Tensor]:
    return {k: torch.stack([h[k] for h in heads]) for k in ("w", "b")}


def flatten(body: Mapping[str, Tensor]) -> Tensor:
    """(G, P): every stacked body tensor flattened and concatenated, in the body's key order."""
    return torch.cat([v.detach().reshape(v.shape[0], -1) for v in body.values()], dim=1)


def unflatten(flat: Tensor, like: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """(..., P) vectors as a body dict shaped like ``like`` (unstacked), leading axes kept."""
    out, i, lead = {}, 0, flat.shape[:-1]
    for k, v in like.items():
        out[k] = flat[..., i : i + v.numel()].reshape(*lead, *v.shape)
        i += v.numel()
    return out


def outputs(cfg: ViTConfig, body: Mapping[str, Tensor], heads: Mapping[str, Tensor], x) -> Tensor:
    """f = z_1 − z_0 of G stacked bodies, model g with head g: (G, n)."""
    z = torch.einsum("gnd,gkd->gnk", features(cfg, body, x), heads["w"]) + heads["b"][:, None]
    return z[..., 1] - z[..., 0]


def outputs_all_heads(
    cfg: ViTConfig, body: Mapping[str, Tensor], heads: Mapping[str, Tensor], x, chunk: int = 8
) -> Tensor:
    """f of M stacked bodies under every one of T heads: (M, T, n) (a merged body serves T tasks)."""
    out = []
    for m0 in range(0, body["pos"].shape[0], chunk):
        part = {k: v[m0 : m0 + chunk] for k, v in body.items()}
        z = torch.einsum("mnd,tkd->mtnk", features(cfg, part, x), heads["w"])
        z = z + heads["b"][None, :, None]
        out.append(z[..., 1] - z[..., 0])
    return torch.cat(out)


def model_losses(f: Tensor, y: Tensor, kind: str) -> Tensor:
    """Each model's mean loss over its samples, (G,): logistic (cross-entropy on f) or hinge."""
    m = y.to(f.dtype) * f
    return (F.softplus(-m) if kind == "cross_entropy" else (1 - m).clamp_min(0)).mean(-1)


@dataclass
class Run:
    """One side-by-side fine-tuning of G task models over E epochs (P = body size)."""

    flat: Tensor  # (E + 1, G, P): the body after every epoch, row 0 = Ψ0
    grad_sum: Tensor  # (E, G, P): ĝ_e, the sum of epoch e's minibatch gradients (moving iterates)
    grad_norm: Tensor  # (E, G): mean over epoch e's minibatches of ‖∇ℓ_b(θ_{b−1})‖₂
    train_loss: Tensor  # (E, G): mean minibatch loss over epoch e
    val_acc: Tensor  # (E + 1, G): validation accuracy after every epoch, row 0 = Ψ0
    first_step_cos: Tensor  # (G,): cos(first update, −first minibatch gradient)
    steps_per_epoch: int


def _optimizer(params, optimizer: str, lr: float) -> torch.optim.Optimizer:
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.0, weight_decay=0.0)


@torch.no_grad()
def accuracy(cfg, body, heads, x, Y) -> Tensor:
    return (Y.to(x.dtype) * outputs(cfg, body, heads, x) > 0).double().mean(-1)


def _cos_rows(a: Tensor, b: Tensor) -> Tensor:
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-300)


def train_tasks(
    cfg: ViTConfig,
    body0: Mapping[str, Tensor],
    heads: Mapping[str, Tensor],
    data: tuple[Tensor, Tensor],
    val: tuple[Tensor, Tensor],
    *,
    optimizer: str,
    lr: float,
    batch_size: int,
    epochs: int,
    seed: int,
    loss: str = "cross_entropy",
    progress: bool = False,
) -> Run:
    """Fine-tune one body per task (labels ``data[1]``: (G, n) in ±1) from ``body0``; constant step,
    no momentum, weight decay, clipping or schedule; one shuffled order per epoch, shared by the G."""
    x, Y = data
    G, n = Y.shape
    body = {
        k: v.detach().unsqueeze(0).repeat(G, *[1] * v.dim()).requires_grad_(True)
        for k, v in body0.items()
    }
    opt = _optimizer(list(body.values()), optimizer, lr)
    g = generator(seed, "cpu")
    flat, gsums, gnorms, losses = [flatten(body)], [], [], []
    val_acc, first_cos = [accuracy(cfg, body, heads, *val)], None
    for _ in tqdm(range(epochs), desc=f"{optimizer} epochs", disable=not progress, leave=False):
        gsum, norms, total = torch.zeros_like(flat[0]), [], torch.zeros(G, dtype=torch.float64)
        for idx in torch.randperm(n, generator=g).split(batch_size):
            idx = idx.to(x.device)
            per = model_losses(outputs(cfg, body, heads, x[idx]), Y[:, idx], loss)
            opt.zero_grad(set_to_none=True)
            per.sum().backward()
            grad = torch.cat([v.grad.reshape(G, -1) for v in body.values()], dim=1)
            gsum += grad
            norms.append(grad.norm(dim=1))
            total += per.detach().double().cpu() * len(idx)
            before = flatten(body) if first_cos is None else None
            opt.step()
            if before is not None:
                first_cos = _cos_rows(flatten(body) - before, -grad)
        flat.append(flatten(body))
        gsums.append(gsum)
        gnorms.append(torch.stack(norms).mean(0))
        losses.append(total / n)
        val_acc.append(accuracy(cfg, body, heads, *val))
    return Run(
        torch.stack(flat),
        torch.stack(gsums),
        torch.stack(gnorms),
        torch.stack(losses),
        torch.stack(val_acc),
        first_cos,
        -(-n // batch_size),
    )
