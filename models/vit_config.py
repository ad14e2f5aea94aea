"""Configs of the small Vision Transformer and of its training (no torch: checked before any import)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from synthetic.checks import check_fields, choice, fail, integer, number, seed_field


@dataclass(frozen=True)
class ViTConfig:
    """Patch embedding, ``depth`` pre-norm encoder blocks, final norm, mean pooling, linear head.

    The defaults fit a 2-core CPU on 8×8 digits (16 patches of 2×2); ViT-Small/16 is
    image_size=224, patch=16, dim=384, depth=12, heads=6, mlp_ratio=4.
    """

    image_size: int = integer(8, lo=1)
    channels: int = integer(3, lo=1)
    patch: int = integer(2, lo=1)
    dim: int = integer(48, lo=1)
    depth: int = integer(2, lo=1)
    heads: int = integer(4, lo=1)
    mlp_ratio: int = integer(2, lo=1)
    n_pretrain_classes: int = integer(10, lo=2)
    head_std: int | float = number(1.0, low=0.0, low_open=True)  # frozen head ~ N(0, std² / dim)
    seed: int = seed_field(0, spare=2)  # the heads are drawn with seed + 1, seed + 2

    def __post_init__(self) -> None:
        check_fields(self, "model")
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

    optimizer: str = choice("sgd", "sgd", "adam")  # sgd (with momentum) | adam
    lr: int | float = number(0.05, low=0.0, low_open=True)
    momentum: int | float = number(0.9, low=0.0, high=1.0, high_open=True)
    batch_size: int = integer(64, lo=1)
    epochs: int = integer(10, lo=1)
    loss: str = choice("hinge", "hinge", "cross_entropy")  # hinge on f = z_odd − z_even
    seed: int = seed_field(0)

    def __post_init__(self) -> None:
        check_fields(self, "train")
