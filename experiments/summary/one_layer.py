"""Headline numbers of the one-layer experiments (keys: ``experiments.summary``'s rules)."""

from __future__ import annotations

from typing import Any

from experiments.summary import dig, flat, num, stat

TABLE1_KEYS = ("lambda", "T1_acc", "T2_acc", "T1_hinge", "T2_hinge")
EDITS = ("add_irrelevant", "add_aligned", "negate_irrelevant", "negate_contradictory", "ood")


def foundation(m: dict[str, Any]) -> dict[str, float]:
    s = m.get("summary", {})
    out = {}
    for k in ("alpha_hat_batch", "alpha_hat_hidden", "task_vector_cosine", "alpha_exact"):
        out |= stat(f"correlation/{k}", dig(s, "correlation", k))
    out |= stat("mechanism/dW_cosine_with_mumuT", s.get("dW_cosine_with_mumuT"))
    out |= stat("mechanism/dV_fraction_along_mu", s.get("dV_fraction_along_mu"))
    for p in ("W", "V"):
        out |= stat(f"rank1_residual/{p}", dig(s, "low_rank_relative_residual", p))
    for k in ("T1_on_T2", "T2_on_T1"):
        out |= stat(f"cross_task_accuracy/{k}", dig(s, "cross_task_accuracy", k))
    hinges = [dig(r, "mechanism", "own_hinge") for r in m.get("runs", [])]
    out["own_task/worst_hinge"] = num(max((h for h in hinges if h is not None), default=None))
    return out


def task_pair(m: dict[str, Any]) -> dict[str, float]:
    """Table 1's two points (task addition: ``thm1/``, negation: ``thm2/``) and α̂."""
    t1 = m.get("table1", {})
    own = m.get("own_task") or []
    return {
        "data/alpha": num(m.get("alpha")),
        **stat("alpha_hat", m.get("alpha_hat")),
        **flat("thm1", t1.get("multi_task"), TABLE1_KEYS),
        **flat("thm2", t1.get("unlearning"), TABLE1_KEYS),
        "own_task/worst_hinge": num(max((o["hinge"] for o in own), default=None)),
        "own_task/mean_acc": num(sum(o["accuracy"] for o in own) / len(own) if own else None),
    }


def phase_diagram(m: dict[str, Any]) -> dict[str, float]:
    an = m.get("analysis", {})
    return {
        **flat("lambda_star_fit", an.get("lambda_star_fit"), ("slope", "intercept")),
        **flat("beta", an.get("beta"), ("beta_hat", "r2")),
        "retention/c_hat": num(dig(an, "retention_shape", "c_hat")),
    }


def ood(m: dict[str, Any]) -> dict[str, float]:
    """Theorem 3: the best (λ1, λ2) on T′ against the single vectors, and γ̂ against γ."""
    t2 = m.get("table2", {})
    out = flat("ood/best", m.get("best"), ("lambda1", "lambda2", "test_acc", "test_hinge"))
    for k in ("psi_T1", "psi_T2", "best_single", "finetuned"):
        out[f"ood/{k}/acc"] = num(dig(t2, k, "acc", "mean"))
        out[f"ood/{k}/hinge"] = num(dig(t2, k, "hinge", "mean"))
    for i in (0, 1):
        out[f"gamma/{i}"] = num(dig(m, "gamma", i))
        out |= stat(f"gamma_hat/{i}", dig(m, "gamma_hat", i))
    out["region/literal_iou"] = num(dig(m, "region", "literal", "iou"))
    out["region/beta_hat"] = num(dig(m, "region", "beta", "beta_hat"))
    return out


def compression(m: dict[str, Any]) -> dict[str, float]:
    """Per edit, the full vectors' mean test slack; for low_rank the smallest rank keeping all."""
    out = {}
    for e in EDITS:
        slack = dig(m, "full", e, "slack") or []
        out[f"full/{e}/slack"] = num(sum(slack) / len(slack) if slack else None)
        out[f"full/{e}/success"] = num(dig(m, "full", e, "success"))
    for mode in ("W", "V", "both"):
        if "smallest_rank_keeping_all" in m:
            out[f"smallest_rank/{mode}"] = num(dig(m, "smallest_rank_keeping_all", mode))
    for g in ("T1", "ood T1"):
        if "groups" in m:
            out[f"row_groups/{g.replace(' ', '_')}/ratio"] = num(dig(m, "groups", g, "ratio"))
    return out


def gradients(m: dict[str, Any]) -> dict[str, float]:
    """Exactness, the η² slope, epoch-1 norm shares and the merged hinge (one epoch vs converged)."""
    ex = m.get("exactness") or []
    out = {
        "exactness/one_task_rel_error": num(
            max((e["one_task_rel_error"] for e in ex), default=None)
        ),
        "multi_epoch/loglog_slope": num(m.get("multi_epoch_loglog_slope")),
    }
    for run, d in (m.get("dominance") or {}).items():
        shares = d.get("norm_share") or []
        out[f"dominance/{run}/share_epoch1"] = num(shares[0] if shares else None)
        out[f"dominance/{run}/share_max"] = num(max(shares, default=None))
        out[f"dominance/{run}/cos_first_with_final"] = num(dig(d, "cos_first_with_final", "mean"))
    for key, d in (m.get("merging") or {}).items():
        hinge = [v["mean"] for v in (d.get("hinge") or {}).values()]
        name = key.replace(" / ", "/").replace(" ", "_")
        out[f"merging/{name}/hinge"] = num(sum(hinge) / len(hinge) if hinge else None)
        out[f"merging/{name}/normalised_accuracy"] = num(dig(d, "normalised_accuracy", "mean"))
    return out


def scaling(m: dict[str, Any]) -> dict[str, float]:
    return {f"sweeps/{k}/points": float(len(v)) for k, v in (m.get("sweeps") or {}).items()}


def regime_search(m: dict[str, Any]) -> dict[str, float]:
    table = m.get("table") or []
    chosen = m.get("chosen") or {}
    return {
        "regime/combinations": float(len(table)),
        "regime/in_scope": float(sum(bool(r.get("in_scope")) for r in table)),
        **flat(
            "regime/chosen", chosen, ("cost", "own_hinge", "attention_mu_queries", "cos_dW_mumu")
        ),
    }
