"""The models of ``lm_unlearning``: Ψ0′ (trained on background + all three books, or a local
checkpoint) and its copies fine-tuned on one book (full fine-tuning, or LoRA merged into the weights),
each taken from the checkpoint cache by a key of everything it was made from (trained on a miss).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from typing import Any

import torch

from experiments.config import LSetup
from experiments.lm.corpus import Books, encode, text_hash


class Checkpoints:
    """Ψ0′ (``load_psi0`` first) and ``finetuned(book, seed, kind)`` for ``kind`` in full/lora."""

    def __init__(self, setup: LSetup, books: Books, store, device, progress: bool) -> None:
        self.setup, self.books, self.store = setup, books, store
        self.device, self.progress = device, progress
        self.base_key = {
            "pretrained": setup.pretrained,
            "model": asdict(setup.model),
            "corpus": text_hash(books.background, *books.train.values()),
        }

    def _make_psi0(self):
        import models.lm as lm

        s, texts = self.setup, [self.books.background, *self.books.train.values()]
        if s.pretrained:
            base, tok = lm.load_local(s.pretrained)
        else:
            tok = lm.train_tokenizer(texts, s.model.vocab_size)
            base = lm.new_model(s.model, len(tok))
        base.to(self.device)
        ids = torch.tensor(tok("\n".join(texts))["input_ids"])
        t = time.perf_counter()
        losses = lm.train(base, ids, s.pretrain, progress=self.progress, desc="pre-training Ψ0′")
        info = {
            "loss_first": losses[0],
            "loss_last": losses[-1],
            "seconds": time.perf_counter() - t,
            "tokens": len(ids),
        }
        return base, tok, info

    def load_psi0(self) -> dict[str, Any]:
        """Ψ0′ and its tokenizer (kept here); returns its training info."""
        import models.lm as lm
        from synthetic.checks import fail

        key = self.store.key(
            {"kind": "psi0", **self.base_key, "train": asdict(self.setup.pretrain)}
        )
        psi0, self.tok, info = self.store.get(key, self._make_psi0)
        self.psi0 = psi0.to(self.device).eval()
        self.enc = encode(self.tok, self.books.train)
        if self.setup.lora_rank > lm.hidden_size(psi0):
            raise fail(
                "train.lora.rank",
                self.setup.lora_rank,
                f"must be <= the model's hidden size {lm.hidden_size(psi0)}",
            )
        return info

    def finetuned(self, book: str, seed: int, kind: str):
        """(Ψ*_book, info): Ψ0′ fine-tuned on ``book`` with ``seed``; LoRA merged into the weights."""
        s = self.setup
        lr = s.lora_lr if kind == "lora" else s.finetune.lr
        tcfg = type(s.finetune)(**{**asdict(s.finetune), "seed": seed, "lr": lr})
        key = self.store.key(
            {
                "kind": kind,
                "psi0": self.base_key,
                "pre": asdict(s.pretrain),
                "book": book,
                "train": asdict(tcfg),
                "lora": [s.lora_rank, s.lora_alpha, s.lora_targets] if kind == "lora" else None,
            }
        )
        model, _, info = self.store.get(key, lambda: self._make_finetuned(book, tcfg, kind))
        return model.to(self.device).eval(), info

    def _make_finetuned(self, book: str, tcfg, kind: str):
        import models.lm as lm

        s, ids = self.setup, self.enc[book]
        if kind == "lora":
            peft_model, losses = lm.lora_finetune(
                self.psi0,
                ids,
                tcfg,
                s.lora_rank,
                s.lora_alpha,
                s.lora_targets,
                progress=self.progress,
            )
            model = peft_model.merge_and_unload()
        else:
            model = copy.deepcopy(self.psi0)
            losses = lm.train(
                model, ids, tcfg, progress=self.progress, desc=f"fine-tuning on {book}"
            )
        return model, self.tok, {"loss_first": losses[0], "loss_last": losses[-1]}
