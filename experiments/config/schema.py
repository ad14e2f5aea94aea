"""The config schema: Hydra structured configs in the ConfigStore (no torch).

Every group option of ``conf/`` extends its schema (``defaults: [/schema/<group>@_here_: <name>]``)
and every experiment preset selects its experiment's schema, whose defaults are the experiment's
standard values: a preset holds only its deltas. Composition rejects a mistyped value and an
unknown key; a key added with ``+key=value`` is rejected by ``build`` before any work. Each value's
range is written once, on its field (``synthetic.checks.integer/number/choice/flag/numbers``), and
checked when the dataclass is built; checks across fields live with the setups (``setup.py``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import MISSING, dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from experiments.config.experiments import SCHEMAS, Lam, axis
from models.config import ModelConfig, TrainConfig
from models.lm_config import LMConfig, LMSteps
from models.vit_config import ViTConfig, ViTTrainConfig
from synthetic.checks import check_fields, choice, fail, flag, integer, number, seed_field
from synthetic.tokens import TokenConfig

Num = int | float
Gamma = list[Num]


@dataclass(kw_only=True)
class Config:
    data: Any = None
    model: Any = None
    train: Any = None
    eval: Any = None
    logging: Any = None
    experiment: Any = None
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    dtype: str = choice("float32", "float32", "float64")
    progress: Any = flag(True)  # typed here: a bool field would read progress=2 as true
    recompute: Any = flag(False)
    batched: Any = choice("auto", "auto", True, False)
    cache_dir: str | None = None
    regime: str = "default"  # the name of the conf/regime/ file that ran (set by that file)

    def __post_init__(self) -> None:
        check_fields(self, "")
        if not (self.device in ("auto", "cpu") or re.fullmatch(r"cuda(:\d+)?", str(self.device))):
            raise fail("device", self.device, "must be one of ['auto', 'cpu', 'cuda', 'cuda:N']")


@dataclass(kw_only=True)
class Eval:
    lam: Lam = axis(-3.0, 3.0, 0.1)  # the λ grid of every sweep: its axis, 1-D or 2-D (λ1 and λ2)
    eps: Num = number(low=0.0, low_open=True)
    forget_hinge: Num = number(low=0.0, low_open=True)
    retain_fraction: Num = number(low=0.0, high=1.0)
    # MiB per grid-evaluation chunk; 1 MiB holds one grid point on >= 10 samples of every testbed's
    # default model (one sample: 4-100 KiB): below that no chunk can honour the budget at all
    memory_mb: Num = number(low=1.0)


@dataclass(kw_only=True)
class Wandb:
    enabled: bool = flag()
    mode: str = choice(MISSING, "online", "offline", "disabled")
    project: str = MISSING
    group: str | None = None
    job_type: str | None = None
    tags: list[str] = MISSING
    name: str | None = None


@dataclass(kw_only=True)
class Logging:
    wandb: Wandb = MISSING


# ----------------------------------------------------------------------------- data, model, train
@dataclass(frozen=True, kw_only=True)
class PairData(TokenConfig):
    d: int = integer(lo=1)
    alpha: Num = number(low=-1.0, high=1.0)
    n_irrelevant: int | None = None  # checked with d (synthetic.checks.check_room)
    rotate: bool = flag()
    basis_seed: int = seed_field()
    n_test: int = integer(lo=1)


@dataclass(kw_only=True)
class DigitsData:
    source: str = choice(MISSING, "sklearn", "mnist")
    root: str | None = None
    max_images: int | None = integer(None, lo=20, optional=True)
    split: list[Num] = MISSING  # checked by synthetic.cdigits.check_fractions
    split_seed: int = seed_field()
    pretrain_colour_seed: int = seed_field()


@dataclass(kw_only=True)
class BooksData:
    books: list[str] | None = None
    background: str | None = None
    seed: int = seed_field()
    overlap: Num = number(low=0.0, high=1.0)
    sentences: int = integer(lo=10)
    background_sentences: int = integer(lo=0)
    held_out: Num = number(low=0.0, high=1.0, low_open=True, high_open=True)


@dataclass(frozen=True, kw_only=True)
class LMModel(LMConfig):
    pretrained: str | None = None


@dataclass(kw_only=True)
class LoRA:
    rank: int = integer(8, lo=1)
    alpha: Num = number(16, low=0.0, low_open=True)
    lr: Num = number(0.01, low=0.0, low_open=True)
    targets: list[str] | None = None  # null: peft's default modules


@dataclass(kw_only=True)
class LMTrain:
    pretrain: LMSteps = field(default_factory=LMSteps)
    finetune: LMSteps = field(default_factory=LMSteps)
    lora: LoRA = field(default_factory=LoRA)


@dataclass(kw_only=True)
class ViTTrain:
    pretrain: ViTTrainConfig = field(default_factory=ViTTrainConfig)
    finetune: ViTTrainConfig = field(default_factory=ViTTrainConfig)


GROUPS = {
    "data": {"pair": PairData, "digits": DigitsData, "books": BooksData},
    "model": {"one_layer": ModelConfig, "vit": ViTConfig, "lm": LMModel},
    "train": {"one_layer": TrainConfig, "vit": ViTTrain, "lm": LMTrain},
    "eval": {"default": Eval},
    "logging": {"default": Logging},
}


def _node(cls: type) -> Any:
    """The schema of ``cls`` as a node that YAML can merge into (frozen dataclasses included)."""
    node = OmegaConf.structured(cls)
    for child in [node, *(v for _, v in node.items_ex(resolve=False) if OmegaConf.is_config(v))]:
        OmegaConf.set_readonly(child, None)
    return node


MAX_NAME = 200  # bytes of one directory name (file systems allow 255)


def job_dir(overrides: str) -> str:
    """A job directory name from its overrides (``${job_dir:${hydra.job.override_dirname}}``): as is
    when every part fits, else a readable prefix and a hash of them all (the full overrides are in
    the job's ``.hydra/overrides.yaml``)."""
    if all(len(part.encode()) <= MAX_NAME for part in overrides.split("/")):
        return overrides
    digest = hashlib.sha256(overrides.encode()).hexdigest()[:12]
    prefix = overrides.replace("/", "_").encode()[: MAX_NAME - 13].decode(errors="ignore")
    return f"{prefix}-{digest}"


def register() -> None:
    """Put every schema in Hydra's ConfigStore (``schema``, ``schema/<group>/<name>``) and the
    ``job_dir`` resolver in OmegaConf."""
    OmegaConf.register_new_resolver("job_dir", job_dir, replace=True)
    store = ConfigStore.instance()
    store.store(name="schema", node=_node(Config))
    for group, options in {**GROUPS, "experiment": SCHEMAS}.items():
        for name, cls in options.items():
            store.store(group=f"schema/{group}", name=name, node=_node(cls))


register()
