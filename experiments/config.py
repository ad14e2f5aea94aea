"""Turn a composed config (plain dict or OmegaConf) into validated dataclasses, before any work."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.training import TrainConfig
from models.transformer import ModelConfig
from synthetic.checks import ConfigError, check_float, check_int
from synthetic.patterns import Geometry, pair_geometry
from synthetic.runtime import resolve_device, resolve_dtype
from synthetic.sampler import TokenConfig

DATA_KEYS = {"d", "alpha", "n_irrelevant", "rotate", "basis_seed", "n_test"}


def _build(cls, section: str, values: Mapping[str, Any]):
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(
            f"{section}.{unknown[0]} is not a valid key: valid keys are {sorted(fields)}"
        )
    return cls(**values)


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

    def geometry(self) -> Geometry:
        return pair_geometry(
            self.d,
            self.alpha,
            n_irrelevant=self.n_irrelevant,
            rotate=self.rotate,
            seed=self.basis_seed,
            device=resolve_device(self.device),
            dtype=self.dtype,
        )


def to_container(cfg: Any) -> dict:
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)  # type: ignore[return-value]
    except ImportError:  # pragma: no cover
        pass
    return dict(cfg)


def build_setup(cfg: Any) -> Setup:
    """Validate every key of data/model/train/device/dtype; raise ConfigError (one line) on the first bad one."""
    c = to_container(cfg)
    data = dict(c["data"])
    token_keys = {f.name for f in dataclasses.fields(TokenConfig)}
    unknown = sorted(set(data) - token_keys - DATA_KEYS)
    if unknown:
        raise ConfigError(
            f"data.{unknown[0]} is not a valid key: valid keys are {sorted(token_keys | DATA_KEYS)}"
        )
    tokens = TokenConfig(**{k: v for k, v in data.items() if k in token_keys})
    model = _build(ModelConfig, "model", c["model"])
    train = _build(TrainConfig, "train", c["train"])
    if model.d != data["d"]:
        raise ConfigError(f"model.d={model.d!r} is invalid: must equal data.d={data['d']!r}")
    if model.n_tokens != tokens.n_tokens:
        raise ConfigError(
            f"model.n_tokens={model.n_tokens!r} is invalid: must equal data.n_tokens={tokens.n_tokens!r}"
        )
    check_float("data.alpha", data["alpha"], low=-1.0, high=1.0)
    check_int("data.basis_seed", data["basis_seed"], minimum=0)
    check_int("data.n_test", data["n_test"], minimum=1)
    if not isinstance(data["rotate"], bool):
        raise ConfigError(f"data.rotate={data['rotate']!r} is invalid: must be true or false")
    batched = c.get("batched", "auto")
    if batched not in ("auto", True, False):
        raise ConfigError(f"batched={batched!r} is invalid: must be one of ['auto', true, false]")
    cache_dir = c.get("cache_dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise ConfigError(f"cache_dir={cache_dir!r} is invalid: must be a path or null (no cache)")
    resolve_dtype(c.get("dtype", "float32"))
    resolve_device(c.get("device", "auto"))
    setup = Setup(
        tokens=tokens,
        model=model,
        train=train,
        d=data["d"],
        alpha=float(data["alpha"]),
        n_irrelevant=data["n_irrelevant"],
        rotate=data["rotate"],
        basis_seed=data["basis_seed"],
        n_test=data["n_test"],
        device=c.get("device", "auto"),
        dtype=c.get("dtype", "float32"),
    )
    setup.geometry()  # validates d against the patterns requested
    return setup
