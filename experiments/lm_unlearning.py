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

import hashlib
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.common import mean_std
from experiments.config import to_container
from experiments.io import save_figure, write_metrics
from experiments.lm_config import LSetup, read_corpus
from experiments.lm_config import validate_lm_unlearning as validate
from experiments.paper import LM_ALPHA as PAPER_ALPHA
from experiments.paper import LM_DROP_PERCENT as PAPER


def _hash(*texts: str) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def run(
    cfg: Any, out_dir: str | Path, *, progress: bool = False, cache=None, job_key: str | None = None
) -> dict[str, Any]:
    import models.lm as lm
    from models.estimators import output_alpha
    from models.lm_cache import LMCache
    from models.task_vectors import TaskVector, apply

    setup: LSetup = validate(cfg)
    c = to_container(cfg)
    exp = c["experiment"]
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    corpus = read_corpus(setup)
    books, background = corpus["books"], corpus["background"]
    split = {k: int(len(v) * (1 - setup.held_out)) for k, v in books.items()}
    train_text = {k: v[: split[k]] for k, v in books.items()}
    held_text = {k: v[split[k] :] for k, v in books.items()}
    store = LMCache(c.get("cache_dir"))
    from synthetic.runtime import resolve_device

    device = resolve_device(setup.device)
    base_key = {
        "pretrained": setup.pretrained,
        "model": asdict(setup.model),
        "corpus": _hash(background, *train_text.values()),
    }

    def make_psi0():
        if setup.pretrained:
            base, tok = lm.load_local(setup.pretrained)
        else:
            tok = lm.train_tokenizer([background, *train_text.values()], setup.model.vocab_size)
            base = lm.new_model(setup.model, len(tok))
        base.to(device)
        ids = torch.tensor(tok("\n".join([background, *train_text.values()]))["input_ids"])
        t = time.perf_counter()
        losses = lm.train(base, ids, setup.pretrain, progress=progress, desc="pre-training Ψ0′")
        return (
            base,
            tok,
            {
                "loss_first": losses[0],
                "loss_last": losses[-1],
                "seconds": time.perf_counter() - t,
                "tokens": len(ids),
            },
        )

    psi0, tok, psi0_info = store.get(
        store.key({"kind": "psi0", **base_key, "train": asdict(setup.pretrain)}), make_psi0
    )
    psi0.to(device).eval()
    enc = {k: torch.tensor(tok(v)["input_ids"]) for k, v in train_text.items()}
    held = {k: torch.tensor(tok(v)["input_ids"]) for k, v in held_text.items()}
    if setup.lora_rank > lm.hidden_size(psi0):
        from synthetic.checks import fail

        raise fail(
            "train.lora.rank",
            setup.lora_rank,
            f"must be <= the model's hidden size {lm.hidden_size(psi0)}",
        )
    eos = tok.eos_token_id

    def finetuned(book: str, seed: int, kind: str):
        lr = setup.lora_lr if kind == "lora" else setup.finetune.lr
        tcfg = type(setup.finetune)(**{**asdict(setup.finetune), "seed": seed, "lr": lr})
        key = store.key(
            {
                "kind": kind,
                "psi0": base_key,
                "pre": asdict(setup.pretrain),
                "book": book,
                "train": asdict(tcfg),
                "lora": [setup.lora_rank, setup.lora_alpha, setup.lora_targets]
                if kind == "lora"
                else None,
            }
        )

        def make():
            if kind == "lora":
                peft_model, losses = lm.lora_finetune(
                    psi0,
                    enc[book],
                    tcfg,
                    setup.lora_rank,
                    setup.lora_alpha,
                    setup.lora_targets,
                    progress=progress,
                )
                model = peft_model.merge_and_unload()
            else:
                import copy

                model = copy.deepcopy(psi0)
                losses = lm.train(
                    model, enc[book], tcfg, progress=progress, desc=f"fine-tuning on {book}"
                )
            return model, tok, {"loss_first": losses[0], "loss_last": losses[-1]}

        model, _, info = store.get(key, make)
        return model.to(device).eval(), info

    # fixed prompts: the same held-out windows for every λ (seeded by the book name)
    P, L = setup.prompt_tokens, setup.continuation_tokens
    from synthetic.runtime import derive_seed, generator

    prompts = {}
    for k, ids in held.items():
        w = lm.windows(ids, setup.n_prompts, P + L, generator(derive_seed("prompts", k), "cpu"))
        prompts[k] = (w[:, :P], [tok.decode(r) for r in w[:, P:]])
    lams = [float(x) for x in exp["lambdas"]]
    scores = {kind: {b: {"rouge": [], "loss": []} for b in books} for kind in ("full", "lora")}
    alphas = {
        "B": {"logits": [], "logit_change": [], "task_vector": []},
        "C": {"logits": [], "logit_change": [], "task_vector": []},
    }
    samples, info_rows = [], []
    for s in tqdm(setup.seeds, desc="lm unlearning: seeds", disable=not progress):
        fa, ia = finetuned("A", s, "full")
        la, il = finetuned("A", s, "lora")
        info_rows.append({"seed": s, "full": ia, "lora": il})
        tvs = {"full": TaskVector.from_models(psi0, fa), "lora": TaskVector.from_models(psi0, la)}
        for other in ("B", "C"):
            fo, _ = finetuned(other, s, "full")
            x = torch.cat(
                [
                    lm.windows(
                        held["A"],
                        16,
                        setup.pretrain.seq_len,
                        generator(derive_seed("alpha", "A", s), "cpu"),
                    ),
                    lm.windows(
                        held[other],
                        16,
                        setup.pretrain.seq_len,
                        generator(derive_seed("alpha", other, s), "cpu"),
                    ),
                ]
            )
            alphas[other]["logits"].append(output_alpha(fa, fo, x, output="logits"))
            alphas[other]["logit_change"].append(
                output_alpha(fa, fo, x, output="logits", base=psi0)
            )
            alphas[other]["task_vector"].append(
                tvs["full"].cosine(TaskVector.from_models(psi0, fo))
            )
        for kind, tv in tvs.items():
            for lam in lams:
                model = apply(psi0, [(lam, tv)]) if lam != 0 else psi0
                for b in books:
                    gen = lm.continuations(model, prompts[b][0], L, eos)
                    texts = [tok.decode(r) for r in gen]
                    rl = lm.rouge_l(texts, prompts[b][1])
                    scores[kind][b]["rouge"].append((s, lam, float(np.mean(rl))))
                    scores[kind][b]["loss"].append(
                        (
                            s,
                            lam,
                            lm.token_loss(
                                model, held[b], setup.pretrain.seq_len, 16, derive_seed("loss", b)
                            ),
                        )
                    )
                    if s == setup.seeds[0]:
                        samples += [
                            [
                                kind,
                                lam,
                                b,
                                tok.decode(prompts[b][0][i]),
                                texts[i],
                                prompts[b][1][i],
                                rl[i],
                            ]
                            for i in range(min(3, len(texts)))
                        ]

    def table(kind: str, what: str) -> dict[str, list[dict]]:
        out = {}
        for b in books:
            rows = scores[kind][b][what]
            out[b] = [mean_std([v for (_s, lam_, v) in rows if lam_ == lam]) for lam in lams]
        return out

    tables = {kind: {"rouge": table(kind, "rouge"), "loss": table(kind, "loss")} for kind in scores}
    i0, i1 = lams.index(0.0) if 0.0 in lams else 0, int(np.argmin(lams))
    drops = {
        kind: {
            b: 100
            * (
                1
                - tables[kind]["rouge"][b][i1]["mean"]
                / max(tables[kind]["rouge"][b][i0]["mean"], 1e-12)
            )
            for b in books
        }
        for kind in tables
    }
    ahat = {o: {k: mean_std(v) for k, v in d.items()} for o, d in alphas.items()}
    claims = []
    for kind in ("full", "lora"):
        d = drops[kind]
        claims.append(
            {
                "claim": f"{kind} task vector: negating A lowers Rouge-L on A, and on the aligned B more than on C",
                "source": "Theorem 2 / Table " + ("3" if kind == "full" else "4"),
                "criterion": f"relative Rouge-L drop from λ = 0 to λ = {lams[i1]:g}: A > 0, B > 0 and B > C",
                "measured": f"A {d['A']:.1f}%, B {d['B']:.1f}%, C {d['C']:.1f}% (paper {PAPER[kind]['A']}%, {PAPER[kind]['B']}%, {PAPER[kind]['C']}%)",
                "verdict": "agrees"
                if d["A"] > 0 and d["B"] > max(d["C"], 0.0)
                else ("partly" if d["A"] > 0 else "disagrees"),
            }
        )
        rise = {
            b: tables[kind]["loss"][b][i1]["mean"] - tables[kind]["loss"][b][i0]["mean"]
            for b in books
        }
        claims.append(
            {
                "claim": f"{kind} task vector: negating A raises the held-out loss most on A, then on the aligned B, then on C",
                "source": "Theorem 2",
                "criterion": f"per-token loss increase from λ = 0 to λ = {lams[i1]:g}: A > B > C",
                "measured": f"A +{rise['A']:.3f}, B +{rise['B']:.3f}, C +{rise['C']:.3f} nats/token",
                "verdict": "agrees"
                if rise["A"] > rise["B"] > rise["C"]
                else ("partly" if rise["A"] > max(rise["B"], rise["C"]) else "disagrees"),
            }
        )
    a_b, a_c = ahat["B"]["logits"]["mean"], ahat["C"]["logits"]["mean"]
    claims.append(
        {
            "claim": "α̂ orders the books as negation does (B more aligned with A than C is)",
            "source": "§6.2 (α̂)",
            "criterion": "α̂(A, B) > α̂(A, C) with the logits as outputs (paper 0.498 > 0.239)",
            "measured": (
                f"logits: {a_b:.3f} vs {a_c:.3f}; logit changes: {ahat['B']['logit_change']['mean']:.3f} vs "
                f"{ahat['C']['logit_change']['mean']:.3f}; task vectors: {ahat['B']['task_vector']['mean']:.3f} vs "
                f"{ahat['C']['task_vector']['mean']:.3f}"
            ),
            "verdict": "agrees" if a_b > a_c else "disagrees",
        }
    )
    metrics: dict[str, Any] = {
        "experiment": "lm_unlearning",
        "job_key": job_key,
        "config": c,
        "lambdas": lams,
        "rouge": {k: v["rouge"] for k, v in tables.items()},
        "loss": {k: v["loss"] for k, v in tables.items()},
        "drop_percent": drops,
        "paper_drop_percent": PAPER,
        "alpha_hat": ahat,
        "paper_alpha": PAPER_ALPHA,
        "psi0": psi0_info,
        "finetuning": info_rows,
        "tokens": {
            "train": {k: len(v) for k, v in enc.items()},
            "held_out": {k: len(v) for k, v in held.items()},
        },
        "claims": claims,
        "models_trained": store.trained,
        "models_from_cache": store.hits,
        "figures": ["lm_unlearning.png", "lm_unlearning.pdf"],
        "tables": {
            "continuations": {
                "columns": [
                    "vector",
                    "lambda",
                    "book",
                    "prompt",
                    "generated",
                    "reference",
                    "rouge_l",
                ],
                "rows": samples,
            },
            "rouge": {
                "columns": ["vector", "book", "lambda", "rouge_mean", "rouge_std"],
                "rows": [
                    [k, b, lam, v["mean"], v["std"]]
                    for k in tables
                    for b in books
                    for lam, v in zip(lams, tables[k]["rouge"][b], strict=True)
                ],
            },
        },
        "line_plots": [],
    }
    metrics["wall_seconds"] = time.perf_counter() - t0
    d = drops["full"]
    metrics["one_line"] = (
        f"Rouge-L drop at λ = {lams[i1]:g} (full): A {d['A']:.0f}%, B {d['B']:.0f}%, C {d['C']:.0f}%; "
        f"α̂(A,B) {a_b:.3f}, α̂(A,C) {a_c:.3f}; {store.trained} models trained; {metrics['wall_seconds']:.1f}s"
    )

    from plots.lm import unlearning_figure
    from plots.style import plt

    fig = unlearning_figure(metrics)
    save_figure(fig, out_dir, "lm_unlearning")
    plt.close(fig)
    write_metrics(out_dir, metrics)  # last: its presence marks the job as finished
    return metrics
