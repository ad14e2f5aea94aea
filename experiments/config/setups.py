"""The runtime setups an experiment's ``compute`` receives, built from a config that the checks of
``experiments.config.checks`` / ``testbeds`` accepted (no value is checked here), and the λ grids."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from models.config import ModelConfig, TrainConfig
from synthetic.tokens import TokenConfig


@dataclass(frozen=True)
class Setup:
    tokens: TokenConfig
    model: ModelConfig
    train: TrainConfig
    d: int
    alpha: float
    n_irrelevant: int | None
    rotate: bool
    basis_seed: int
    n_test: int
    device: str
    dtype: str

    def geometry(self):
        from synthetic.patterns import pair_geometry
        from synthetic.runtime import resolve_device

        return pair_geometry(
            self.d,
            self.alpha,
            n_irrelevant=self.n_irrelevant,
            rotate=self.rotate,
            seed=self.basis_seed,
            device=resolve_device(self.device),
            dtype=self.dtype,
        )


@dataclass(frozen=True)
class CSetup:
    source: str
    root: str | None
    max_images: int | None
    split: tuple[float, float, float]
    split_seed: int
    pretrain_colour_seed: int
    vit: Any  # models.vit_config.ViTConfig
    pretrain: Any  # models.vit_config.ViTTrainConfig
    finetune: Any
    device: str
    seeds: list[int]


@dataclass(frozen=True)
class LSetup:
    books: list[str] | None
    background: str | None
    corpus_seed: int
    overlap: float
    sentences: int
    background_sentences: int
    held_out: float
    pretrained: str | None
    model: Any  # models.lm_config.LMConfig
    pretrain: Any
    finetune: Any
    lora_rank: int
    lora_alpha: float
    lora_targets: list[str] | None
    lora_lr: float
    device: str
    seeds: list[int]
    n_prompts: int
    prompt_tokens: int
    continuation_tokens: int


def pair_setup(top: Any, data: Any, model: ModelConfig, train: TrainConfig) -> Setup:
    """The one-layer setup from the checked top level, ``data`` (``PairData``), model and train."""
    tokens = TokenConfig(**{k: getattr(data, k) for k in TokenConfig.__dataclass_fields__})
    kept = ("d", "n_irrelevant", "rotate", "basis_seed", "n_test")
    return Setup(
        tokens=tokens,
        model=model,
        train=train,
        alpha=float(data.alpha),
        device=top.device,
        dtype=top.dtype,
        **{k: getattr(data, k) for k in kept},
    )


def lm_setup(top: Any, corpus: dict, model: Any, train: Any, exp: Any, pretrained: str | None):
    """The language-model setup (``corpus``: the checked books and sizes of ``data``)."""
    from models.lm_config import LMConfig

    return LSetup(
        **corpus,
        pretrained=pretrained,
        model=LMConfig(**{k: getattr(model, k) for k in LMConfig.__dataclass_fields__}),
        pretrain=train.pretrain,
        finetune=train.finetune,
        lora_rank=train.lora.rank,
        lora_alpha=float(train.lora.alpha),
        lora_targets=train.lora.targets,
        lora_lr=float(train.lora.lr),
        device=top.device,
        seeds=list(range(exp.first_seed, exp.first_seed + exp.n_seeds)),
        n_prompts=exp.n_prompts,
        prompt_tokens=exp.prompt_tokens,
        continuation_tokens=exp.continuation_tokens,
    )


def to_container(cfg: Any) -> dict:
    """The resolved config as plain dicts; a key that does not resolve is one ConfigError line."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from synthetic.checks import ConfigError

    if not isinstance(cfg, DictConfig):
        return dict(cfg)
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"{getattr(err, 'full_key', '') or 'config'} is invalid: {why}") from None


def grid(lo: float, hi: float, step: float) -> list[float]:
    """lo, lo + step, ..., up to hi (inclusive within 1e-9), rounded to 10 digits."""
    n = math.floor((hi - lo) / step + 1e-9) + 1
    return [round(lo + i * step, 10) for i in range(n)]


def lam_grid(node: dict) -> list[float]:
    """The λ axis of a ``Lam`` node (``eval.lam``, ``experiment.sweep_lam``, ...): min .. max by step."""
    return grid(float(node["min"]), float(node["max"]), float(node["step"]))
