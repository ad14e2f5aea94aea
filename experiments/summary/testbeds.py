"""Headline numbers of the coloured-digits and language-model experiments."""

from __future__ import annotations

from typing import Any

from experiments.summary import dig, num, stat

PAIRS = ("irrelevant", "aligned", "contradictory")
BOOKS = ("A", "B", "C")


def cdigits_pair(m: dict[str, Any]) -> dict[str, float]:
    """Per pair: α̂ (the configured estimator output) and Table 1's two points."""
    out = {}
    est = m.get("estimator_output", "batch")
    for p in PAIRS:
        r = dig(m, "pairs", p) or {}
        out |= stat(f"{p}/alpha_hat", dig(r, "alpha_hat", est))
        for goal in ("multi_task", "unlearning"):
            for k in ("lambda", "T1_acc", "T2_acc"):
                out[f"{p}/{goal}/{k}"] = num(dig(r, "table1", goal, k))
    own = [o["accuracy"] for o in m.get("own_task", []) if "accuracy" in o]
    out["own_task/min_acc"] = num(min(own, default=None))
    return out


def cdigits_ood(m: dict[str, Any]) -> dict[str, float]:
    t2 = m.get("table2", {})
    out = {f"ood/best/{k}": num(dig(m, "best", k)) for k in ("lambda1", "lambda2", "test_acc")}
    for k in ("psi_T1", "psi_T2", "best"):
        out[f"ood/{k}/acc"] = num(dig(t2, k, "acc", "mean"))
    for i in (0, 1):
        out[f"gamma_hat/{i}"] = num(dig(m, "gamma_hat_values", i))
    return out


def cdigits_compress(m: dict[str, Any]) -> dict[str, float]:
    """Per edit, the dense score and the score at the smallest rank and kept fraction."""
    out = {}
    for edit, d in (m.get("full") or {}).items():
        key = edit.replace(" ", "_")
        out[f"{key}/full"] = num(d.get("score"))
        ranks = dig(m, "accuracy_vs_rank", edit) or []
        keeps = dig(m, "accuracy_vs_keep", edit) or []
        out[f"{key}/smallest_rank"] = num(ranks[0] if ranks else None)
        out[f"{key}/smallest_keep"] = num(keeps[-1] if keeps else None)
    return out


def lm_unlearning(m: dict[str, Any]) -> dict[str, float]:
    """Rouge-L drops at the last λ per book (full and LoRA vectors) and α̂ against book A."""
    out = {}
    for kind in ("full", "lora"):
        for b in BOOKS:
            out[f"drop_percent/{kind}/{b}"] = num(dig(m, "drop_percent", kind, b))
    for b in ("B", "C"):
        for est in ("logits", "task_vector"):
            out |= stat(f"alpha_hat/{b}/{est}", dig(m, "alpha_hat", b, est))
    return out


def gradients_vit(m: dict[str, Any]) -> dict[str, float]:
    """Exactness; per optimiser the epoch-1 shares (mean over tasks), the smallest dominance ratio
    s_1 / max_(e≥2) s_e over tasks (the claim is per task) and the fraction of (task, seed) where it
    holds; the headline merges and the converged − 1-epoch gaps (points)."""
    out = {"exactness/rel_err": num(m.get("exactness_rel_err"))}
    for opt in ("sgd", "adam"):
        d = dig(m, "dominance", opt) or {}
        tasks = list((d.get("tasks") or {}).values())
        for key, path, agg in (
            ("share_epoch1", ("shares", 0), "mean"),
            ("grad_norm_epoch1", ("grad_norm", 0), "mean"),
            ("ratio_min", ("ratio", "mean"), "min"),
            ("grad_ratio_min", ("grad_ratio", "mean"), "min"),
        ):
            vals = [num(dig(t, *path)) for t in tasks]
            value = (sum(vals) / len(vals) if agg == "mean" else min(vals)) if vals else None
            out[f"dominance/{opt}/{key}"] = num(value)
        out[f"dominance/{opt}/holds_fraction"] = num(d.get("holds_fraction"))
        out[f"dominance/{opt}/grad_holds_fraction"] = num(d.get("grad_holds_fraction"))
    for kind in ("1_epoch", "10_epochs", "converged"):
        for key in ("acc", "normalized_acc", "loss"):
            out[f"merge/{kind}/{key}"] = num(dig(m, "merge", kind, f"{key}_mean"))
    opt = m.get("merge_optimizer", "adam")
    for agg in ("mean", "tuned"):
        gaps = dig(m, "merging", opt, "gap", agg, "per_seed") or []
        out[f"merge/gap/{agg}"] = sum(gaps) / len(gaps) if gaps else num(None)
    return out
