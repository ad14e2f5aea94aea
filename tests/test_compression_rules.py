"""The compression edits' selection rule (``edit_choice``) and the claims of Corollaries 1–2 on planted
inputs: each rule must flip between agrees, disagrees, inconclusive and out of scope."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from experiments.claims.compression import holds, low_rank_claims, pruning_claims
from experiments.one_layer import pruning
from experiments.one_layer.edit_choice import Grid, allowed, choose, pick, slack
from experiments.theory.corollaries import EDITS
from models.task_vectors import TaskVector

# ----------------------------------------------------------------------------- selection


def _maps(fn, l1, l2, names=("T'",)):
    a, b = np.meshgrid(l1, l2, indexing="ij")
    return {n: {"acc": np.zeros(a.shape), "hinge": fn(n, a, b)} for n in names}


def test_slack_is_the_guarantee_of_each_edit():
    h = {"T1": {"hinge": np.array([0.0, 0.2])}, "T2": {"hinge": np.array([0.05, 1.0])}}
    assert slack("add", h, 0.1, 0.5).tolist() == pytest.approx([-0.05, 0.9])
    assert slack("negate", h, 0.1, 0.5).tolist() == pytest.approx([0.45, 0.1])
    assert slack("ood", {"T'": {"hinge": np.array([0.3])}}, 0.1, 0.5).tolist() == pytest.approx(
        [0.2]
    )


def test_pick_respects_the_sign_of_lambda2_and_breaks_ties_toward_the_nominal_edit():
    l1, l2 = np.array([0.5, 1.0, 1.5]), np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    flat = np.zeros((3, 5))  # every point ties
    assert pick("add", flat, l1, l2) == (1, 3)  # (1, 0.5): λ2 > 0, nearest (1, 0)
    assert pick("negate", flat, l1, l2) == (1, 1)  # (1, −0.5)
    s = flat.copy()
    s[0, 0] = -1.0  # a strictly better point wins over the nominal one
    assert pick("negate", s, l1, l2) == (0, 0)
    assert not allowed("add", l1, l2)[:, :3].any() and not allowed("negate", l1, l2)[:, 2:].any()


def test_choose_widens_until_the_choice_is_interior_or_flags_it():
    def hinge(n, a, b):
        return (a - 4.0) ** 2 + (b + 1.0) ** 2  # optimum (4, −1), beyond λ1's edge 3

    def evaluate(a, b):
        return _maps(hinge, a, b)

    l1 = l2 = np.arange(-2.0, 3.01, 0.5)
    kw = {"budget": 0.1, "forget": 0.5}
    out, grid = choose({"ood": "ood"}, Grid(l1, l2, evaluate(l1, l2)), evaluate, max_widen=3, **kw)
    assert (out["ood"]["lambda1"], out["ood"]["lambda2"]) == (4.0, -1.0)
    assert out["ood"]["widened"] == 1 and not out["ood"]["on_edge"]
    assert grid.maps["T'"]["hinge"].shape == (len(grid.l1), len(l2))
    np.testing.assert_allclose(grid.maps["T'"]["hinge"], evaluate(grid.l1, grid.l2)["T'"]["hinge"])
    out, _ = choose({"ood": "ood"}, Grid(l1, l2, evaluate(l1, l2)), evaluate, max_widen=0, **kw)
    assert out["ood"]["lambda1"] == 3.0 and out["ood"]["on_edge"]


def test_pair_edits_never_widen_lambda1_below_zero_or_lambda2_across_zero():
    def hinge(n, a, b):
        return (a + 1.0) ** 2 + (b - 2.5) ** 2 if n == "T1" else 0.0 * a  # wants λ1 < 0, λ2 = 2.5

    def evaluate(a, b):
        return _maps(hinge, a, b, ("T1", "T2"))

    l1, l2 = np.array([0.5, 1.0, 1.5]), np.arange(-1.0, 1.01, 0.5)
    out, grid = choose(
        {"add_x": "add"},
        Grid(l1, l2, evaluate(l1, l2)),
        evaluate,
        budget=0.1,
        forget=0.5,
        max_widen=3,
    )
    assert grid.l1.min() == 0.0 and out["add_x"]["lambda1"] == 0.0
    assert out["add_x"]["lambda2"] == 2.5 and not out["add_x"]["on_edge"]


def test_row_pruning_keeps_each_readout_sign_and_matches_magnitude_nonzeros():
    g = torch.Generator().manual_seed(1)
    V = torch.randn(16, 8, generator=g)
    readout = (torch.tensor([1.0] * 8 + [-1.0] * 8) / 4).expand(3, 16)  # (P, m), shared
    V[8:] *= 0.01  # every large row belongs to a > 0: a global top-k would drop a < 0 entirely
    tv = TaskVector({"W": torch.randn(8, 8, generator=g), "V": V})
    for keep in (0.5, 0.3, 0.05):
        rows = pruning.pruned(tv, keep, "rows", readout)
        mag = pruning.pruned(tv, keep, "magnitude", readout)
        kept = (rows["V"] != 0).any(dim=1)
        assert kept[:8].sum() == kept[8:].sum() == max(1, round(keep * 8))
        assert int((rows["V"] != 0).sum()) == int((mag["V"] != 0).sum())
        assert torch.equal(rows["W"], tv["W"]) and torch.equal(mag["W"], tv["W"])


# ----------------------------------------------------------------------------- claims on planted inputs
IN_SCOPE = {
    "own_hinge": 0.0,
    "attention_mu_queries": 0.95,
    "cos_dW_mumu": 0.97,
    "min_margin": 1.0,
    "attention_irrelevant_queries": 0.4,
    "attention_confusion_queries": 0.5,
    "rank1_residual_dV": 0.05,
    "rank1_residual_dW": 0.05,
    "uniform_attention_hinge": 0.5,
}
GOOD, BAD, NOISY = [-0.1, -0.09, -0.1], [0.2, 0.25, 0.3], [-0.1, 0.3, -0.05]


def _edit(s):
    return {"slack": list(s), "success": max(s) <= 0, "on_edge": False, "hinge": 0.0, "acc": 1.0}


def _m(levels: dict, keep: bool = False) -> dict:
    full = {e: _edit(GOOD) for e in EDITS}
    res = {lv: {e: _edit(levels.get(e, GOOD)) for e in EDITS} for lv in ("1", "0.5")}
    return {
        "config": {
            "eval": {"eps": 0.05, "forget_hinge": 0.5},
            "experiment": {"budget_eps": 2.0},
            "train": {"batch_size": 64},
        },
        "edits": list(EDITS),
        "full": full,
        "results": {"both": res, "rows": res, "magnitude": copy.deepcopy(res)},
        "keep": [0.5],
        "spectra": {"T1": {k: {"rank1_residual_per_seed": [0.05, 0.06, 0.05]} for k in "WV"}},
        "mechanism": {"T1/seed0": dict(IN_SCOPE), "T2/seed0": dict(IN_SCOPE)},
        "hypotheses": {"ηδ*": 1.25},
        "budget": 0.1,
        "width": 64,
        "groups": {"T1": {"median_large": 0.1, "median_small": 0.001}},
        "groups_per_seed": {"T1": [{"ratio": 0.1, "large_fraction": 0.5}] * 3},
    }


def test_holds_reads_the_slack_interval_against_zero():
    assert holds(_edit(GOOD)) == "agrees"
    assert holds(_edit(BAD)) == "disagrees"
    assert holds(_edit(NOISY)) == "inconclusive"


@pytest.mark.parametrize(
    ("levels", "expected"),
    [({}, "agrees"), ({"ood": BAD}, "disagrees"), ({"add_aligned": NOISY}, "inconclusive")],
)
def test_rank1_row_flips_with_the_compressed_edits(levels, expected):
    row = low_rank_claims(_m(levels))[0]
    assert row["verdict"] == expected and row["scope"] == "in"


def test_an_edit_that_fails_in_full_is_not_judged():
    m = _m({"ood": BAD})
    m["full"]["ood"] = _edit(BAD)
    row = low_rank_claims(m)[0]
    assert row["verdict"] == "agrees" and "not judged" in row["measured"]
    for e in EDITS:
        m["full"][e] = _edit(NOISY)
    assert low_rank_claims(m)[0]["verdict"] == "untested"


def test_rows_are_out_of_scope_when_attention_does_not_concentrate():
    m = _m({})
    m["mechanism"]["T2/seed0"]["attention_mu_queries"] = 0.6
    rows = low_rank_claims(m) + pruning_claims(_m({}) | {"mechanism": m["mechanism"]})
    assert all(r["scope"] == "out" for r in rows)
    assert all("attention on ±μ queries 0.600" in r["out_of_scope_because"][0] for r in rows)


def test_rank1_residual_row_flips():
    m = _m({})
    assert low_rank_claims(m)[1]["verdict"] == "agrees"
    m["spectra"]["T1"]["V"]["rank1_residual_per_seed"] = [0.4, 0.5, 0.45]
    assert low_rank_claims(m)[1]["verdict"] == "disagrees"
    m["spectra"]["T1"]["V"]["rank1_residual_per_seed"] = [0.05, 0.3, 0.06]
    assert low_rank_claims(m)[1]["verdict"] == "inconclusive"


def test_row_groups_and_kept_rows_flip():
    m = _m({})
    assert [r["verdict"] for r in pruning_claims(m)] == ["agrees", "agrees"]
    m["groups_per_seed"]["T1"] = [{"ratio": 0.9, "large_fraction": 1.0}] * 3
    assert pruning_claims(m)[0]["verdict"] == "disagrees"
    m["groups_per_seed"]["T1"] = [{"ratio": 0.1, "large_fraction": x} for x in (0.5, 0.95, 0.2)]
    assert pruning_claims(m)[0]["verdict"] == "inconclusive"
    assert pruning_claims(_m({"ood": BAD}))[1]["verdict"] == "disagrees"
    assert pruning_claims(_m({"ood": NOISY}))[1]["verdict"] == "inconclusive"
