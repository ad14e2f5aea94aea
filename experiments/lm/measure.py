"""What ``lm_unlearning`` measures on a model: Rouge-L of greedy continuations of the fixed prompts and
the per-token loss on held-out windows (per book), α̂ between two fine-tuned models, and the tables
of means over seeds built from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from experiments.analysis import mean_std
from experiments.claims.lm import endpoints
from experiments.lm.corpus import ALPHA_WINDOWS, alpha_windows
from synthetic.runtime import derive_seed

N_SAMPLES = 3  # continuations per (vector, λ, book) shown in the wandb table (first seed only)


@dataclass(frozen=True)
class Probe:
    """The fixed inputs every model is measured on."""

    tok: Any
    prompts: dict[str, tuple[torch.Tensor, list[str]]]  # book -> (prompt ids, true continuations)
    held: dict[str, torch.Tensor]  # book -> held-out token ids
    continuation_tokens: int
    seq_len: int

    def book(self, model, b: str) -> dict[str, Any]:
        """Greedy continuations of book ``b``'s prompts with their Rouge-L, and the held-out loss."""
        import models.lm as lm

        prompt_ids, refs = self.prompts[b]
        gen = lm.continuations(model, prompt_ids, self.continuation_tokens, self.tok.eos_token_id)
        texts = [self.tok.decode(r) for r in gen]
        rl = lm.rouge_l(texts, refs)
        rouge = float(np.mean(rl))
        loss = lm.token_loss(
            model, self.held[b], self.seq_len, ALPHA_WINDOWS, derive_seed("loss", b)
        )
        return {"texts": texts, "rouge_l": rl, "rouge": rouge, "loss": loss}

    def samples(self, kind: str, lam: float, b: str, m: dict[str, Any]) -> list[list]:
        """The first continuations of one measurement, as rows of the wandb table."""
        prompt_ids, refs = self.prompts[b]
        return [
            [kind, lam, b, self.tok.decode(prompt_ids[i]), m["texts"][i], refs[i], m["rouge_l"][i]]
            for i in range(min(N_SAMPLES, len(m["texts"])))
        ]

    def alpha(self, psi0, fa, fo, tv_a, other: str, seed: int) -> dict[str, float]:
        """α̂(A, other) with the logits, the logit changes relative to Ψ0′ and the task vectors."""
        from models.estimators import output_alpha
        from models.task_vectors import TaskVector

        x = alpha_windows(self.held, other, seed, self.seq_len)
        return {
            "logits": output_alpha(fa, fo, x, output="logits"),
            "logit_change": output_alpha(fa, fo, x, output="logits", base=psi0),
            "task_vector": tv_a.cosine(TaskVector.from_models(psi0, fo)),
        }


def tables(scores: dict, lams: list[float]) -> dict[str, dict]:
    """Per vector kind, per book: mean ± std over seeds of Rouge-L and loss at every λ.

    ``scores[kind][book][what]`` holds (seed, λ, value) triples.
    """

    def table(kind: str, what: str) -> dict[str, list[dict]]:
        out = {}
        for b, per_book in scores[kind].items():
            rows = per_book[what]
            out[b] = [mean_std([v for (_s, lam_, v) in rows if lam_ == lam]) for lam in lams]
        return out

    return {kind: {"rouge": table(kind, "rouge"), "loss": table(kind, "loss")} for kind in scores}


def drops(tabs: dict, lams: list[float]) -> dict[str, dict[str, float]]:
    """Relative Rouge-L drop (%) from the reference λ to the most negative λ, per kind and book."""
    i0, i1 = endpoints(lams)
    return {
        kind: {
            b: 100 * (1 - rows[i1]["mean"] / max(rows[i0]["mean"], 1e-12))
            for b, rows in t["rouge"].items()
        }
        for kind, t in tabs.items()
    }


def wandb_tables(samples: list[list], tabs: dict, lams: list[float]) -> dict[str, dict]:
    return {
        "continuations": {
            "columns": ["vector", "lambda", "book", "prompt", "generated", "reference", "rouge_l"],
            "rows": samples,
        },
        "rouge": {
            "columns": ["vector", "book", "lambda", "rouge_mean", "rouge_std"],
            "rows": [
                [k, b, lam, v["mean"], v["std"]]
                for k in tabs
                for b in tabs[k]["rouge"]
                for lam, v in zip(lams, tabs[k]["rouge"][b], strict=True)
            ],
        },
    }
