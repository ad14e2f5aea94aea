"""Experiment ``lm_unlearning``: forgetting a book by negating its task vector (the paper's Phi-1.5
experiment, theory.md §6.2, Tables 3 and 4).

Ψ0′ is a causal LM trained on a background corpus plus all three books (by default a small GPT-2 built
and trained here on the seeded books of ``synthetic.books``; ``model.pretrained=<dir>`` starts from a
local checkpoint instead, ``data.books=[a.txt, b.txt, c.txt]`` takes the user's texts). Per seed, Ψ0′
is fine-tuned on book A (full fine-tuning, and LoRA with ``peft``: its task vector is the merged
low-rank update), and Ψ = Ψ0′ + λ ΔΨ_A is scored for every λ on held-out passages of each book:

* Rouge-L (``rouge-score``) between the greedy continuation of a prompt and the true continuation;
* the per-token loss on held-out windows.

α̂(A, B) and α̂(A, C) use the output-cosine estimator with Ψ*_B and Ψ*_C fine-tuned the same way:
the outputs are the next-token logits at every position of held-out windows of both books (cosine
per position, averaged); the cosine of the logit *changes* relative to Ψ0′ and of the task vectors
are reported too.
"""

from __future__ import annotations

import time
from typing import Any

from tqdm.auto import tqdm

from experiments.analysis import mean_std
from experiments.claims.lm import endpoints
from experiments.config import LSetup, lam_grid, to_container
from experiments.lm.checkpoints import Checkpoints
from experiments.lm.corpus import encode, fixed_prompts, split_books
from experiments.lm.measure import Probe, drops, tables, wandb_tables
from experiments.paper import LM_ALPHA, LM_DROP_PERCENT

KINDS = ("full", "lora")


def compute(cfg: Any, setup: LSetup, *, progress: bool = False, cache=None) -> dict[str, Any]:
    """Train Ψ0′ and the fine-tuned models (or take them from ``cache``, an ``LMCache``; default: the
    one under ``cache_dir``), measure every λ, and return the results."""
    from models.lm_cache import LMCache
    from synthetic.runtime import resolve_device

    t0 = time.perf_counter()
    c = to_container(cfg)
    books = split_books(setup)
    store = cache if cache is not None else LMCache(c.get("cache_dir"))
    ckpt = Checkpoints(setup, books, store, resolve_device(setup.device), progress)
    psi0_info = ckpt.load_psi0()
    held = encode(ckpt.tok, books.held)
    prompts = fixed_prompts(
        held, ckpt.tok, setup.n_prompts, setup.prompt_tokens, setup.continuation_tokens
    )
    probe = Probe(ckpt.tok, prompts, held, setup.continuation_tokens, setup.pretrain.seq_len)
    lams = lam_grid(c["eval"]["lam"])[::-1]  # from λ = 0 down: stronger negation
    runs = _seeds(ckpt, probe, setup.seeds, lams, list(books.books), progress)
    tabs = tables(runs["scores"], lams)
    results: dict[str, Any] = {
        "experiment": "lm_unlearning",
        "config": c,
        "lambdas": lams,
        "rouge": {k: v["rouge"] for k, v in tabs.items()},
        "loss": {k: v["loss"] for k, v in tabs.items()},
        "drop_percent": drops(tabs, lams),
        "paper_drop_percent": LM_DROP_PERCENT,
        "alpha_hat": {o: {k: mean_std(v) for k, v in d.items()} for o, d in runs["alphas"].items()},
        "alpha_hat_per_seed": runs["alphas"],
        "per_seed": runs["scores"],  # kind -> book -> rouge/loss -> (seed, λ, value) triples
        "paper_alpha": LM_ALPHA,
        "psi0": psi0_info,
        "finetuning": runs["info"],
        "tokens": {
            "train": {k: len(v) for k, v in ckpt.enc.items()},
            "held_out": {k: len(v) for k, v in held.items()},
        },
        "models_trained": store.trained,
        "models_from_cache": store.hits,
        "tables": wandb_tables(runs["samples"], tabs, lams),
        "line_plots": [],
    }
    results["wall_seconds"] = time.perf_counter() - t0
    results["one_line"] = _one_line(results, store.trained)
    return results


def _seeds(ckpt: Checkpoints, probe: Probe, seeds, lams, books, progress) -> dict[str, Any]:
    """Per seed: fine-tune on A (full and LoRA), α̂ against B and C, and every λ measured per book."""
    from models.task_vectors import TaskVector, apply

    scores = {kind: {b: {"rouge": [], "loss": []} for b in books} for kind in KINDS}
    alphas = {o: {"logits": [], "logit_change": [], "task_vector": []} for o in ("B", "C")}
    samples, info = [], []
    for s in tqdm(seeds, desc="lm unlearning: seeds", disable=not progress):
        fa, ia = ckpt.finetuned("A", s, "full")
        la, il = ckpt.finetuned("A", s, "lora")
        info.append({"seed": s, "full": ia, "lora": il})
        tvs = {
            "full": TaskVector.from_models(ckpt.psi0, fa),
            "lora": TaskVector.from_models(ckpt.psi0, la),
        }
        for other, per_other in alphas.items():
            fo, _ = ckpt.finetuned(other, s, "full")
            for k, v in probe.alpha(ckpt.psi0, fa, fo, tvs["full"], other, s).items():
                per_other[k].append(v)
        for kind, tv in tvs.items():
            for lam in lams:
                model = apply(ckpt.psi0, [(lam, tv)]) if lam != 0 else ckpt.psi0
                for b in books:
                    m = probe.book(model, b)
                    scores[kind][b]["rouge"].append((s, lam, m["rouge"]))
                    scores[kind][b]["loss"].append((s, lam, m["loss"]))
                    if s == seeds[0]:
                        samples += probe.samples(kind, lam, b, m)
    return {"scores": scores, "alphas": alphas, "samples": samples, "info": info}


def _one_line(r: dict[str, Any], trained: int) -> str:
    lam1 = r["lambdas"][endpoints(r["lambdas"])[1]]
    d, a = r["drop_percent"]["full"], r["alpha_hat"]
    return (
        f"Rouge-L drop at λ = {lam1:g} (full): A {d['A']:.0f}%, B {d['B']:.0f}%, C {d['C']:.0f}%; "
        f"α̂(A,B) {a['B']['logits']['mean']:.3f}, α̂(A,C) {a['C']['logits']['mean']:.3f}; "
        f"{trained} models trained; {r['wall_seconds']:.1f}s"
    )
