"""Checks across keys of the coloured-digits (``cdigits_*``) and language-model (``lm_unlearning``)
testbeds. No torch: a bad override fails before any heavy import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import experiments.config.experiments as ex
import experiments.config.schema as sc
from experiments.config.checks import (
    build,
    calibration_seeds_of,
    check_eval,
    check_keys,
    check_ranks,
    lam_axis,
    seeds_of,
)
from experiments.config.setups import CSetup, LSetup, lm_setup, to_container
from models.lm_config import LMTrainConfig
from models.vit_config import ViTConfig
from synthetic.cdigits import check_fractions, mnist_files
from synthetic.checks import check_choice, check_float, check_memory, fail, need


def rates(key: str, value: Any) -> tuple[float, float]:
    """(r_o, r_e): fractions of red among odd and among even digits, each in [0, 1]."""
    two = isinstance(value, list | tuple) and len(value) == 2
    need(two, key, value, "must be [r_o, r_e] with both in [0, 1]")
    return (
        check_float(f"{key}[0]", value[0], low=0.0, high=1.0),
        check_float(f"{key}[1]", value[1], low=0.0, high=1.0),
    )


def build_csetup(cfg: Any, schema: type = ex.CDigitsPair, limit: int = 100_000) -> CSetup:
    c = to_container(cfg)
    top = check_keys(c)
    data = build(sc.DigitsData, "data", c["data"])
    if data.source == "mnist":
        mnist_files(data.root)  # fails at once, naming the missing files
    why = "is only read with data.source=mnist (sklearn's digits come with the library)"
    need(data.root is None or data.source == "mnist", "data.root", data.root, why)
    split = check_fractions(data.split)
    vit = build(ViTConfig, "model", c["model"])
    need(vit.channels == 3, "model.channels", vit.channels, "must be 3 (red, green, blue)")
    body = vit.depth * (4 + 2 * vit.mlp_ratio) * vit.dim**2 + vit.patch**2 * vit.channels * vit.dim
    check_memory("model.dim", vit.dim, 6 * body * 4, "the ViT's weights (6 copies, float32)")
    train = build(sc.ViTTrain, "train", c["train"])
    check_choice("dtype", top.dtype, ["float32"])
    check_eval(c["eval"], limit)
    build(schema, "experiment", c["experiment"])
    kept = ("source", "root", "max_images", "split_seed", "pretrain_colour_seed")
    return CSetup(split=split, vit=vit, pretrain=train.pretrain, finetune=train.finetune,
                  device=top.device, seeds=seeds_of(c["experiment"]),
                  **{k: getattr(data, k) for k in kept})  # fmt: skip


def pair_tasks(exp: dict) -> dict[str, tuple[float, float]]:
    t1, pairs = rates("experiment.t1", exp.get("t1")), exp.get("pairs")
    need(
        isinstance(pairs, dict) and pairs, "experiment.pairs", pairs, "must map names to [r_o, r_e]"
    )
    return {"T1": t1, **{str(k): rates(f"experiment.pairs.{k}", v) for k, v in pairs.items()}}


def validate_cdigits_pair(cfg: Any) -> CSetup:
    s = build_csetup(cfg)
    pair_tasks(to_container(cfg)["experiment"])
    return s


def validate_cdigits_ood(cfg: Any) -> CSetup:
    s, exp = build_csetup(cfg, ex.CDigitsOod, 1000), to_container(cfg)["experiment"]
    for key in ("t1", "t2", "target"):
        rates(f"experiment.{key}", exp.get(key))
    calibration_seeds_of(exp)
    return s


def validate_cdigits_compress(cfg: Any) -> CSetup:
    s, exp = build_csetup(cfg, ex.CDigitsCompress), to_container(cfg)["experiment"]
    pair_tasks(exp)
    check_ranks(exp["ranks"], s.vit.dim)  # every body matrix has min(rows, cols) = dim
    t1 = lam_axis(exp["t1_lam"], "experiment.t1_lam")
    need(t1[0] >= 0, "experiment.t1_lam.min", t1[0], "must be >= 0 (T1's coefficient)")
    return s


def _split_sizes(data: dict, split: tuple[float, float, float]) -> dict[str, int] | None:
    """Train / val / test sizes of the bundled digits (None for MNIST: known only once read)."""
    if data.get("source") != "sklearn":
        return None
    n = min(1797, data.get("max_images") or 1797)  # sklearn's load_digits holds 1797 images
    n_train, n_val = round(split[0] * n), round(split[1] * n)
    return {"train": n_train, "val": n_val, "test": n - n_train - n_val}


def validate_gradients_vit(cfg: Any) -> CSetup:
    from synthetic.digit_tasks import TASKS

    s, c = build_csetup(cfg, ex.GradientsViT), to_container(cfg)
    exp = c["experiment"]
    tasks = exp["tasks"]
    need(len(tasks) >= 2, "experiment.tasks", tasks, "must name at least 2 tasks")
    for i, t in enumerate(tasks):
        check_choice(f"experiment.tasks[{i}]", t, sorted(TASKS))
    need(len(set(tasks)) == len(tasks), "experiment.tasks", tasks, "must not repeat a task")
    for i, k in enumerate(exp["set_sizes"]):
        why = f"must be < the number of tasks {len(tasks)} (all tasks are always merged)"
        need(k < len(tasks), f"experiment.set_sizes[{i}]", k, why)
    need(
        max(exp["ks"]) >= 2,
        "experiment.ks",
        exp["ks"],
        "needs some k >= 2 (the error is 0 at k = 1)",
    )
    sizes = _split_sizes(c["data"], s.split)
    if sizes is not None:
        for key, split in (
            ("n_train", "train"),
            ("exact_n", "train"),
            ("n_eval", "val"),
            ("n_eval", "test"),
        ):
            why = f"must be <= the {split} split's {sizes[split]} digits"
            need(exp[key] <= sizes[split], f"experiment.{key}", exp[key], why)
    return s


def _path(key: str, value: Any, file: str = "") -> str:
    """``value`` (expanded) if it names a readable UTF-8 text file (or a directory holding a
    transformers ``file``: JSON with a ``model_type``)."""
    p = Path(str(value)).expanduser()
    f = p / file if file else p
    if not f.is_file():
        valid = f"must be a local directory holding a transformers checkpoint ({file})"
        raise fail(key, value, valid if file else "is not a readable file")
    try:
        text = f.read_bytes().decode("utf-8")
        ok = not file or "model_type" in json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as err:
        raise fail(
            key, value, f"{f.name} is not {'JSON' if file else 'UTF-8 text'} ({err})"
        ) from None
    need(ok, key, value, f"{file} has no model_type: not a transformers checkpoint")
    return str(p)


def _books(data: sc.BooksData) -> dict:
    why = "must list 3 text files [A, B, C] (or be null for the generated books)"
    need(data.books is None or len(data.books) == 3, "data.books", data.books, why)
    books = [_path(f"data.books[{i}]", b) for i, b in enumerate(data.books or [])]
    bg = _path("data.background", data.background) if data.background is not None else None
    # ~100 bytes of text and ~30 tokens (8 bytes each, twice) per generated sentence
    size = (3 * data.sentences + data.background_sentences) * 600
    check_memory("data.sentences", data.sentences, size, "the corpus")
    kept = ("sentences", "background_sentences")
    return {"books": books or None, "background": bg, "corpus_seed": data.seed, "overlap": float(data.overlap),
            "held_out": float(data.held_out), **{k: getattr(data, k) for k in kept}}  # fmt: skip


def _lm_fits(model: sc.LMModel, train: sc.LMTrain, exp: ex.LMUnlearning) -> None:
    """Sizes that must fit the model built here (a pretrained checkpoint brings its own)."""
    n, e = model.n_positions, model.n_embd
    need(e % model.n_head == 0, "model.n_head", model.n_head, f"must divide model.n_embd={e}")
    if model.pretrained is not None:
        return
    for sec in ("pretrain", "finetune"):
        seq = getattr(train, sec).seq_len
        need(seq <= n, f"train.{sec}.seq_len", seq, f"must be <= model.n_positions={n}")
    why = f"must be <= model.n_embd={e} (the smallest side of the adapted layers)"
    need(train.lora.rank <= e, "train.lora.rank", train.lora.rank, why)
    k, why = exp.continuation_tokens, f"prompt + continuation must fit model.n_positions={n}"
    need(exp.prompt_tokens + k <= n, "experiment.continuation_tokens", k, why)


def _prompts_fit(model: sc.LMModel, pretrained: str | None, exp: ex.LMUnlearning) -> None:
    """All prompts are continued in one batch: its key/value cache and logits must fit in memory."""
    sizes = vars(model)
    if pretrained is not None:  # the checkpoint's own sizes (GPT-2 or Llama/Phi spellings)
        c = json.loads((Path(pretrained) / "config.json").read_text())
        sizes = {"n_layer": c.get("n_layer", c.get("num_hidden_layers", 1)),
                 "n_embd": c.get("n_embd", c.get("hidden_size", 1)), "vocab_size": c.get("vocab_size", 1)}  # fmt: skip
    n, length = exp.n_prompts, exp.prompt_tokens + exp.continuation_tokens
    per = length * (2 * sizes["n_layer"] * sizes["n_embd"] + 2 * sizes["vocab_size"]) * 4
    check_memory("experiment.n_prompts", n, n * per, "one batch of prompts (cache and logits)")


def build_lsetup(cfg: Any) -> LSetup:
    c = to_container(cfg)
    top = check_keys(c)
    check_choice("dtype", top.dtype, ["float32"])  # the GPT and LoRA are trained in float32
    corpus = _books(build(sc.BooksData, "data", c["data"]))
    model = build(sc.LMModel, "model", c["model"])
    pretrained = (
        _path("model.pretrained", model.pretrained, "config.json") if model.pretrained else None
    )
    t = build(sc.LMTrain, "train", c["train"])
    steps = {k: LMTrainConfig(**vars(getattr(t, k))) for k in ("pretrain", "finetune")}
    train = sc.LMTrain(**steps, lora=t.lora)
    check_eval(c["eval"])
    exp = build(ex.LMUnlearning, "experiment", c["experiment"])
    seeds_of(c["experiment"])
    _lm_fits(model, train, exp)
    _prompts_fit(model, pretrained, exp)
    return lm_setup(top, corpus, model, train, exp, pretrained)


validate_lm_unlearning = build_lsetup
