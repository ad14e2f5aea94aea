"""Pre-training Ψ0 of the small ViT (``models.vit``), fine-tuning its body, and evaluation.

Pre-training fits the body with a ``n_pretrain_classes``-way head; fine-tuning moves the body only,
the frozen parity head is never given to the optimizer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from models.vit import ViT, init_body, init_head, logits
from models.vit_config import ViTConfig, ViTTrainConfig
from synthetic.runtime import generator


def _batches(n: int, batch: int, g: torch.Generator):
    perm = torch.randperm(n, generator=g)
    for i in range(0, n, batch):
        yield perm[i : i + batch]


def _optimizer(params, cfg: ViTTrainConfig):
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)


def pretrain(
    cfg: ViTConfig,
    x: torch.Tensor,
    labels: torch.Tensor,
    train: ViTTrainConfig,
    *,
    progress: bool = False,
) -> tuple[ViT, dict]:
    """Ψ0: body trained with a ``n_pretrain_classes``-way head (cross-entropy), then that head is
    dropped and a fresh seeded 2-class parity head (frozen from now on) is attached."""
    dev = x.device
    body = {k: v.to(dev).requires_grad_(True) for k, v in init_body(cfg, cfg.seed).items()}
    head = {
        k: v.to(dev).requires_grad_(True)
        for k, v in init_head(cfg, cfg.n_pretrain_classes, cfg.seed + 1, 1.0).items()
    }
    opt = _optimizer([*body.values(), *head.values()], train)
    g = generator(train.seed, "cpu")
    losses = []
    for _ in tqdm(range(train.epochs), desc="pre-training Ψ0", disable=not progress):
        total = 0.0
        for idx in _batches(len(x), train.batch_size, g):
            idx = idx.to(dev)
            z = logits(cfg, {k: v.unsqueeze(0) for k, v in body.items()}, head, x[idx])[0]
            loss = F.cross_entropy(z, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
    parity = {k: v.to(dev) for k, v in init_head(cfg, 2, cfg.seed + 2).items()}
    psi0 = ViT(cfg, {k: v.detach() for k, v in body.items()}, parity)
    with torch.no_grad():
        z = logits(
            cfg,
            {k: v.unsqueeze(0) for k, v in psi0.body.items()},
            {k: v.detach() for k, v in head.items()},
            x,
        )[0]
        acc = float((z.argmax(1) == labels).float().mean())
    return psi0, {"train_loss": losses, "train_accuracy": acc}


def loss_of(f: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return (1 - y * f).clamp_min(0).mean()
    return F.softplus(-y * f).mean()  # binary cross-entropy on f = z_odd − z_even


def finetune(
    psi0: ViT,
    x: torch.Tensor,
    y: torch.Tensor,
    train: ViTTrainConfig,
    *,
    progress: bool = False,
    desc: str = "fine-tuning",
) -> tuple[ViT, dict]:
    """Fine-tune the body on (x, y ∈ {±1}); the parity head is never given to the optimizer."""
    body = {k: v.detach().clone().requires_grad_(True) for k, v in psi0.body.items()}
    head = {k: v.detach() for k, v in psi0.head.items()}
    opt = _optimizer(list(body.values()), train)
    g = generator(train.seed, "cpu")
    yf = y.to(x.dtype)
    losses = []
    for _ in tqdm(range(train.epochs), desc=desc, disable=not progress, leave=False):
        total = 0.0
        for idx in _batches(len(x), train.batch_size, g):
            idx = idx.to(x.device)
            z = logits(psi0.cfg, {k: v.unsqueeze(0) for k, v in body.items()}, head, x[idx])[0]
            loss = loss_of(z[:, 1] - z[:, 0], yf[idx], train.loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
    return ViT(psi0.cfg, {k: v.detach() for k, v in body.items()}, psi0.head), {
        "train_loss": losses
    }


@torch.no_grad()
def evaluate(model: ViT, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    f = model(x)
    yf = y.to(f.dtype)
    return {
        "accuracy": float((torch.sign(f) == yf).double().mean()),
        "hinge": float((1 - yf * f).clamp_min(0).double().mean()),
    }
