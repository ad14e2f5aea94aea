"""Checks across keys of the coloured-digits (``cdigits_*``) and language-model (``lm_unlearning``)
testbeds, and the setups they return. No torch: a bad override fails before any heavy import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.config import experiments as ex
from experiments.config import schema as sc
from experiments.config.setup import build, check_eval, check_keys, seeds_of, to_container
from models.lm_config import LMConfig, LMSteps, LMTrainConfig
from models.vit_config import ViTConfig, ViTTrainConfig
from synthetic.cdigits import check_fractions, mnist_files
from synthetic.checks import ConfigError, check_choice, check_float, check_int, check_memory, fail


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


def rates(key: str, value: Any) -> tuple[float, float]:
    """(r_o, r_e): fractions of red among odd and among even digits, each in [0, 1]."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConfigError(f"{key}={value!r} is invalid: must be [r_o, r_e] with both in [0, 1]")
    return (
        check_float(f"{key}[0]", value[0], low=0.0, high=1.0),  # r_o
        check_float(f"{key}[1]", value[1], low=0.0, high=1.0),  # r_e
    )


def build_csetup(cfg: Any, schema: type = ex.CDigitsPair) -> CSetup:
    c = to_container(cfg)
    top = check_keys(c)
    data = build(sc.DigitsData, "data", c["data"])
    if data.source == "mnist":
        mnist_files(data.root)  # fails at once, naming the missing files
    split = check_fractions(data.split)
    vit = build(ViTConfig, "model", c["model"])
    if vit.channels != 3:
        raise fail("model.channels", vit.channels, "must be 3 (red, green, blue)")
    train = build(sc.ViTTrain, "train", c["train"])
    pre = build(ViTTrainConfig, "train.pretrain", train.pretrain)
    ft = build(ViTTrainConfig, "train.finetune", train.finetune)
    check_choice("dtype", top.dtype, ["float32"])
    check_eval(c["eval"])
    build(schema, "experiment", c["experiment"])
    return CSetup(
        source=data.source,
        root=data.root,
        max_images=data.max_images,
        split=split,
        split_seed=data.split_seed,
        pretrain_colour_seed=data.pretrain_colour_seed,
        vit=vit,
        pretrain=pre,
        finetune=ft,
        device=top.device,
        seeds=seeds_of(c["experiment"]),
    )


def pair_tasks(exp: dict) -> dict[str, tuple[float, float]]:
    t1 = rates("experiment.t1", exp.get("t1"))
    pairs = exp.get("pairs")
    if not isinstance(pairs, dict) or not pairs:
        raise ConfigError(
            f"experiment.pairs={pairs!r} is invalid: must map pair names to [r_o, r_e]"
        )
    return {"T1": t1, **{str(k): rates(f"experiment.pairs.{k}", v) for k, v in pairs.items()}}


def validate_cdigits_pair(cfg: Any) -> CSetup:
    s = build_csetup(cfg)
    pair_tasks(to_container(cfg)["experiment"])
    return s


def validate_cdigits_ood(cfg: Any) -> CSetup:
    from experiments.config.checks import lambda_axis

    s = build_csetup(cfg, ex.CDigitsOod)
    exp = to_container(cfg)["experiment"]
    for key in ("t1", "t2", "target"):
        rates(f"experiment.{key}", exp.get(key))
    lambda_axis(exp)
    return s


def validate_cdigits_compress(cfg: Any) -> CSetup:
    s = build_csetup(cfg, ex.CDigitsCompress)
    exp = to_container(cfg)["experiment"]
    pair_tasks(exp)
    ranks = exp.get("ranks")
    if not isinstance(ranks, list) or not ranks:
        raise ConfigError(f"experiment.ranks={ranks!r} is invalid: must be a non-empty list")
    for r in ranks:  # every body matrix has min(rows, cols) = dim
        check_int("experiment.ranks[]", r, minimum=1, maximum=s.vit.dim)
    return s


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


def _path(key: str, value: Any, file: str = "") -> str:
    """``value`` (expanded) if it names a readable file (or a directory holding ``file``)."""
    p = Path(str(value)).expanduser()
    if not (p / file if file else p).is_file():
        raise fail(
            key,
            value,
            "is not a readable file"
            if not file
            else f"must be a local directory holding a transformers checkpoint ({file})",
        )
    return str(p)


def _books(data: sc.BooksData) -> dict:
    if data.books is not None and len(data.books) != 3:
        raise fail(
            "data.books",
            data.books,
            "must list 3 text files [A, B, C] (or be null for the generated books)",
        )
    books = [_path(f"data.books[{i}]", b) for i, b in enumerate(data.books or [])]
    bg = _path("data.background", data.background) if data.background is not None else None
    # ~100 bytes of text and ~30 tokens (8 bytes each, twice) per generated sentence
    need = (3 * data.sentences + data.background_sentences) * 600
    check_memory("data.sentences", data.sentences, need, "the corpus")
    return {
        "books": books or None,
        "background": bg,
        "corpus_seed": data.seed,
        "overlap": float(data.overlap),
        "sentences": data.sentences,
        "background_sentences": data.background_sentences,
        "held_out": float(data.held_out),
    }


def _lm_fits(model: sc.LMModel, train: sc.LMTrain, exp: ex.LMUnlearning) -> None:
    """Sizes that must fit the model built here (a pretrained checkpoint brings its own)."""
    if model.n_embd % model.n_head:
        raise fail("model.n_head", model.n_head, f"must divide model.n_embd={model.n_embd}")
    if model.pretrained is not None:
        return
    for sec in ("pretrain", "finetune"):
        if getattr(train, sec).seq_len > model.n_positions:
            raise fail(
                f"train.{sec}.seq_len",
                getattr(train, sec).seq_len,
                f"must be <= model.n_positions={model.n_positions}",
            )
    if train.lora.rank > model.n_embd:
        raise fail(
            "train.lora.rank",
            train.lora.rank,
            f"must be <= model.n_embd={model.n_embd} (the smallest side of the adapted layers)",
        )
    if exp.prompt_tokens + exp.continuation_tokens > model.n_positions:
        raise fail(
            "experiment.continuation_tokens",
            exp.continuation_tokens,
            f"prompt + continuation must fit model.n_positions={model.n_positions}",
        )


def build_lsetup(cfg: Any) -> LSetup:
    c = to_container(cfg)
    top = check_keys(c)
    data = build(sc.BooksData, "data", c["data"])
    corpus = _books(data)
    model = build(sc.LMModel, "model", c["model"])
    pretrained = (
        _path("model.pretrained", model.pretrained, "config.json") if model.pretrained else None
    )
    t = build(sc.LMTrain, "train", c["train"])  # values checked below
    train = sc.LMTrain(
        pretrain=LMTrainConfig(**vars(build(LMSteps, "train.pretrain", t.pretrain))),
        finetune=LMTrainConfig(**vars(build(LMSteps, "train.finetune", t.finetune))),
        lora=build(sc.LoRA, "train.lora", t.lora),
    )
    exp = build(ex.LMUnlearning, "experiment", c["experiment"])
    _lm_fits(model, train, exp)
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
        seeds=seeds_of(c["experiment"]),
        n_prompts=exp.n_prompts,
        prompt_tokens=exp.prompt_tokens,
        continuation_tokens=exp.continuation_tokens,
    )


def validate_lm_unlearning(cfg: Any) -> LSetup:
    return build_lsetup(cfg)
