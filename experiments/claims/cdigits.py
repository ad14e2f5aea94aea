"""Claims of the coloured-digits experiments ``cdigits_pair`` and ``cdigits_compress`` (``cdigits_ood``:
``experiments.claims.cdigits_ood``).

Each function reads one experiment's results (its config is ``results["config"]``) and returns the
claims rows, every comparison by the t interval over seeds: every fine-tuned ViT learns its own task,
α̂ has the relation's sign and the pair edits of Theorems 1–2 / Table 1 (pair); the edits survive
low-rank and pruned task vectors (Corollaries 1–2, compress): per seed, the compressed edit's test
score minus the dense one's ((λ1, λ2) chosen on validation for each), against the declared
``experiment.tolerance``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.claims import all_hold, claim, interval, judge, show, verdict, within
from experiments.paper import CDIGITS_ALPHA as PAPER_ALPHA
from experiments.paper import CDIGITS_TABLE1 as PAPER_TABLE1

# ----------------------------------------------------------------------------- cdigits_pair


def own_task_claim(own: list[dict], bad: list[dict], min_acc: float) -> dict[str, Any]:
    return claim(
        f"coloured digits: every fine-tuned ViT reaches ≥ {min_acc:.0%} on its own task",
        "theory.md §6.1 (setting)",
        f"own-task test accuracy ≥ {min_acc:.0%} for every task and seed",
        f"{len(own) - len(bad)}/{len(own)} runs; lowest {100 * min(o['accuracy'] for o in own):.1f}%"
        + ("; flagged: " + ", ".join(f"{o['task']}/seed{o['seed']}" for o in bad) if bad else ""),
        verdict(not bad),
    )


ALPHA_RULES = {  # kind -> (rule on the seed interval of α̂, its text)
    "irrelevant": (lambda iv: within(iv, -0.3, 0.3), "|α̂| ≤ 0.3"),
    "aligned": (lambda iv: judge(iv, 0.5), "α̂ ≥ 0.5"),
    "contradictory": (lambda iv: judge(iv, -0.3, at_least=False), "α̂ ≤ −0.3"),
}


def alpha_claim(name: str, p: dict, output: str) -> dict[str, Any]:
    iv = interval(p["alpha_hat_per_seed"][output])
    rule, crit = ALPHA_RULES.get(name.split()[0], ALPHA_RULES["contradictory"])
    others = ", ".join(f"{k}: {v['mean']:.3f}" for k, v in p["alpha_hat"].items() if k != output)
    return claim(
        f"{name}: the estimated correlation has the relation's sign",
        "§6.1 (α̂)",
        f"{crit} by the seed interval (output = {output}); paper {PAPER_ALPHA.get(name)}",
        f"α̂ = {show(iv)} ({others})",
        rule(iv),
    )


def _at(p: dict, task: str, i: int) -> list[float]:
    """Per-seed accuracy of ``task`` at grid index ``i``."""
    return [row[i] for row in p["per_seed_acc"][task]]


def _index(lams: np.ndarray, lam: float) -> int:
    return int(np.argmin(np.abs(lams - lam)))


def irrelevant_claim(name: str, p: dict, lams: np.ndarray, retain: float) -> dict[str, Any]:
    mt, un = p["table1"]["multi_task"], p["table1"]["unlearning"]
    pt = PAPER_TABLE1.get(name.split()[0], {})
    i = _index(lams, mt["lambda"])
    both = interval(np.minimum(_at(p, "T1", i), _at(p, "T2", i)))
    parts = [judge(both, 0.85)]
    text = f"multi-task λ {mt['lambda']:.1f}: worse task {show(both)} (paper λ {pt['multi_task'][0]}: {pt['multi_task'][1]}/{pt['multi_task'][2]}); "
    if un:
        t2 = interval(_at(p, "T2", _index(lams, un["lambda"])))
        parts.append(judge(t2, 0.6, at_least=False))
        text += f"unlearning λ {un['lambda']:.1f}: T1 {100 * un['T1_acc']:.1f}%, T2 {show(t2)} (paper λ {pt['unlearning'][0]}: {pt['unlearning'][1]}/{pt['unlearning'][2]})"
    else:
        parts.append("disagrees")
        text += "no λ keeps T1"
    return claim(
        f"{name}: addition learns T2 and keeps T1; negation forgets T2 and keeps T1",
        "Theorems 1–2 / Table 1",
        f"per seed at the Table 1 λ: multi-task worse task ≥ 0.85; unlearning (T1 ≥ {retain:.0%} of "
        "fine-tuned) T2 ≤ 0.6; each by its seed interval",
        text,
        all_hold(parts),
    )


def _fractions(p: dict, mask) -> list[float]:
    """Per seed, the fraction of grid λ where ``mask(T1 accuracies, T2 accuracies)`` holds."""
    return [
        float(np.mean(mask(np.asarray(a1), np.asarray(a2))))
        for a1, a2 in zip(p["per_seed_acc"]["T1"], p["per_seed_acc"]["T2"], strict=True)
    ]


def aligned_claim(name: str, p: dict, lams: np.ndarray, retain: float) -> dict[str, Any]:
    mt = p["table1"]["multi_task"]
    keep = retain * p["finetuned_T1_acc"]
    frac = interval(_fractions(p, lambda a1, a2: (lams < 0) & (a1 >= keep) & (a2 <= 0.6)))
    at = _index(lams, -1.0)
    return claim(
        f"{name}: negation cannot forget T2 without forgetting T1",
        "Theorem 2 / Table 1",
        f"per seed, fraction of grid λ < 0 with T2 ≤ 60% while T1 keeps ≥ {retain:.0%} of its "
        "fine-tuned accuracy: interval at 0",
        f"fraction {show(frac)}; at λ = −1: T1 {show(interval(_at(p, 'T1', at)))}, "
        f"T2 {show(interval(_at(p, 'T2', at)))} (paper 50/47); multi-task λ {mt['lambda']:.1f}: "
        f"{100 * mt['T1_acc']:.1f}%/{100 * mt['T2_acc']:.1f}% (paper 95.6/92.5)",
        judge(frac, 0.0, at_least=False),
    )


def contradictory_claim(name: str, p: dict, lams: np.ndarray, retain: float) -> dict[str, Any]:
    mt, un = p["table1"]["multi_task"], p["table1"]["unlearning"]
    both = interval(_fractions(p, lambda a1, a2: (a1 >= 0.85) & (a2 >= 0.85)))
    parts = [judge(both, 0.0, at_least=False)]
    if un:
        t2 = interval(_at(p, "T2", _index(lams, un["lambda"])))
        parts.append(judge(t2, 0.5, at_least=False))
        text = f"unlearning λ {un['lambda']:.1f}: T1 {100 * un['T1_acc']:.1f}%, T2 {show(t2)} (paper −1.0: 94.2/5.0); "
    else:
        parts.append("disagrees")
        text = "no λ keeps T1; "
    return claim(
        f"{name}: negation drives T2 below chance and keeps T1; addition cannot serve both",
        "Theorems 1–2 / Table 1",
        f"per seed: T2 ≤ 50% at the unlearning λ (T1 ≥ {retain:.0%} of fine-tuned); fraction of λ "
        "with both ≥ 85% at 0; each by its seed interval",
        text + f"fraction of λ with both ≥ 85% {show(both)}; best multi-task λ {mt['lambda']:.1f}: "
        f"{100 * mt['T1_acc']:.1f}%/{100 * mt['T2_acc']:.1f}% (paper 79.5/62.5)",
        all_hold(parts),
    )


def pair_claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The own-task row, then per pair: α̂'s sign and the pair's Table 1 edit."""
    exp, ev = results["config"]["experiment"], results["config"]["eval"]
    retain, lams = ev["retain_fraction"], np.asarray(results["lambdas"])
    rows = [own_task_claim(results["own_task"], results["flagged_runs"], exp["min_own_accuracy"])]
    for name, p in results["pairs"].items():
        rows.append(alpha_claim(name, p, results["estimator_output"]))
        kind = name.split()[0]
        if kind == "irrelevant":
            rows.append(irrelevant_claim(name, p, lams, retain))
        elif kind == "aligned":
            rows.append(aligned_claim(name, p, lams, retain))
        else:
            rows.append(contradictory_claim(name, p, lams, retain))
    return rows


