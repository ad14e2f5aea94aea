"""Model and training configurations (no torch import: they are validated before any work)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from synthetic.checks import (
    check_choice,
    check_float,
    check_int,
    check_positive,
    check_positive_int,
)

LOSSES = ("hinge", "logistic")
PARAM_NAMES = {"wv": ("W", "V"), "qkvo": ("W_Q", "W_K", "W_V", "W_O")}
HIDDEN_ROWS = {"wv": "V", "qkvo": "W_O"}  # the matrix whose rows are the m hidden neurons


@dataclass(frozen=True)
class ModelConfig:
    d: int = 32
    n_tokens: int = 16  # P (the readout has one vector per query position)
    width: int = 64  # m, hidden neurons
    parametrization: str = "wv"  # "wv" (W, V) or "qkvo" (W_Q, W_K, W_V, W_O)
    m_a: int | None = None  # inner dim of W_V/W_O ("qkvo" only); None -> d
    m_b: int | None = None  # inner dim of W_Q/W_K ("qkvo" only); None -> d
    readout: str = "shared"  # "shared" (one a for all positions) or "per_position"
    w0_std: float = 0.0  # std of W0 entries ("wv"); 0 gives uniform attention
    v0_std: float = 0.01  # std of V0 entries ("wv")
    qk0_std: float = 0.1  # std of W_Q, W_K entries ("qkvo")
    vo0_std: float = 0.05  # std of W_V, W_O entries ("qkvo")
    seed: int = 0  # draws the readout and the initial weights of Ψ0

    def __post_init__(self) -> None:
        check_positive_int("model.d", self.d)
        check_positive_int("model.n_tokens", self.n_tokens)
        check_int("model.width", self.width, minimum=2)
        check_choice("model.parametrization", self.parametrization, list(PARAM_NAMES))
        if self.m_a is not None:
            check_positive_int("model.m_a", self.m_a)
        if self.m_b is not None:
            check_positive_int("model.m_b", self.m_b)
        check_choice("model.readout", self.readout, ["shared", "per_position"])
        for key in ("w0_std", "v0_std", "qk0_std", "vo0_std"):
            check_float(f"model.{key}", getattr(self, key), low=0.0)
        check_int("model.seed", self.seed, minimum=0)

    @property
    def param_names(self) -> tuple[str, ...]:
        return PARAM_NAMES[self.parametrization]

    @property
    def shapes(self) -> dict[str, tuple[int, int]]:
        d, m = self.d, self.width
        if self.parametrization == "wv":
            return {"W": (d, d), "V": (m, d)}
        m_a, m_b = self.m_a or d, self.m_b or d
        return {"W_Q": (m_b, d), "W_K": (m_b, d), "W_V": (m_a, d), "W_O": (m, m_a)}

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 5.0  # η, in this model's normalisation (readout ±1/√m, 1/P average)
    batch_size: int = 64  # B
    n_steps: int = 1000  # T, the step budget (online mode)
    loss: str = "hinge"  # "hinge" (the theory's) or "logistic"
    eps: float = 0.02  # stop when the validation hinge loss is <= eps (0 disables)
    eval_every: int = 10  # steps between validation checks / history records
    n_val: int = 512  # validation samples (a fixed set, separate seed)
    mode: str = "online"  # "online" (fresh batches) or "epochs" (fixed training set)
    n_train: int = 4096  # training-set size ("epochs" mode)
    n_epochs: int = 10  # epochs ("epochs" mode)
    seed: int = 0  # data stream of this fine-tuning run

    def __post_init__(self) -> None:
        check_positive("train.lr", self.lr)
        check_positive_int("train.batch_size", self.batch_size)
        check_positive_int("train.n_steps", self.n_steps)
        check_choice("train.loss", self.loss, list(LOSSES))
        check_float("train.eps", self.eps, low=0.0)
        check_positive_int("train.eval_every", self.eval_every)
        check_positive_int("train.n_val", self.n_val)
        check_choice("train.mode", self.mode, ["online", "epochs"])
        check_positive_int("train.n_train", self.n_train)
        check_positive_int("train.n_epochs", self.n_epochs)
        check_int("train.seed", self.seed, minimum=0)

    @property
    def total_steps(self) -> int:
        if self.mode == "online":
            return self.n_steps
        return self.n_epochs * math.ceil(self.n_train / self.batch_size)
