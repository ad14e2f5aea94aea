"""Configs of the small Vision Transformer and of its training (no torch: checked before any import)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from synthetic.checks import check_choice, check_float, check_int, fail


@dataclass(frozen=True)
class ViTConfig:
    """Patch embedding, ``depth`` pre-norm encoder blocks, final norm, mean pooling, linear head.

    The defaults fit a 2-core CPU on 8×8 digits (16 patches of 2×2); ViT-Small/16 is
    image_size=224, patch=16, dim=384, depth=12, heads=6, mlp_ratio=4.
    """

    image_size: int = 8
    channels: int = 3
    patch: int = 2
    dim: int = 48
    depth: int = 2
    heads: int = 4
    mlp_ratio: int = 2
    n_pretrain_classes: int = 10
    head_std: float = 1.0  # the frozen parity head ~ N(0, head_std² / dim)
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("image_size", "channels", "patch", "dim", "depth", "heads", "mlp_ratio"):
            check_int(f"model.{key}", getattr(self, key), minimum=1)
        check_int("model.n_pretrain_classes", self.n_pretrain_classes, minimum=2)
        check_float("model.head_std", self.head_std, low=0.0, low_open=True)
        check_int("model.seed", self.seed, minimum=0)
        if self.image_size % self.patch:
            raise fail("model.patch", self.patch, f"must divide model.image_size={self.image_size}")
        if self.dim % self.heads:
            raise fail("model.heads", self.heads, f"must divide model.dim={self.dim}")

    @property
    def n_patches(self) -> int:
        return (self.image_size // self.patch) ** 2

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class ViTTrainConfig:
    """One training run: optimizer, step size, batches, epochs (fine-tuning and pre-training)."""

    optimizer: str = "sgd"  # sgd (with momentum) | adam
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 64
    epochs: int = 10
    loss: str = "hinge"  # hinge on f = z_odd − z_even | cross_entropy
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("train.optimizer", self.optimizer, ["sgd", "adam"])
        check_float("train.lr", self.lr, low=0.0, low_open=True)
        check_float("train.momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check_int("train.batch_size", self.batch_size, minimum=1)
        check_int("train.epochs", self.epochs, minimum=1)
        check_choice("train.loss", self.loss, ["hinge", "cross_entropy"])
        check_int("train.seed", self.seed, minimum=0)
