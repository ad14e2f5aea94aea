"""Configs of the small language model and of its training (no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from synthetic.checks import check_fields, choice, integer, number, seed_field


@dataclass(frozen=True)
class LMConfig:
    arch: str = choice("gpt2", "gpt2", "phi")
    n_embd: int = integer(96, lo=1)
    n_layer: int = integer(3, lo=1)
    n_head: int = integer(4, lo=1)
    n_positions: int = integer(128, lo=1)
    vocab_size: int = integer(768, lo=260)  # BPE trained here (ignored for a pretrained checkpoint)
    seed: int = seed_field(0)

    def __post_init__(self) -> None:
        check_fields(self, "model")


@dataclass(frozen=True)
class LMSteps:
    """One training phase (checked by ``check_fields(steps, "train.<phase>")``)."""

    steps: int = integer(300, lo=1)
    batch_size: int = integer(16, lo=1)
    seq_len: int = integer(64, lo=1)
    lr: int | float = number(3e-3, low=0.0, low_open=True)


@dataclass(frozen=True)
class LMTrainConfig(LMSteps):
    seed: int = 0
