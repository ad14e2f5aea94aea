"""Coloured digits: the per-seed validation choice of (λ1, λ2) with its widening, and the claims rule
of ``cdigits_compress`` on planted inputs where it must flip its verdict."""

import numpy as np
import pytest

from experiments.cdigits.choose import choose, pick, score
from experiments.claims.cdigits import compress_claims

L1, L2 = np.array([0.5, 1.0, 1.5, 2.0]), np.array([-1.2, -0.8, -0.4, 0.0, 0.4, 0.8, 1.2, 1.6])


def _surface(f1, f2):
    """A ``measure`` whose T1/T2 validation accuracies are f1(λ1, λ2), f2(λ1, λ2); it records calls."""
    calls = []

    def measure(l1, l2):
        calls.append((len(l1), len(l2)))
        a, b = np.meshgrid(l1, l2, indexing="ij")
        acc1, acc2 = np.clip(f1(a, b), 0, 1), np.clip(f2(a, b), 0, 1)
        return {"T1": {"acc": acc1, "hinge": 1 - acc1}, "T2": {"acc": acc2, "hinge": 1 - acc2}}

    return measure, calls


def _peak(c1, c2):
    return lambda a, b: 1.0 - 0.05 * ((a - c1) ** 2 + (b - c2) ** 2)


# ---- the choice on the validation grid ---------------------------------------------------------
def test_addition_maximises_the_worse_task_and_negation_keeps_t1():
    measure, _ = _surface(lambda a, b: 1.0 - 0.1 * np.abs(b), lambda a, b: 0.5 + 0.2 * b)
    val = measure(L1, L2)
    i, j = pick("add", val, L1, L2, keep=0.0)
    assert (L1[i], L2[j]) == (0.5, 1.6)  # worse task = T2 grows with λ2; ties: smaller ‖λ‖
    # negation: λ2 < 0 only; T1 ≥ 0.95 forbids λ2 < −0.4 here; maximise T1 − T2
    i, j = pick("negate", val, L1, L2, keep=0.95)
    assert L2[j] == -0.4
    assert pick("negate", val, L1, L2, keep=0.99) is None  # no λ2 < 0 keeps T1
    assert score("add", 0.9, 0.7) == 0.7 and score("negate", 0.9, 0.2) == pytest.approx(0.7)


def test_a_choice_on_an_open_edge_widens_the_axis_and_is_flagged_when_it_stays_there():
    axes, step = [L1, L2], [0.5, 0.4]
    inside, calls = _surface(_peak(1.0, 0.4), _peak(1.0, 0.4))
    c = choose("add", axes, inside, 0.0, 2, 2, step)
    assert (c["lambda1"], c["lambda2"], c["on_edge"], c["widened"]) == (1.0, 0.4, False, 0)
    beyond, calls = _surface(_peak(2.5, 2.0), _peak(2.5, 2.0))
    c = choose("add", axes, beyond, 0.0, 2, 2, step)
    assert (c["lambda1"], c["lambda2"], c["widened"], c["on_edge"]) == (2.5, 2.0, 1, False)
    assert calls == [(4, 8), (6, 10)]
    rising = lambda a, b: 0.5 + 0.05 * a - 0.05 * (b - 0.4) ** 2  # noqa: E731  (best: λ1 → ∞)
    far, _ = _surface(rising, rising)
    c = choose("add", axes, far, 0.0, 2, 2, step)
    assert (c["lambda1"], c["widened"], c["on_edge"]) == (4.0, 2, True)
    assert choose("add", axes, far, 0.0, 0, 2, step)["on_edge"]  # no widening allowed


def test_hard_bounds_are_not_edges():
    axes, step = [L1, L2], [0.5, 0.4]
    low, _ = _surface(_peak(-3.0, 0.4), _peak(-3.0, 0.4))
    c = choose("add", axes, low, 0.0, 2, 2, step)  # λ1 ≥ 0: widened to 0, then a hard bound
    assert (c["lambda1"], c["on_edge"], c["widened"]) == (0.0, False, 1)
    # negation: T2 forgotten best near λ2 = +1, but λ2 < 0 is required: λ2 = 0 is no open edge
    t1 = lambda a, b: 1.0 - 0.01 * (a - 1.0) ** 2 + 0 * b  # noqa: E731
    neg, _ = _surface(t1, lambda a, b: 0.5 - 0.1 * np.abs(b - 1.0))
    c = choose("negate", axes, neg, 0.9, 2, 2, step)  # T2 lowest far below: widened twice
    assert (c["lambda1"], c["lambda2"], c["on_edge"], c["widened"]) == (1.0, -2.8, True, 2)
    near, _ = _surface(t1, lambda a, b: 0.5 + 0.1 * np.abs(b + 0.4))
    c = choose("negate", axes, near, 0.9, 2, 2, step)
    assert (c["lambda2"], c["on_edge"], c["widened"]) == (-0.4, False, 0)


# ---- cdigits_compress --------------------------------------------------------------------------
def _edit(scores, on_edge=False):
    return {"score": float(np.mean(scores)), "scores": list(scores), "on_edge": on_edge}


def _compress(full, low, mag, tol=0.05):
    edits = list(full)
    return {
        "config": {"experiment": {"tolerance": tol}},
        "ranks": [1, 16],
        "keep": [0.5, 0.05],
        "full": {e: _edit(full[e]) for e in edits},
        "low_rank": {e: [{"rank": 1, **_edit(low[e])}, {"rank": 16, **_edit(full[e])}] for e in edits},
        "magnitude": {e: [{"keep": 0.5, **_edit(full[e])}, {"keep": 0.05, **_edit(mag[e])}] for e in edits},
    }  # fmt: skip


def test_compress_rule_flips_between_kept_lost_and_inconclusive():
    full = {"add a": [0.90, 0.92, 0.91], "negate a": [0.80, 0.82, 0.81]}
    same = {"add a": [0.89, 0.91, 0.90], "negate a": [0.80, 0.81, 0.81]}
    lost = {"add a": [0.60, 0.61, 0.62], "negate a": [0.80, 0.81, 0.81]}
    noisy = {"add a": [0.95, 0.70, 0.91], "negate a": [0.80, 0.81, 0.81]}
    rows = compress_claims(_compress(full, same, lost))
    assert [r["verdict"] for r in rows] == ["agrees", "disagrees"]
    assert "add a Δ" in rows[0]["measured"] and "lost" in rows[1]["measured"]
    assert "smallest kept fraction keeping every edit: 0.5" in rows[1]["measured"]
    assert compress_claims(_compress(full, noisy, same))[0]["verdict"] == "inconclusive"
    # the tolerance decides: a drop of 0.3 is lost at 0.05 and kept at 0.5
    assert compress_claims(_compress(full, lost, same, tol=0.5))[0]["verdict"] == "agrees"


def test_compress_rule_reports_choices_left_on_an_edge():
    r = _compress({"add a": [0.9, 0.9]}, {"add a": [0.9, 0.9]}, {"add a": [0.9, 0.9]})
    r["low_rank"]["add a"][0]["on_edge"] = True
    row = compress_claims(r)[0]
    assert row["verdict"] == "agrees" and "still on a grid edge: add a" in row["measured"]
