"""Turn a composed config (OmegaConf or plain dict) into validated dataclasses, before any work.

Nothing here imports torch, so a bad override fails before the heavy imports of a run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from experiments.config.schema import Config, Eval, Logging, PairData, Wandb
from models.config import ModelConfig, TrainConfig
from synthetic.checks import ConfigError, check_fields, check_int, check_memory, check_room
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


def to_container(cfg: Any) -> dict:
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)  # type: ignore[return-value]
    except ImportError:  # pragma: no cover
        pass
    return dict(cfg)


def build(cls: type, section: str, values: Any) -> Any:
    """``cls(**values)`` with every field's range checked; one line for the first unknown key."""
    if not isinstance(values, dict):
        raise ConfigError(f"{section}={values!r} is invalid: must be a mapping")
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        key = f"{section}.{unknown[0]}" if section else unknown[0]
        raise ConfigError(f"{key} is not a valid key: valid keys are {sorted(fields)}")
    obj = cls(**values)
    check_fields(obj, section)
    return obj


def check_keys(cfg: Any) -> Config:
    """The top level and logging (the experiment's validator checks data, model, train, eval)."""
    c = {k: v for k, v in to_container(cfg).items() if k != "hydra"}
    if "logging" in c:
        build(Wandb, "logging.wandb", build(Logging, "logging", c["logging"]).wandb or {})
    return build(Config, "", c)


def build_setup(cfg: Any) -> Setup:
    """Validate data/model/train/eval and the top level; raise ConfigError (one line) on the first bad key."""
    c = to_container(cfg)
    top = check_keys(c)
    data = build(PairData, "data", c["data"])
    tokens = TokenConfig(**{f.name: getattr(data, f.name) for f in dataclasses.fields(TokenConfig)})
    model = build(ModelConfig, "model", c["model"])
    train = build(TrainConfig, "train", c["train"])
    for key in ("d", "n_tokens"):
        if getattr(model, key) != getattr(data, key):
            raise ConfigError(
                f"model.{key}={getattr(model, key)!r} is invalid: must equal data.{key}={getattr(data, key)!r}"
            )
    check_room(data.d, 2, data.n_irrelevant)  # d holds the pair's two directions + irrelevant ones
    sample = tokens.n_tokens * data.d * (8 if top.dtype == "float64" else 4)  # one sample: P x d
    check_memory(
        "data.n_test", data.n_test, 3 * data.n_test * sample, "the test sets (up to 3 tasks)"
    )
    check_memory("train.n_val", train.n_val, train.n_val * sample, "the validation set")
    if train.mode == "epochs":
        check_memory("train.n_train", train.n_train, train.n_train * sample, "the training set")
    if "eval" in c:
        check_eval(c["eval"])
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


def seeds_of(exp: dict) -> list[int]:
    """experiment.n_seeds seeds starting at experiment.first_seed."""
    n = check_int("experiment.n_seeds", exp.get("n_seeds"), minimum=1)
    first = check_int("experiment.first_seed", exp.get("first_seed", 0), minimum=0)
    return list(range(first, first + n))


def check_eval(ev: dict) -> dict:
    e = build(Eval, "eval", ev)
    if e.lam_min >= e.lam_max:
        raise ConfigError(
            f"eval.lam_min={ev['lam_min']!r} is invalid: must be < eval.lam_max={ev['lam_max']!r}"
        )
    if (e.lam_max - e.lam_min) / e.lam_step > 100_000:
        raise ConfigError(
            f"eval.lam_step={e.lam_step!r} is invalid: the grid would have more than 100000 points"
        )
    return ev


def lambda_grid(ev: dict) -> list[float]:
    """lam_min, lam_min + step, ..., up to lam_max (inclusive within 1e-9), rounded to 10 digits."""
    lo, hi, step = float(ev["lam_min"]), float(ev["lam_max"]), float(ev["lam_step"])
    n = math.floor((hi - lo) / step + 1e-9) + 1
    return [round(lo + i * step, 10) for i in range(n)]
