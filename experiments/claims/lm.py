"""Claims of ``lm_unlearning``: Theorem 2 on a language model (theory.md §6.2, Tables 3-4).

Negating the task vector of book A should lower Rouge-L and raise the held-out loss most on A, then on
the book B aligned with A, then on the less aligned C; α̂ should order B and C the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.claims import claim, verdict
from experiments.paper import LM_ALPHA, LM_DROP_PERCENT


def endpoints(lams: list[float]) -> tuple[int, int]:
    """Indices of the reference λ (0 when on the grid, else the first λ) and of the most negative λ:
    the drops and rises of the claims are measured between them."""
    return (lams.index(0.0) if 0.0 in lams else 0, int(np.argmin(lams)))


def _rouge_drop(r: dict[str, Any], kind: str, lam1: float) -> dict[str, Any]:
    d, p = r["drop_percent"][kind], LM_DROP_PERCENT[kind]
    return claim(
        f"{kind} task vector: negating A lowers Rouge-L on A, and on the aligned B more than on C",
        "Theorem 2 / Table " + ("3" if kind == "full" else "4"),
        f"relative Rouge-L drop from λ = 0 to λ = {lam1:g}: A > 0, B > 0 and B > C",
        f"A {d['A']:.1f}%, B {d['B']:.1f}%, C {d['C']:.1f}% (paper {p['A']}%, {p['B']}%, {p['C']}%)",
        verdict(d["A"] > 0 and d["B"] > max(d["C"], 0.0), d["A"] > 0),
    )


def _loss_rise(r: dict[str, Any], kind: str, i0: int, i1: int) -> dict[str, Any]:
    loss = r["loss"][kind]
    rise = {b: rows[i1]["mean"] - rows[i0]["mean"] for b, rows in loss.items()}
    return claim(
        f"{kind} task vector: negating A raises the held-out loss most on A, then on the aligned B, then on C",
        "Theorem 2",
        f"per-token loss increase from λ = 0 to λ = {r['lambdas'][i1]:g}: A > B > C",
        f"A +{rise['A']:.3f}, B +{rise['B']:.3f}, C +{rise['C']:.3f} nats/token",
        verdict(rise["A"] > rise["B"] > rise["C"], rise["A"] > max(rise["B"], rise["C"])),
    )


def _alpha_order(ahat: dict[str, Any]) -> dict[str, Any]:
    a_b, a_c = ahat["B"]["logits"]["mean"], ahat["C"]["logits"]["mean"]
    return claim(
        "α̂ orders the books as negation does (B more aligned with A than C is)",
        "§6.2 (α̂)",
        f"α̂(A, B) > α̂(A, C) with the logits as outputs (paper {LM_ALPHA['B']} > {LM_ALPHA['C']})",
        f"logits: {a_b:.3f} vs {a_c:.3f}; logit changes: {ahat['B']['logit_change']['mean']:.3f} vs "
        f"{ahat['C']['logit_change']['mean']:.3f}; task vectors: {ahat['B']['task_vector']['mean']:.3f} vs "
        f"{ahat['C']['task_vector']['mean']:.3f}",
        verdict(a_b > a_c),
    )


def unlearning(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims rows of ``lm_unlearning``: per vector kind, the Rouge-L drop and the loss rise; then
    the α̂ order."""
    lams = results["lambdas"]
    i0, i1 = endpoints(lams)
    rows = []
    for kind in ("full", "lora"):
        rows.append(_rouge_drop(results, kind, lams[i1]))
        rows.append(_loss_rise(results, kind, i0, i1))
    rows.append(_alpha_order(results["alpha_hat"]))
    return rows
