"""The books of ``lm_unlearning`` as the experiment uses them: each book split into a training part
and a held-out tail, and the fixed token windows every model is measured on (prompts with their true
continuations; the windows of the output-cosine α̂), all seeded by name so every λ and every seed
sees the same text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from experiments.config import LSetup
from synthetic.books import read_corpus
from synthetic.runtime import derive_seed, generator

ALPHA_WINDOWS = 16  # windows per book for α̂ (and for the held-out loss)


@dataclass(frozen=True)
class Books:
    """The three books (A, B, C) and the background; ``train``/``held`` split each book's text."""

    books: dict[str, str]
    background: str
    train: dict[str, str]
    held: dict[str, str]


def split_books(setup: LSetup) -> Books:
    """The corpus of ``setup``, each book cut at ``1 - data.held_out`` of its characters."""
    corpus = read_corpus(setup)
    books = corpus["books"]
    split = {k: int(len(v) * (1 - setup.held_out)) for k, v in books.items()}
    return Books(
        books=books,
        background=corpus["background"],
        train={k: v[: split[k]] for k, v in books.items()},
        held={k: v[split[k] :] for k, v in books.items()},
    )


def text_hash(*texts: str) -> str:
    """A short content hash of ``texts`` (part of the checkpoint cache key)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def encode(tok, texts: dict[str, str]) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(tok(v)["input_ids"]) for k, v in texts.items()}


def fixed_prompts(
    held: dict[str, torch.Tensor], tok, n: int, prompt_tokens: int, continuation_tokens: int
) -> dict[str, tuple[torch.Tensor, list[str]]]:
    """Per book: ``n`` held-out windows cut into prompt token ids and the true continuation's text
    (seeded by the book's name: the same prompts for every λ and seed)."""
    import models.lm as lm

    P, L = prompt_tokens, continuation_tokens
    prompts = {}
    for k, ids in held.items():
        w = lm.windows(ids, n, P + L, generator(derive_seed("prompts", k), "cpu"))
        prompts[k] = (w[:, :P], [tok.decode(r) for r in w[:, P:]])
    return prompts


def alpha_windows(held: dict[str, torch.Tensor], other: str, seed: int, length: int):
    """The held-out windows of books A and ``other`` on which α̂(A, other) compares the logits."""
    import models.lm as lm

    return torch.cat(
        [
            lm.windows(
                held[b], ALPHA_WINDOWS, length, generator(derive_seed("alpha", b, seed), "cpu")
            )
            for b in ("A", other)
        ]
    )
