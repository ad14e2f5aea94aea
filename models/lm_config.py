"""Configs of the small language model and of its training (no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LMConfig:
    arch: str = "gpt2"  # gpt2 | phi
    n_embd: int = 96
    n_layer: int = 3
    n_head: int = 4
    n_positions: int = 128
    vocab_size: int = 768  # BPE vocabulary trained here (ignored for a pretrained checkpoint)
    seed: int = 0


@dataclass(frozen=True)
class LMTrainConfig:
    steps: int = 300
    batch_size: int = 16
    seq_len: int = 64
    lr: float = 3e-3
    seed: int = 0
