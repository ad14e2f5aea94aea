"""Config of ``lm_unlearning`` (data: books, model: lm, train: lm), checked without importing torch."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.config import seeds_of, to_container
from synthetic.checks import ConfigError, check_choice, check_float, check_int, check_memory, fail

DATA_KEYS = {
    "books",
    "background",
    "seed",
    "overlap",
    "sentences",
    "background_sentences",
    "held_out",
}
MODEL_KEYS = {
    "pretrained",
    "arch",
    "n_embd",
    "n_layer",
    "n_head",
    "n_positions",
    "vocab_size",
    "seed",
}
TRAIN_KEYS = {"pretrain", "finetune", "lora"}
STEP_KEYS = {"steps", "batch_size", "seq_len", "lr"}


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
    model: Any  # models.lm.LMConfig (built lazily: it imports nothing heavy, but keep torch out)
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


def _unknown(section: str, values: dict, valid: set[str]) -> None:
    bad = sorted(set(values) - valid)
    if bad:
        raise ConfigError(f"{section}.{bad[0]} is not a valid key: valid keys are {sorted(valid)}")


def _steps(section: str, v: Any) -> dict:
    if not isinstance(v, dict):
        raise ConfigError(
            f"{section}={v!r} is invalid: must be a mapping with keys {sorted(STEP_KEYS)}"
        )
    _unknown(section, v, STEP_KEYS)
    for k in ("steps", "batch_size", "seq_len"):
        check_int(f"{section}.{k}", v.get(k), minimum=1)
    check_float(f"{section}.lr", v.get("lr"), low=0.0, low_open=True)
    return v


def build_lsetup(cfg: Any) -> LSetup:
    from models.lm_config import LMConfig, LMTrainConfig

    c = to_container(cfg)
    data, model, train, exp = c["data"], c["model"], c["train"], c["experiment"]
    _unknown("data", data, DATA_KEYS)
    _unknown("model", model, MODEL_KEYS)
    _unknown("train", train, TRAIN_KEYS)
    books = data.get("books")
    if books is not None:
        if not isinstance(books, list) or len(books) != 3:
            raise fail(
                "data.books",
                books,
                "must list 3 text files [A, B, C] (or be null for the generated books)",
            )
        for i, b in enumerate(books):
            if not Path(str(b)).expanduser().is_file():
                raise fail(f"data.books[{i}]", b, "is not a readable file")
    bg = data.get("background")
    if bg is not None and not Path(str(bg)).expanduser().is_file():
        raise fail("data.background", bg, "is not a readable file")
    check_int("data.seed", data.get("seed"), minimum=0)
    check_float("data.overlap", data.get("overlap"), low=0.0, high=1.0)
    check_int("data.sentences", data.get("sentences"), minimum=10)
    check_int("data.background_sentences", data.get("background_sentences"), minimum=0)
    # ~100 bytes of text and ~30 tokens (8 bytes each, twice) per generated sentence
    check_memory(
        "data.sentences",
        data["sentences"],
        (3 * data["sentences"] + data["background_sentences"]) * 600,
        "the corpus",
    )
    held = check_float(
        "data.held_out", data.get("held_out"), low=0.0, high=1.0, low_open=True, high_open=True
    )
    pretrained = model.get("pretrained")
    if pretrained is not None:
        p = Path(str(pretrained)).expanduser()
        if not (p / "config.json").is_file():
            raise fail(
                "model.pretrained",
                pretrained,
                "must be a local directory holding a transformers checkpoint (config.json)",
            )
    check_choice("model.arch", model.get("arch"), ["gpt2", "phi"])
    for k in ("n_embd", "n_layer", "n_head", "n_positions"):
        check_int(f"model.{k}", model.get(k), minimum=1)
    if model["n_embd"] % model["n_head"]:
        raise fail("model.n_head", model["n_head"], f"must divide model.n_embd={model['n_embd']}")
    check_int("model.vocab_size", model.get("vocab_size"), minimum=260)
    check_int("model.seed", model.get("seed"), minimum=0)
    pre, ft = (
        _steps("train.pretrain", train.get("pretrain")),
        _steps("train.finetune", train.get("finetune")),
    )
    for sec, v in (("train.pretrain", pre), ("train.finetune", ft)):
        if v["seq_len"] > model["n_positions"] and pretrained is None:
            raise fail(
                f"{sec}.seq_len",
                v["seq_len"],
                f"must be <= model.n_positions={model['n_positions']}",
            )
    lora = train.get("lora") or {}
    _unknown("train.lora", lora, {"rank", "alpha", "targets", "lr"})
    rank = check_int("train.lora.rank", lora.get("rank"), minimum=1)
    if pretrained is None and rank > model["n_embd"]:
        raise fail(
            "train.lora.rank",
            rank,
            f"must be <= model.n_embd={model['n_embd']} (the smallest side of the adapted layers)",
        )
    alpha = check_float("train.lora.alpha", lora.get("alpha"), low=0.0, low_open=True)
    lora_lr = check_float("train.lora.lr", lora.get("lr"), low=0.0, low_open=True)
    targets = lora.get("targets")
    if targets is not None and (
        not isinstance(targets, list) or not all(isinstance(t, str) for t in targets)
    ):
        raise fail(
            "train.lora.targets", targets, "must be a list of module names or null (peft's default)"
        )
    device = c.get("device", "auto")
    if not (device in ("auto", "cpu") or re.fullmatch(r"cuda(:\d+)?", str(device))):
        raise fail("device", device, "must be one of ['auto', 'cpu', 'cuda', 'cuda:N']")
    lams = exp.get("lambdas")
    if not isinstance(lams, list) or not lams:
        raise fail("experiment.lambdas", lams, "must be a non-empty list of coefficients")
    for i, v in enumerate(lams):
        check_float(f"experiment.lambdas[{i}]", v, low=-10.0, high=10.0)
    n_prompts = check_int("experiment.n_prompts", exp.get("n_prompts"), minimum=1)
    p_tok = check_int("experiment.prompt_tokens", exp.get("prompt_tokens"), minimum=1)
    c_tok = check_int("experiment.continuation_tokens", exp.get("continuation_tokens"), minimum=1)
    if pretrained is None and p_tok + c_tok > model["n_positions"]:
        raise fail(
            "experiment.continuation_tokens",
            c_tok,
            f"prompt + continuation must fit model.n_positions={model['n_positions']}",
        )
    return LSetup(
        books=[str(Path(str(b)).expanduser()) for b in books] if books else None,
        background=str(Path(str(bg)).expanduser()) if bg else None,
        corpus_seed=data["seed"],
        overlap=float(data["overlap"]),
        sentences=data["sentences"],
        background_sentences=data["background_sentences"],
        held_out=held,
        pretrained=str(Path(str(pretrained)).expanduser()) if pretrained else None,
        model=LMConfig(**{k: v for k, v in model.items() if k != "pretrained"}),
        pretrain=LMTrainConfig(**pre),
        finetune=LMTrainConfig(**ft),
        lora_rank=rank,
        lora_alpha=alpha,
        lora_targets=targets,
        lora_lr=lora_lr,
        device=device,
        seeds=seeds_of(exp),
        n_prompts=n_prompts,
        prompt_tokens=p_tok,
        continuation_tokens=c_tok,
    )


def validate_lm_unlearning(cfg: Any) -> LSetup:
    return build_lsetup(cfg)


def read_corpus(s: LSetup) -> dict:
    """The three books (A, B, C) and the background: the user's files or the seeded generator's."""
    from synthetic.books import generate

    if s.books:
        books = {
            k: Path(p).read_text(encoding="utf-8") for k, p in zip("ABC", s.books, strict=True)
        }
        for k, text in books.items():
            if len(text.strip()) < 200:
                raise fail(
                    f"data.books[{'ABC'.index(k)}]",
                    s.books["ABC".index(k)],
                    "holds too little text (< 200 characters)",
                )
        background = Path(s.background).read_text(encoding="utf-8") if s.background else ""
        return {"books": books, "background": background}
    corpus = generate(
        s.corpus_seed,
        overlap=s.overlap,
        sentences=s.sentences,
        background_sentences=s.background_sentences,
    )
    background = (
        Path(s.background).read_text(encoding="utf-8") if s.background else corpus.background
    )
    return {"books": dict(corpus.books), "background": background, "casts": corpus.casts}
