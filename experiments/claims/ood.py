"""Claims of ``ood`` (Theorem 3): the precondition, the best combination, Table 2's comparison with
single vectors, Theorem 3's region, γ̂, the κ sweep and the γ map. Thresholds: ε and the forget hinge
from the config's ``eval``; |γ̂_i − γ_i| ≤ ``GAMMA_TOL``; ``SUCCESS_FRACTION`` of the feasible γ points.
Every comparison is made on a seed interval (``experiments.claims.interval``).

Theorem 3 gives a sufficient condition, so its row is judged by *precision*: per seed, the fraction of
the grid points inside the literal region (c = ``experiment.theorem3_c`` declared in advance, box
|λ_i| ≤ c/β̂ with β̂ fitted one-sidedly on the held-out seeds) where T' hinge ≤ ε, with a t interval
over seeds against ``SUCCESS_FRACTION``; recall and the fitted shape are reported, not judged. Rows
about the merged models carry the scope of Ψ*_T1 and Ψ*_T2 (``experiments.theory.scope``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.analysis import beta_envelope
from experiments.claims import all_hold, claim, interval, interval_of, judge, show, verdict, within
from experiments.claims.task_pair import SUCCESS_FRACTION
from experiments.theory import theorem3
from experiments.theory.scope import audit, scope_failures

GAMMA_TOL = 0.2  # |γ̂_i − γ_i| allowed (a declared constant)


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
    l1, l2 = np.asarray(m["lambda1"]), np.asarray(m["lambda2"])
    i, j = (
        int(np.argmin(np.abs(l1 - best["lambda1"]))),
        int(np.argmin(np.abs(l2 - best["lambda2"]))),
    )
    iv = interval(np.asarray(m["per_seed_hinge"])[:, i, j])
    return claim(
        f"{m['label']}: some (λ1, λ2) generalizes to T' (γ ≠ 0)",
        "Theorem 3",
        f"test hinge at the (λ1, λ2) chosen on validation, seed interval ≤ {eps}",
        f"({best['lambda1']:.1f}, {best['lambda2']:.1f}): hinge {show(iv)}, accuracy "
        f"{100 * best['acc']['mean']:.1f}%; Ψ*_T' itself "
        f"{t2['finetuned']['hinge']['mean']:.3f} / {100 * t2['finetuned']['acc']['mean']:.1f}%",
        judge(iv, eps, at_least=False),
    )


def _combination(m: dict, eps: float) -> dict[str, Any]:
    """Table 2: the best combination solves T' (interval ≤ ε) while Ψ*_T1, Ψ*_T2 and the best scaled
    single vector do not (each interval > ε); untested when an unscaled model already solves T'."""
    t2 = m["table2"]
    best, single = t2["best"], t2.get("best_single")
    ivs = {k: interval_of(t2[k]["hinge"]) for k in ("best", "psi_T1", "psi_T2")}
    if single:
        ivs["single"] = interval_of(single["hinge"])
    parts = [judge(ivs["best"], eps, at_least=False)]
    parts += [judge(iv, eps) for k, iv in ivs.items() if k != "best"]  # > ε: does not solve T'

    solved_by_unit = any(
        judge(ivs[k], eps, at_least=False) == "agrees" for k in ("psi_T1", "psi_T2")
    )
    shown = "; ".join(
        f"{k} ({t2[k if k != 'single' else 'best_single']['lambda1']:.1f}, "
        f"{t2[k if k != 'single' else 'best_single']['lambda2']:.1f}) {show(iv)}"
        for k, iv in ivs.items()
    )
    return claim(
        f"{m['label']}: combining task vectors solves T' where single ones do not",
        "Theorem 3 / Table 2",
        f"T' test hinge: the best (λ1, λ2)'s seed interval ≤ {eps}; the intervals of Ψ*_T1, Ψ*_T2 "
        f"and the best scaled single vector (λ, 0) or (0, λ) > {eps}",
        f"{shown}; accuracy best {100 * best['acc']['mean']:.1f}%, Ψ*_T1 "
        f"{100 * t2['psi_T1']['acc']['mean']:.1f}%, Ψ*_T2 {100 * t2['psi_T2']['acc']['mean']:.1f}%"
        + (": an unscaled fine-tuned model already solves T'" if solved_by_unit else ""),
        "untested" if solved_by_unit else all_hold(parts),
    )