# ----------------------------------------------------------------------------- cdigits_compress

KEPT = {"agrees": "kept", "disagrees": "lost", "inconclusive": "inconclusive"}


def edit_drop(full: dict, compressed: dict, tolerance: float) -> tuple[dict[str, float], str]:
    """The seed interval of (compressed − full) test score of one edit, and whether the edit is kept:
    ``agrees`` when the whole interval is ≥ −tolerance, ``disagrees`` when it is wholly below."""
    diff = np.asarray(compressed["scores"], float) - np.asarray(full["scores"], float)
    iv = interval(diff)
    return iv, judge(iv, -tolerance)


def compressed_row(name: str, source: str, full: dict, at: dict, tol: float, what: str) -> dict:
    """One corollary's row: every edit kept (``all_hold`` of the per-edit verdicts)."""
    parts = {e: edit_drop(full[e], at[e], tol) for e in sorted(full)}  # metrics.json sorts keys
    edge = [e for e in parts if full[e]["on_edge"] or at[e]["on_edge"]]
    return claim(
        name,
        source,
        f"per seed, {what} − dense test score of each edit ((λ1, λ2) re-chosen on validation); an "
        f"edit is kept when the seed interval of that difference is ≥ −{tol:.2f}, lost when wholly "
        "below; every edit kept",
        "; ".join(f"{e} Δ {show(iv)} {KEPT[v]}" for e, (iv, v) in parts.items())
        + (f"; still on a grid edge: {', '.join(edge)}" if edge else ""),
        all_hold([v for _, v in parts.values()]),
    )


def compress_claims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Corollary 1 at the smallest rank and Corollary 2 at the smallest kept fraction: each edit's
    per-seed score difference to the dense edit, judged against the declared tolerance."""
    tol = results["config"]["experiment"]["tolerance"]
    full, low, mag = results["full"], results["low_rank"], results["magnitude"]
    ranks, keep = results["ranks"], results["keep"]
    smallest = [
        k
        for i, k in enumerate(keep)
        if all(edit_drop(full[e], mag[e][i], tol)[1] == "agrees" for e in full)
    ]
    pruned = compressed_row(
        f"coloured digits: magnitude-pruned ViT task vectors ({keep[-1]:g} of the entries) keep "
        "the pair edits",
        "Corollary 2",
        full,
        {e: mag[e][-1] for e in full},
        tol,
        f"kept fraction {keep[-1]:g}",
    )
    pruned["measured"] += "; smallest kept fraction keeping every edit: " + (
        f"{min(smallest):g}" if smallest else "none"
    )
    return [
        compressed_row(
            f"coloured digits: rank-{ranks[0]} ViT task vectors keep the pair edits",
            "Corollary 1",
            full,
            {e: low[e][0] for e in full},
            tol,
            f"rank {ranks[0]}",
        ),
        pruned,
    ]
