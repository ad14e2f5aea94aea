"""Claims of ``ood`` (Theorem 3): the precondition, the best combination, Table 2's comparison with
single vectors, the region's shape, γ̂, the κ sweep and the γ map. Thresholds: ε and the forget hinge
from the config's ``eval``; IoU 0.7 / 0.5 for the shape; |γ̂_i − γ_i| ≤ 0.2; 80% / 60% of the γ map."""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.claims import claim, verdict


def shape_verdict(shape: dict, half_planes: dict) -> str:
    """The claims tables' rule: "agrees" if the fitted shape's IoU is ≥ 0.7 and beats each half-plane
    alone (so both conditions matter), "partly" if it is ≥ 0.5, else "disagrees"."""
    best_single = max(half_planes["value_only"]["iou"], half_planes["attention_only"]["iou"])
    return verdict(shape["iou"] >= 0.7 and shape["iou"] > best_single + 1e-9, shape["iou"] >= 0.5)


def _precondition(m: dict, eps: float) -> dict[str, Any]:
    pre = m["own_task"]
    bad = [o for o in pre if o["hinge"] > eps]
    return claim(
        f"{m['label']}: Ψ*_T1, Ψ*_T2 and Ψ*_T' reach hinge ≤ ε on their own tasks (precondition)",
        "Theorem 3 setting",
        f"own-task test hinge ≤ {eps} for every task and seed",
        f"{len(pre) - len(bad)}/{len(pre)} runs; worst hinge {max(o['hinge'] for o in pre):.4f}",
        verdict(not bad),
    )


def _best_point(m: dict, eps: float) -> dict[str, Any]:
    t2 = m["table2"]
    best = t2["best"]
    return claim(
        f"{m['label']}: some (λ1, λ2) generalizes to T' (γ ≠ 0)",
        "Theorem 3",
        f"test mean hinge ≤ {eps} at the (λ1, λ2) chosen on validation",
        f"({best['lambda1']:.1f}, {best['lambda2']:.1f}): hinge {best['hinge']['mean']:.3f} ± "
        f"{best['hinge']['std']:.3f}, accuracy {100 * best['acc']['mean']:.1f}%; Ψ*_T' itself "
        f"{t2['finetuned']['hinge']['mean']:.3f} / {100 * t2['finetuned']['acc']['mean']:.1f}%",
        verdict(best["hinge"]["mean"] <= eps),
    )


def _combination(m: dict, eps: float) -> dict[str, Any]:
    t2 = m["table2"]
    best, single = t2["best"], t2.get("best_single")
    b1, b2 = t2["psi_T1"], t2["psi_T2"]
    unit = min(b1["hinge"]["mean"], b2["hinge"]["mean"])
    single_h = single["hinge"]["mean"] if single else float("inf")
    if not best["hinge"]["mean"] <= eps:
        v, why = verdict(False), "no combination reaches hinge ≤ ε"
    elif unit <= eps:
        v, why = "untested", "an unscaled fine-tuned model already solves T': nothing to combine"
    elif single_h <= eps:
        v = verdict(False, partial=True)
        why = "beats Ψ*_T1 and Ψ*_T2, but one scaled task vector alone also solves T'"
    else:
        v, why = verdict(True), "only a combination solves T'"
    return claim(
        f"{m['label']}: combining task vectors solves T' where single ones do not",
        "Theorem 3 / Table 2",
        f"best (λ1, λ2) test hinge ≤ {eps} while Ψ*_T1, Ψ*_T2 and the best scaled single vector "
        f"(λ, 0) or (0, λ) stay > {eps}",
        f"best {best['hinge']['mean']:.3f} ({100 * best['acc']['mean']:.1f}%); Ψ*_T1 {b1['hinge']['mean']:.3f} "
        f"({100 * b1['acc']['mean']:.1f}%), Ψ*_T2 {b2['hinge']['mean']:.3f} ({100 * b2['acc']['mean']:.1f}%)"
        + (
            f", best single ({single['lambda1']:.1f}, {single['lambda2']:.1f}) {single_h:.3f} "
            f"({100 * single['acc']['mean']:.1f}%)"
            if single
            else ""
        )
        + f": {why}",
        v,
    )


def _shape(m: dict, eps: float) -> dict[str, Any]:
    reg = m["region"]
    lit, shp, ctl = reg["literal"], reg["shape"], reg["half_planes"]
    return claim(
        f"{m['label']}: the success region has Theorem 3's shape",
        "Theorem 3 / Figure 2(B)",
        f"IoU with {{mean test hinge ≤ {eps}}}: literal (β = β̂, best c) and fitted shape (t, b); "
        "agrees if shape IoU ≥ 0.7 and above each half-plane alone",
        f"literal IoU {lit['iou']:.2f} (c = {lit['c']}, β̂ = {lit['beta']:.3f}); shape IoU {shp['iou']:.2f} "
        f"(t = {shp['threshold']:.2f}, b = {shp['box']:.1f}); value half-plane alone {ctl['value_only']['iou']:.2f}, "
        f"attention half-plane alone {ctl['attention_only']['iou']:.2f}",
        shape_verdict(shp, ctl),
    )


