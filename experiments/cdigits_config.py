"""Config of the coloured-digits experiments (``cdigits_*``), checked without importing torch.

Groups: ``data: cdigits`` (source, root, split), ``model: vit`` (the ViT), ``train: cdigits``
(pre-training and fine-tuning), ``eval`` (λ grid) and the experiment's own keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from experiments.config import _build, check_eval, seeds_of, to_container
from models.vit_config import ViTConfig, ViTTrainConfig
from synthetic.cdigits import check_fractions, mnist_files
from synthetic.checks import ConfigError, check_choice, check_float, check_int, fail

DATA_KEYS = {"source", "root", "max_images", "split", "split_seed", "pretrain_colour_seed"}


@dataclass(frozen=True)
class CSetup:
    source: str
    root: str | None
    max_images: int | None
    split: tuple[float, float, float]
    split_seed: int
    pretrain_colour_seed: int
    vit: ViTConfig
    pretrain: ViTTrainConfig
    finetune: ViTTrainConfig
    device: str
    seeds: list[int]


def _dataclass(cls, section: str, values: Any):
    if not isinstance(values, dict):
        raise ConfigError(f"{section}={values!r} is invalid: must be a mapping")
    return _build(cls, section, values)


def rates(key: str, value: Any) -> tuple[float, float]:
    """(r_o, r_e): fractions of red among odd and among even digits, each in [0, 1]."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConfigError(f"{key}={value!r} is invalid: must be [r_o, r_e] with both in [0, 1]")
    return (
        check_float(f"{key}[0]", value[0], low=0.0, high=1.0),  # r_o
        check_float(f"{key}[1]", value[1], low=0.0, high=1.0),  # r_e
    )


def build_csetup(cfg: Any) -> CSetup:
    c = to_container(cfg)
    data = c["data"]
    unknown = sorted(set(data) - DATA_KEYS)
    if unknown:
        raise ConfigError(
            f"data.{unknown[0]} is not a valid key: valid keys are {sorted(DATA_KEYS)}"
        )
    source = check_choice("data.source", data.get("source"), ["sklearn", "mnist"])
    if source == "mnist":
        mnist_files(data.get("root"))  # fails at once, naming the missing files
    if data.get("max_images") is not None:
        check_int("data.max_images", data["max_images"], minimum=20)
    split = check_fractions(data.get("split"))
    check_int("data.split_seed", data.get("split_seed"), minimum=0)
    check_int("data.pretrain_colour_seed", data.get("pretrain_colour_seed"), minimum=0)
    vit = _dataclass(ViTConfig, "model", c["model"])
    if vit.channels != 3:
        raise fail("model.channels", vit.channels, "must be 3 (red, green, blue)")
    train = c["train"]
    unknown = sorted(set(train) - {"pretrain", "finetune"})
    if unknown:
        raise ConfigError(
            f"train.{unknown[0]} is not a valid key: valid keys are ['finetune', 'pretrain']"
        )
    pre = _dataclass(ViTTrainConfig, "train.pretrain", train.get("pretrain"))
    ft = _dataclass(ViTTrainConfig, "train.finetune", train.get("finetune"))
    device = c.get("device", "auto")
    if not (device in ("auto", "cpu") or re.fullmatch(r"cuda(:\d+)?", str(device))):
        raise fail("device", device, "must be one of ['auto', 'cpu', 'cuda', 'cuda:N']")
    check_choice("dtype", c.get("dtype", "float32"), ["float32"])
    cache_dir = c.get("cache_dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise ConfigError(f"cache_dir={cache_dir!r} is invalid: must be a path or null (no cache)")
    check_eval(c["eval"])
    exp = c["experiment"]
    seeds = seeds_of(exp)
    check_float("experiment.min_own_accuracy", exp.get("min_own_accuracy"), low=0.0, high=1.0)
    check_choice("experiment.estimator_output", exp.get("estimator_output"), ["batch", "features"])
    check_int("experiment.n_eval", exp.get("n_eval"), minimum=1) if exp.get(
        "n_eval"
    ) is not None else None
    return CSetup(
        source=source,
        root=data.get("root"),
        max_images=data.get("max_images"),
        split=split,
        split_seed=data["split_seed"],
        pretrain_colour_seed=data["pretrain_colour_seed"],
        vit=vit,
        pretrain=pre,
        finetune=ft,
        device=device,
        seeds=seeds,
    )


def pair_tasks(exp: dict) -> dict[str, tuple[float, float]]:
    t1 = rates("experiment.t1", exp.get("t1"))
    pairs = exp.get("pairs")
    if not isinstance(pairs, dict) or not pairs:
        raise ConfigError(
            f"experiment.pairs={pairs!r} is invalid: must map pair names to [r_o, r_e]"
        )
    out = {"T1": t1}
    for name, v in pairs.items():
        out[str(name)] = rates(f"experiment.pairs.{name}", v)
    return out


def validate_cdigits_pair(cfg: Any) -> CSetup:
    s = build_csetup(cfg)
    pair_tasks(to_container(cfg)["experiment"])
    return s


def validate_cdigits_ood(cfg: Any) -> CSetup:
    s = build_csetup(cfg)
    exp = to_container(cfg)["experiment"]
    for key in ("t1", "t2", "target"):
        rates(f"experiment.{key}", exp.get(key))
    check_float(
        "experiment.high_accuracy", exp.get("high_accuracy"), low=0.0, high=1.0, low_open=True
    )
    from experiments.checks import lambda_axis

    lambda_axis(exp)
    return s


def validate_cdigits_compress(cfg: Any) -> CSetup:
    s = build_csetup(cfg)
    exp = to_container(cfg)["experiment"]
    pair_tasks(exp)
    ranks = exp.get("ranks")
    if not isinstance(ranks, list) or not ranks:
        raise ConfigError(f"experiment.ranks={ranks!r} is invalid: must be a non-empty list")
    max_rank = s.vit.dim  # every body matrix has min(rows, cols) = dim
    for r in ranks:
        check_int("experiment.ranks[]", r, minimum=1, maximum=max_rank)
    keep = exp.get("keep")
    if not isinstance(keep, list) or not keep:
        raise ConfigError(f"experiment.keep={keep!r} is invalid: must be a non-empty list")
    for i, k in enumerate(keep):
        check_float(f"experiment.keep[{i}]", k, low=0.0, high=1.0, low_open=True)
    check_float("experiment.tolerance", exp.get("tolerance"), low=0.0, high=1.0)
    return s
