"""Turn a composed config (plain dict or OmegaConf) into validated dataclasses, before any work.

Nothing here imports torch, so a bad override fails before the heavy imports of a run.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.config import ModelConfig, TrainConfig
from synthetic.checks import (
    ConfigError,
    check_choice,
    check_float,
    check_int,
    check_memory,
    check_room,
    fail,
)
from synthetic.tokens import TokenConfig

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
    check_choice("dtype", c.get("dtype", "float32"), ["float32", "float64"])
    device = c.get("device", "auto")
    if not (device in ("auto", "cpu") or re.fullmatch(r"cuda(:\d+)?", str(device))):
        raise fail("device", device, "must be one of ['auto', 'cpu', 'cuda', 'cuda:N']")
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
    check_room(
        setup.d, 2, setup.n_irrelevant
    )  # d holds the pair's two directions + irrelevant patterns
    itemsize = 8 if c.get("dtype") == "float64" else 4
    sample = setup.tokens.n_tokens * setup.d * itemsize  # one sample: P tokens in R^d
    check_memory(
        "data.n_test", setup.n_test, 3 * setup.n_test * sample, "the test sets (up to 3 tasks)"
    )
    check_memory("train.n_val", train.n_val, train.n_val * sample, "the validation set")
    if train.mode == "epochs":
        check_memory("train.n_train", train.n_train, train.n_train * sample, "the training set")
    if "eval" in c:
        check_eval(c["eval"])
    return setup


def seeds_of(exp: dict) -> list[int]:
    """experiment.n_seeds seeds starting at experiment.first_seed."""
    n = check_int("experiment.n_seeds", exp.get("n_seeds"), minimum=1)
    first = check_int("experiment.first_seed", exp.get("first_seed", 0), minimum=0)
    return list(range(first, first + n))


EVAL_KEYS = {
    "lam_min",
    "lam_max",
    "lam_step",
    "eps",
    "forget_hinge",
    "retain_fraction",
    "memory_mb",
}


def check_eval(ev: dict) -> dict:
    unknown = sorted(set(ev) - EVAL_KEYS)
    if unknown:
        raise ConfigError(
            f"eval.{unknown[0]} is not a valid key: valid keys are {sorted(EVAL_KEYS)}"
        )
    lo = check_float("eval.lam_min", ev["lam_min"])
    hi = check_float("eval.lam_max", ev["lam_max"])
    if lo >= hi:
        raise ConfigError(
            f"eval.lam_min={ev['lam_min']!r} is invalid: must be < eval.lam_max={ev['lam_max']!r}"
        )
    step = check_float("eval.lam_step", ev["lam_step"], low=0.0, low_open=True)
    if (hi - lo) / step > 100_000:
        raise ConfigError(
            f"eval.lam_step={step!r} is invalid: the grid would have more than 100000 points"
        )
    check_float("eval.eps", ev["eps"], low=0.0, low_open=True)
    check_float("eval.forget_hinge", ev["forget_hinge"], low=0.0, low_open=True)
    check_float("eval.retain_fraction", ev["retain_fraction"], low=0.0, high=1.0)
    check_float("eval.memory_mb", ev["memory_mb"], low=0.0, low_open=True)
    return ev


def lambda_grid(ev: dict) -> list[float]:
    """lam_min, lam_min + step, ..., up to lam_max (inclusive within 1e-9), rounded to 10 digits."""
    lo, hi, step = float(ev["lam_min"]), float(ev["lam_max"]), float(ev["lam_step"])
    n = math.floor((hi - lo) / step + 1e-9) + 1
    return [round(lo + i * step, 10) for i in range(n)]
