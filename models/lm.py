"""A small decoder-only language model built with ``transformers`` (GPT-2 or Phi architecture, random
init, nothing downloaded), its byte-level BPE tokenizer (``tokenizers``), training, LoRA (``peft``),
greedy continuations and per-token loss. Nothing here is specific to task vectors: they are
``models.task_vectors.TaskVector.from_models`` and ``apply`` (any torch module; a LoRA model's is
``lora_task_vector``); α̂ on its logits is ``models.estimators.output_alpha(..., output="logits")``;
the cache adapter is ``models.lm_cache``.

A real checkpoint is loaded from a local directory with ``from_pretrained(..., local_files_only=True)``
(model and tokenizer); everything downstream is the same code path.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from models.lm_config import LMConfig, LMTrainConfig
from synthetic.runtime import generator

log = logging.getLogger(__name__)
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


# ----------------------------------------------------------------------------- tokenizer and model
def train_tokenizer(texts: Sequence[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on ``texts``, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )


def new_model(cfg: LMConfig, vocab_size: int):
    """A randomly initialised causal LM of ``cfg.arch`` (seeded)."""
    from transformers import GPT2Config, GPT2LMHeadModel, PhiConfig, PhiForCausalLM

    torch.manual_seed(cfg.seed)
    if cfg.arch == "gpt2":
        conf = GPT2Config(
            vocab_size=vocab_size,
            n_positions=cfg.n_positions,
            n_embd=cfg.n_embd,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            bos_token_id=0,
            eos_token_id=0,
            pad_token_id=0,
            # the loss transformers falls back to for this class anyway, named so that it does not
            # log "loss_type=None ... unrecognized" on the first loss (same function, same numbers)
            loss_type="ForCausalLM",
        )
        return GPT2LMHeadModel(conf)
    conf = PhiConfig(
        vocab_size=vocab_size,
        hidden_size=cfg.n_embd,
        intermediate_size=4 * cfg.n_embd,
        num_hidden_layers=cfg.n_layer,
        num_attention_heads=cfg.n_head,
        max_position_embeddings=cfg.n_positions,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return PhiForCausalLM(conf)


def load_local(path: str | os.PathLike):
    """Model and tokenizer from a local directory, never from the network."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def hidden_size(model) -> int:
    c = model.config
    return int(getattr(c, "n_embd", None) or c.hidden_size)


# ----------------------------------------------------------------------------- training
def windows(ids: torch.Tensor, n: int, length: int, g: torch.Generator) -> torch.Tensor:
    """n random windows of ``length`` tokens from a 1-D token stream."""
    if len(ids) <= length:
        raise ValueError(f"the text has {len(ids)} tokens, fewer than one window of {length + 1}")
    start = torch.randint(0, len(ids) - length, (n,), generator=g)
    return torch.stack([ids[s : s + length] for s in start.tolist()])


def train(
    model, ids: torch.Tensor, cfg: LMTrainConfig, *, progress: bool = False, desc: str = "training"
):
    """AdamW on next-token cross-entropy over random windows of ``ids``; returns the loss per step."""
    dev = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    g = generator(cfg.seed, "cpu")
    model.train()
    losses = []
    for _ in tqdm(range(cfg.steps), desc=desc, disable=not progress, leave=False):
        x = windows(ids, cfg.batch_size, cfg.seq_len, g).to(dev)
        out = model(input_ids=x, labels=x)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        losses.append(float(out.loss.detach()))
    model.eval()
    return losses


def lora_finetune(
    model,
    ids: torch.Tensor,
    cfg: LMTrainConfig,
    rank: int,
    alpha: float,
    targets,
    *,
    progress=False,
):
    """LoRA fine-tuning (peft); returns (peft model, losses). The base model is deep-copied first."""
    from peft import LoraConfig, get_peft_model

    base = copy.deepcopy(model)
    conf = LoraConfig(
        fan_in_fan_out=getattr(model.config, "model_type", "")
        == "gpt2",  # GPT-2's Conv1D stores Wᵀ
        r=rank,
        lora_alpha=alpha,
        target_modules=targets,
        lora_dropout=0.0,
        bias="none",
        init_lora_weights=True,
    )
    torch.manual_seed(cfg.seed)
    # peft reads transformers' deprecated `is_gradient_checkpointing` (a FutureWarning about the two
    # libraries, not about this run)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        peft_model = get_peft_model(base, conf)
    losses = train(peft_model, ids, cfg, progress=progress, desc="LoRA fine-tuning")
    return peft_model, losses


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def token_loss(model, ids: torch.Tensor, length: int, n: int, seed: int) -> float:
    """Mean next-token cross-entropy over n seeded windows of ``ids``."""
    dev = next(model.parameters()).device
    x = windows(ids, n, length, generator(seed, "cpu")).to(dev)
    return float(model(input_ids=x, labels=x).loss)


@torch.no_grad()
def continuations(model, prompts: torch.Tensor, new_tokens: int, eos_id: int) -> torch.Tensor:
    """Greedy continuations (n, new_tokens) of equal-length prompts (n, k)."""
    dev = next(model.parameters()).device
    out = model.generate(
        input_ids=prompts.to(dev),
        attention_mask=torch.ones_like(prompts, device=dev),
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=False,
        pad_token_id=eos_id,
    )
    return out[:, prompts.shape[1] :].cpu()


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """Rouge-L F-measure of every (prediction, reference) pair (the ``rouge-score`` package)."""
    from rouge_score import rouge_scorer

    logging.getLogger("absl").setLevel(logging.WARNING)  # rouge-score logs every scorer it builds

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return [
        scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references, strict=True)
    ]
