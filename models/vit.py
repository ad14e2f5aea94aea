"""A small Vision Transformer as plain tensors: parameters, the model and its batched forward.

The body (patch embedding, position embeddings, ``depth`` pre-norm blocks, final norm) is a dict
name → tensor; a task vector is a difference of bodies, so the project's task-vector algebra (add,
negate, scale, low rank, prune) applies unchanged. The 2-class parity head (z_even, z_odd) is *not*
part of the body: it is drawn once per Ψ0 and stays frozen in every fine-tuning, the analogue of the
theory's fixed readout a_(l). The model output is f = z_odd − z_even (label +1 = odd).

``features``/``logits`` take bodies stacked along a leading axis G, so a whole chunk of merged models
Ψ0 + Σ_k λ_gk τ_k is evaluated in one batched pass (``models.grid_vit``): a ViT's merged attention
is not affine in λ, so the grid is evaluated directly. Training: ``models.vit_train``; the cache
adapter: ``models.vit_cache``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.vit_config import ViTConfig
from synthetic.runtime import generator


# ----------------------------------------------------------------------------- parameters
def body_shapes(cfg: ViTConfig) -> dict[str, tuple[int, ...]]:
    D, T, h = cfg.dim, cfg.n_patches, cfg.dim * cfg.mlp_ratio
    shapes: dict[str, tuple[int, ...]] = {
        "patch.w": (D, cfg.channels * cfg.patch * cfg.patch),
        "patch.b": (D,),
        "pos": (T, D),
    }
    for b in range(cfg.depth):
        shapes |= {
            f"b{b}.ln1.w": (D,),
            f"b{b}.ln1.b": (D,),
            f"b{b}.qkv.w": (3 * D, D),
            f"b{b}.qkv.b": (3 * D,),
            f"b{b}.proj.w": (D, D),
            f"b{b}.proj.b": (D,),
            f"b{b}.ln2.w": (D,),
            f"b{b}.ln2.b": (D,),
            f"b{b}.fc1.w": (h, D),
            f"b{b}.fc1.b": (h,),
            f"b{b}.fc2.w": (D, h),
            f"b{b}.fc2.b": (D,),
        }
    return shapes | {"norm.w": (D,), "norm.b": (D,)}


def init_body(cfg: ViTConfig, seed: int) -> dict[str, torch.Tensor]:
    """Truncation-free ViT-style init: N(0, 0.02²) weights, zero biases, unit LayerNorm gains."""
    g = generator(seed, "cpu")
    out = {}
    for name, shape in body_shapes(cfg).items():
        if name.endswith(".b") or name == "patch.b":
            out[name] = torch.zeros(shape)
        elif ".ln" in name or name.startswith("norm."):
            out[name] = torch.ones(shape)
        else:
            out[name] = torch.randn(shape, generator=g) * 0.02
    return out


def init_head(
    cfg: ViTConfig, n_classes: int, seed: int, std: float | None = None
) -> dict[str, torch.Tensor]:
    g = generator(seed, "cpu")
    s = (cfg.head_std if std is None else std) / math.sqrt(cfg.dim)
    return {"w": torch.randn(n_classes, cfg.dim, generator=g) * s, "b": torch.zeros(n_classes)}


@dataclass
class ViT:
    """Ψ: config, body (trainable, part of task vectors) and the frozen parity head."""

    cfg: ViTConfig
    body: dict[str, torch.Tensor]
    head: dict[str, torch.Tensor]

    @property
    def device(self) -> torch.device:
        return self.body["pos"].device

    def to(self, device) -> ViT:
        return ViT(
            self.cfg,
            {k: v.to(device) for k, v in self.body.items()},
            {k: v.to(device) for k, v in self.head.items()},
        )

    @property
    def params(self) -> dict[str, torch.Tensor]:  # what a task vector runs over
        return self.body

    def with_body(self, body: Mapping[str, torch.Tensor]) -> ViT:
        return ViT(self.cfg, {k: v.detach().clone() for k, v in body.items()}, self.head)

    with_params = with_body  # the protocol of models.task_vectors.apply

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
        return torch.cat([outputs(self, x[i : i + chunk]) for i in range(0, len(x), chunk)])


# ----------------------------------------------------------------------------- forward
def _ln(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the last axis with per-model gains (w, b: (G, D); x: (G, n, T, D))."""
    return torch.addcmul(
        b[:, None, None, :], F.layer_norm(x, x.shape[-1:], eps=1e-6), w[:, None, None, :]
    )


def _lin(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x (G, n, T, i) · wᵀ (G, o, i) + b (G, o)."""
    return torch.matmul(x, w.transpose(-1, -2).unsqueeze(1)) + b[:, None, None, :]


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(n, C, H, W) → (n, T, C·p·p), patches in row-major order."""
    n = x.shape[0]
    return (
        F.unfold(x, kernel_size=patch, stride=patch)
        .transpose(1, 2)
        .reshape(n, -1, x.shape[1] * patch * patch)
    )


def features(cfg: ViTConfig, body: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Pooled features (G, n, D) of G stacked bodies (every tensor with a leading G axis) on x."""
    G = body["pos"].shape[0]
    p = patchify(x, cfg.patch).unsqueeze(0).expand(G, -1, -1, -1)
    h = _lin(p, body["patch.w"], body["patch.b"]) + body["pos"][:, None]
    H, dh = cfg.heads, cfg.dim // cfg.heads
    n, T = x.shape[0], cfg.n_patches
    for b in range(cfg.depth):
        a = _ln(h, body[f"b{b}.ln1.w"], body[f"b{b}.ln1.b"])
        qkv = _lin(a, body[f"b{b}.qkv.w"], body[f"b{b}.qkv.b"]).reshape(G, n, T, 3, H, dh)
        q, k, v = (qkv[:, :, :, i].transpose(2, 3) for i in range(3))  # (G, n, H, T, dh)
        att = F.scaled_dot_product_attention(q, k, v).transpose(2, 3).reshape(G, n, T, cfg.dim)
        h = h + _lin(att, body[f"b{b}.proj.w"], body[f"b{b}.proj.b"])
        a = _ln(h, body[f"b{b}.ln2.w"], body[f"b{b}.ln2.b"])
        h = h + _lin(
            F.gelu(_lin(a, body[f"b{b}.fc1.w"], body[f"b{b}.fc1.b"])),
            body[f"b{b}.fc2.w"],
            body[f"b{b}.fc2.b"],
        )
    return _ln(h, body["norm.w"], body["norm.b"]).mean(2)


def logits(cfg: ViTConfig, body, head, x) -> torch.Tensor:
    """(G, n, K) logits of stacked bodies with one head {w: (K, D), b: (K,)}."""
    return torch.matmul(features(cfg, body, x), head["w"].T) + head["b"]


def outputs(model: ViT, x: torch.Tensor) -> torch.Tensor:
    """f = z_odd − z_even of one model, (n,)."""
    z = logits(model.cfg, {k: v.unsqueeze(0) for k, v in model.body.items()}, model.head, x)[0]
    return z[:, 1] - z[:, 0]