def _theorem3(m: dict, eps: float) -> dict[str, Any]:
    """Precision of the literal region (declared c, held-out β̂); recall and fits as information."""
    l1, l2 = np.asarray(m["lambda1"]), np.asarray(m["lambda2"])
    declared = m["config"]["experiment"]["theorem3_c"]
    beta = beta_envelope(l2, np.asarray(m["calibration"]["T1_line_mean"]), eps)
    c = declared if declared is not None else theorem3.smallest_feasible_c(l1, l2, m["gamma"], beta)
    how = "declared" if declared is not None else "the smallest c whose region meets the grid"
    name = f"{m['label']}: every (λ1, λ2) satisfying Theorem 3's conditions generalizes to T'"
    crit = (
        f"per seed, fraction of the grid points with Σλγ ≥ 1 + c, Σλγ² ≥ 1 + c, |λ_i| ≤ c/β̂ "
        f"(c: {how}; β̂ held out) where T' hinge ≤ {eps}; interval ≥ {SUCCESS_FRACTION}"
    )
    if c is None:
        return {"claim": name, "source": "Theorem 3", "criterion": crit, "verdict": "untested",
                "measured": f"no c ∈ (0, 1) gives a region on the grid (β̂ = {beta:.3f})"}  # fmt: skip
    inside = theorem3.literal_region(l1, l2, m["gamma"], c, beta)
    h = np.asarray(m["per_seed_hinge"])  # (seed, λ1, λ2)
    box = f"{c / beta:.2f}" if beta > 0 else "∞"
    if not inside.any():
        return {"claim": name, "source": "Theorem 3", "criterion": crit, "verdict": "untested",
                "measured": f"the region (box {box}, β̂ = {beta:.3f}) holds no grid point"}  # fmt: skip
    frac = interval([float((hs[inside] <= eps).mean()) for hs in h])
    measured = h.mean(0) <= eps
    recall = float((measured & inside).sum() / max(measured.sum(), 1))
    shp = m["region"]["shape"]
    return {
        "claim": name,
        "source": "Theorem 3",
        "criterion": crit,
        "measured": (
            f"fraction {show(frac)} over {frac['n']} seeds, {int(inside.sum())} points (c = {c:g}, "
            f"box {box}, β̂ = {beta:.3f}); recall {recall:.2f} of the measured region (not judged: the "
            f"condition is sufficient); fitted shape IoU {shp['iou']:.2f} (information)"
        ),
        "verdict": judge(frac, SUCCESS_FRACTION),
    }


def _gamma_hat(m: dict) -> dict[str, Any]:
    gh, g = m["gamma_hat"], m["gamma"]
    ivs = [interval_of(gh[i]) for i in range(2)]
    parts = [within(ivs[i], g[i] - GAMMA_TOL, g[i] + GAMMA_TOL) for i in range(2)]
    parts += [judge(ivs[i], 0.0, at_least=g[i] > 0) for i in range(2) if g[i] != 0]
    others = "; ".join(
        f"{k}: ({v[0]['mean']:.3f}, {v[1]['mean']:.3f})"
        for k, v in m["gamma_hat_by_output"].items()
        if k != m["gamma_hat_output"]
    )
    cos = m["task_vector_cosine"]
    return claim(
        f"{m['label']}: the output-cosine estimator recovers γ",
        "§6.1 (γ̂ of Figure 2)",
        f"γ̂_i = α̂(Ψ*_T', Ψ*_Ti): each seed interval on γ_i's side of 0 and within γ_i ± {GAMMA_TOL}",
        f"γ̂ = ({show(ivs[0])}, {show(ivs[1])}) vs γ = ({g[0]:.3f}, {g[1]:.3f}) (output = "
        f"{m['gamma_hat_output']}; " + others + f"; task-vector cosines ({cos[0]['mean']:.3f}, "
        f"{cos[1]['mean']:.3f}))",
        all_hold(parts),
    )


