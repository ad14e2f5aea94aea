"""Model and training configurations (no torch import: they are validated before any work)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from synthetic.checks import check_fields, choice, integer, number, seed_field

LOSSES = ("hinge", "logistic")
PARAM_NAMES = {"wv": ("W", "V"), "qkvo": ("W_Q", "W_K", "W_V", "W_O")}
HIDDEN_ROWS = {"wv": "V", "qkvo": "W_O"}  # the matrix whose rows are the m hidden neurons


@dataclass(frozen=True)
class ModelConfig:
    d: int = integer(32, lo=1)
    n_tokens: int = integer(16, lo=1)  # P (the readout has one vector per query position)
    width: int = integer(64, lo=2)  # m, hidden neurons
    parametrization: str = choice("wv", *PARAM_NAMES)  # "wv" (W, V) or "qkvo" (W_Q, W_K, W_V, W_O)
    m_a: int | None = integer(None, lo=1, optional=True)  # inner dim of W_V/W_O ("qkvo"); None: d
    m_b: int | None = integer(None, lo=1, optional=True)  # inner dim of W_Q/W_K ("qkvo"); None: d
    readout: str = choice(
        "shared", "shared", "per_position"
    )  # one a for all positions, or one each
    w0_std: int | float = number(0.0, low=0.0)  # std of W0 entries ("wv"); 0: uniform attention
    v0_std: int | float = number(0.01, low=0.0)  # std of V0 entries ("wv")
    qk0_std: int | float = number(0.1, low=0.0)  # std of W_Q, W_K entries ("qkvo")
    vo0_std: int | float = number(0.05, low=0.0)  # std of W_V, W_O entries ("qkvo")
    seed: int = seed_field(0)  # draws the readout and the initial weights of Ψ0

    def __post_init__(self) -> None:
        check_fields(self, "model")

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
    lr: int | float = number(5.0, low=0.0, low_open=True)  # η (readout ±1/√m, 1/P average)
    batch_size: int = integer(64, lo=1)  # B
    n_steps: int = integer(1000, lo=1)  # T, the step budget (online mode)
    loss: str = choice("hinge", *LOSSES)  # "hinge" (the theory's) or "logistic"
    eps: int | float = number(0.02, low=0.0)  # stop when validation hinge <= eps (0 disables)
    eval_every: int = integer(10, lo=1)  # steps between validation checks / history records
    n_val: int = integer(512, lo=1)  # validation samples (a fixed set, separate seed)
    mode: str = choice("online", "online", "epochs")  # fresh batches | a fixed training set
    n_train: int = integer(4096, lo=1)  # training-set size ("epochs" mode)
    n_epochs: int = integer(10, lo=1)  # epochs ("epochs" mode)
    seed: int = seed_field(0)  # data stream of this fine-tuning run
    lr_w_scale: int | float = number(1.0, low=0.0, low_open=True)  # η multiplier: W (W_Q, W_K)
    lr_v_scale: int | float = number(1.0, low=0.0, low_open=True)  # η multiplier: V (W_V, W_O)
    margin: int | float = number(1.0, low=0.0, low_open=True)  # training hinge max(0, margin − y f)

    def __post_init__(self) -> None:
        check_fields(self, "train")

    @property
    def total_steps(self) -> int:
        if self.mode == "online":
            return self.n_steps
        return self.n_epochs * math.ceil(self.n_train / self.batch_size)