def _gamma_hat(m: dict) -> dict[str, Any]:
    gh, g = m["gamma_hat"], m["gamma"]
    err = max(abs(gh[i]["mean"] - g[i]) for i in range(2))
    same_sign = all(np.sign(gh[i]["mean"]) == np.sign(g[i]) for i in range(2) if g[i] != 0)
    others = "; ".join(
        f"{k}: ({v[0]['mean']:.3f}, {v[1]['mean']:.3f})"
        for k, v in m["gamma_hat_by_output"].items()
        if k != m["gamma_hat_output"]
    )
    cos = m["task_vector_cosine"]
    return claim(
        f"{m['label']}: the output-cosine estimator recovers γ",
        "§6.1 (γ̂ of Figure 2)",
        "γ̂_i = α̂(Ψ*_T', Ψ*_Ti): same signs as γ and max |γ̂_i − γ_i| ≤ 0.2",
        f"γ̂ = ({gh[0]['mean']:.3f} ± {gh[0]['std']:.3f}, {gh[1]['mean']:.3f} ± {gh[1]['std']:.3f}) "
        f"vs γ = ({g[0]:.3f}, {g[1]:.3f}); max error {err:.3f} (output = {m['gamma_hat_output']}; "
        + others
        + f"; task-vector cosines ({cos[0]['mean']:.3f}, {cos[1]['mean']:.3f}))",
        verdict(same_sign and err <= 0.2, partial=same_sign),
    )


def _kappa_sweep(m: dict, eps: float, forget: float) -> dict[str, Any]:
    sweep = m["kappa_sweep"]
    ks = np.array([r["kappa"] for r in sweep])
    h = np.array([r["best"]["hinge"]["mean"] for r in sweep])
    a = np.array([r["best"]["acc"]["mean"] for r in sweep])
    last = sweep[int(np.argmax(ks))]
    mono = bool(np.all(np.diff(a[np.argsort(ks)]) <= 0.01))
    unreachable = last["kappa"] >= 1.0 - 1e-9 and last["best"]["hinge"]["mean"] >= forget
    return claim(
        f"{m['label']}: T' cannot be reached once it leaves the span (κ → 1)",
        "Theorem 3 (condition A)",
        f"at κ = 1 the best test hinge ≥ {forget}; best accuracy non-increasing in κ (within 0.01)",
        f"best hinge {h.min():.3f} … {h.max():.3f}, accuracy {100 * a.max():.1f}% → "
        f"{100 * last['best']['acc']['mean']:.1f}% at κ = {last['kappa']:.2f} (hinge "
        f"{last['best']['hinge']['mean']:.3f}); first κ with hinge > {eps}: "
        + (f"{ks[np.argmax(h > eps)]:.2f}" if (h > eps).any() else "none"),
        verdict(unreachable and mono, partial=unreachable),
    )


def _gamma_map(m: dict, eps: float) -> dict[str, Any]:
    gm = m["gamma_map"]
    gain = [r for r in gm if r["best_hinge"] <= eps and r["single_hinge"] > eps]
    solved = [r for r in gm if r["best_hinge"] <= eps]
    feas = [r for r in gm if r["feasible"]]
    agree = sum(r["feasible"] == (r["best_hinge"] <= eps) for r in gm)
    return claim(
        f"{m['label']}: over the unit disk of γ, combinations reach T' exactly where Theorem 3's conditions can hold",
        "Theorem 3",
        f"γ map: some grid (λ1, λ2) has Σλγ ≥ 1 and Σλγ² ≥ 1 (c → 0) ⇔ best combined hinge ≤ {eps}, "
        "on ≥ 80% of the γ points",
        f"{len(solved)}/{len(gm)} γ solved by some (λ1, λ2), {len(gain)} of them by no single vector; "
        f"region feasible at {len(feas)}; agreement {agree}/{len(gm)}",
        verdict(agree >= 0.8 * len(gm), partial=agree >= 0.6 * len(gm)),
    )


def claims(m: dict) -> list[dict[str, Any]]:
    """The rows of ``ood``, in the order of the claims table."""
    ev = m["config"]["eval"]
    eps = ev["eps"]
    rows = [_precondition(m, eps), _best_point(m, eps), _combination(m, eps), _shape(m, eps)]
    rows.append(_gamma_hat(m))
    if m.get("kappa_sweep"):
        rows.append(_kappa_sweep(m, eps, ev["forget_hinge"]))
    if m.get("gamma_map"):
        rows.append(_gamma_map(m, eps))
    return rows