def _kappa_sweep(m: dict, eps: float, forget: float) -> dict[str, Any]:
    sweep = sorted(m["kappa_sweep"], key=lambda r: r["kappa"])
    ks = np.array([r["kappa"] for r in sweep])
    h = np.array([r["best"]["hinge"]["mean"] for r in sweep])
    a = np.array([r["best"]["acc"]["mean"] for r in sweep])
    last = sweep[-1]
    iv = interval_of(last["best"]["hinge"])
    mono = bool(np.all(np.diff(a) <= 0.01))
    return claim(
        f"{m['label']}: T' cannot be reached once it leaves the span (κ → 1)",
        "Theorem 3 (condition A)",
        f"at κ = 1 the best test hinge's seed interval ≥ {forget}",
        f"at κ = {last['kappa']:.2f}: hinge {show(iv)}, accuracy {100 * last['best']['acc']['mean']:.1f}%; "
        f"best hinge over κ {h.min():.3f} … {h.max():.3f}; first κ with hinge > {eps}: "
        + (f"{ks[np.argmax(h > eps)]:.2f}" if (h > eps).any() else "none")
        + f"; accuracy non-increasing in κ (within 0.01, information): {mono}",
        judge(iv, forget) if last["kappa"] >= 1.0 - 1e-9 else "untested",
    )


def _gamma_map(m: dict, eps: float) -> dict[str, Any]:
    """One-sided, as Theorem 3 states a sufficient condition: per map seed, the fraction of the
    feasible γ points that some (λ1, λ2) solves; the converse is reported, not judged."""
    gm = m["gamma_map"]
    feas = [r for r in gm if r["feasible"]]
    gain = [r for r in gm if r["best_hinge"] <= eps and r["single_hinge"] > eps]
    agree = sum(r["feasible"] == (r["best_hinge"] <= eps) for r in gm)
    name = (
        f"{m['label']}: over the unit disk of γ, combinations reach T' wherever Theorem 3's "
        "conditions can hold"
    )
    crit = (
        "γ map (held-out seeds): per seed, the fraction of the γ points where some grid (λ1, λ2) has "
        f"Σλγ ≥ 1 and Σλγ² ≥ 1 (c → 0) whose best combined hinge ≤ {eps}; interval ≥ {SUCCESS_FRACTION}"
    )
    if not feas or "best_hinge_per_seed" not in feas[0]:
        return claim(
            name, "Theorem 3", crit, "no feasible γ point (or no per-seed map)", "untested"
        )
    n = len(feas[0]["best_hinge_per_seed"])
    frac = interval([np.mean([r["best_hinge_per_seed"][k] <= eps for r in feas]) for k in range(n)])
    return claim(
        name,
        "Theorem 3",
        crit,
        f"fraction {show(frac)} over {n} seeds, {len(feas)} feasible of {len(gm)} γ points; "
        f"{len(gain)} γ solved by a combination and by no single vector; both-way agreement "
        f"{agree}/{len(gm)} (information: the condition is sufficient)",
        judge(frac, SUCCESS_FRACTION),
    )


def _scoped(row: dict, m: dict, eps: float) -> dict[str, Any]:
    """A row about the merged models, with the scope and audit of Ψ*_T1 and Ψ*_T2."""
    models = [o["mechanism"] for o in m["own_task"] if "mechanism" in o]
    worst = audit(models)
    failures = scope_failures(worst, eps)
    row = dict(row)
    if failures:
        row["measured"] = f"{row['measured']}; out of scope: {', '.join(failures)}"
    row.update(
        scope="out" if failures else "in",
        assumptions={**worst, **m["hypotheses"], "calibration seeds": m["calibration"]["seeds"]},
        out_of_scope_because=failures,
    )
    return row


def claims(m: dict) -> list[dict[str, Any]]:
    """The rows of ``ood``, in the order of the claims table."""
    ev = m["config"]["eval"]
    eps = ev["eps"]
    merged = [_best_point(m, eps), _combination(m, eps), claim(**_theorem3(m, eps))]
    if m.get("kappa_sweep"):
        merged.append(_kappa_sweep(m, eps, ev["forget_hinge"]))
    if m.get("gamma_map"):
        merged.append(_gamma_map(m, eps))
    pre, gh = _precondition(m, eps), _gamma_hat(m)
    pre["scope"] = gh["scope"] = "in"  # neither depends on the proofs' conclusions
    return [
        pre,
        *(_scoped(r, m, eps) for r in merged[:3]),
        gh,
        *(_scoped(r, m, eps) for r in merged[3:]),
    ]
