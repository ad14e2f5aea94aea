"""The ``gradients_vit`` claims rules on planted inputs where each must flip (agrees / disagrees /
inconclusive), from a results dict of the shape ``experiments.cdigits.gradients_vit`` writes."""

import pytest

from experiments.claims.gradients_vit import (
    adam_claim,
    claims,
    direction_claim,
    dominance_claim,
    exactness_claims,
    merging_claim,
    second_order_claim,
)

TASKS = ["a", "b"]


def _seeds(values):
    return {"per_seed": list(values), "mean": sum(values) / len(values)}


def _task(ratio=(2.0, 2.1, 1.9), cos=(0.9, 0.92, 0.91), adam_cos=(0.3, 0.31, 0.29)):
    return {
        "shares": [0.4, 0.2, 0.2, 0.2],
        "grad_norm": [0.4, 0.2, 0.2, 0.2],
        "ratio": _seeds(ratio),
        "first_over_second": _seeds(ratio),
        "grad_ratio": _seeds(ratio),
        "grad_first_over_second": _seeds(ratio),
        "cos_first_final": _seeds(cos),
        "first_step_cos": _seeds(adam_cos),
    }


def _rows(ratio=1.0, slope=2.0):
    """(η, k) rows of one seed: error = ratio · η² · c_k below η = 1e-3, then the slope's power."""
    rows = []
    for lr in (1e-4, 1e-3, 1e-2):
        for k in (2, 5):
            pred = lr**2 * k * (k - 1) / 2
            err = ratio * pred * (lr / 1e-4) ** (slope - 2)
            rows.append(
                {
                    "lr": lr,
                    "k": k,
                    "error": err,
                    "predicted": pred,
                    "ratio": err / pred,
                    "relative": 0.01 if lr < 1e-2 else 0.5,
                    "hg_drift": 0.1,
                }
            )
    return rows


def _merge(gaps=(1.0, 1.2, 0.8), norm=0.8):
    kind = {
        "acc_mean": 0.8,
        "normalized_acc_mean": norm,
        "loss_mean": 0.4,
        "per_seed": {"normalized_acc": [norm] * 3},
    }
    gap = {"per_seed": list(gaps), "per_set": [[g, g] for g in gaps]}
    return {
        "mean": {"1_epoch": kind, "converged": kind},
        "tuned": {"1_epoch": kind, "converged": kind},
        "gap": {"mean": gap, "tuned": gap},
    }


def results(err=1e-15, ratio=1.0, slope=2.0, task_b=None, gaps=(1.0, 1.2, 0.8), norm=0.8):
    tasks = {"a": _task(), "b": task_b or _task()}
    dom = {"tasks": tasks, "holds_fraction": 1.0, "grad_holds_fraction": 1.0}
    exact = [
        {"one_task_rel_error": err, "mean_of_tasks_rel_error": err, "rows": _rows(ratio, slope)}
        for _ in range(3)
    ]
    return {
        "tasks": TASKS,
        "exactness": exact,
        "multi_epoch": _rows(ratio, slope),
        "dominance": {"sgd": dom, "adam": dom},
        "merging": {"adam": _merge(gaps, norm)},
    }


def test_every_row_agrees_on_a_run_that_meets_every_criterion():
    rows = claims(results())
    assert [r["verdict"] for r in rows] == ["agrees"] * len(rows)
    assert all(r["source"].startswith("gradients.md") for r in rows)  # Paper 2's group


@pytest.mark.parametrize(("err", "expected"), [(1e-13, "agrees"), (1e-8, "disagrees")])
def test_exactness_rows_flip_at_the_tolerance(err, expected):
    assert {r["verdict"] for r in exactness_claims(results(err=err))} == {expected}


@pytest.mark.parametrize(
    ("ratio", "slope", "expected"),
    [(1.02, 2.0, "agrees"), (1.5, 2.0, "disagrees"), (1.0, 1.0, "disagrees")],
)
def test_second_order_row_flips(ratio, slope, expected):
    assert second_order_claim(results(ratio=ratio, slope=slope))["verdict"] == expected


def test_second_order_row_is_inconclusive_when_seeds_straddle_and_untested_without_a_fit():
    r = results()
    for e, ratio in zip(r["exactness"], (0.85, 1.0, 1.15), strict=True):  # interval spills out
        for q in e["rows"]:
            q["error"] *= ratio
            q["ratio"] *= ratio
    assert second_order_claim(r)["verdict"] == "inconclusive"
    r = results()
    for e in r["exactness"]:
        for q in e["rows"]:
            q["relative"] = 0.5  # no η in the expansion's regime: no slope
    assert second_order_claim(r)["verdict"] == "untested"


@pytest.mark.parametrize(
    ("ratio_b", "expected"),
    [
        ((1.5, 1.6, 1.4), "agrees"),
        ((0.5, 0.6, 0.55), "disagrees"),
        ((0.8, 1.4, 1.1), "inconclusive"),
    ],
)
@pytest.mark.parametrize("measure", ["update", "grad"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_dominance_rows_flip_per_task(ratio_b, expected, measure, opt):
    row = dominance_claim(results(task_b=_task(ratio=ratio_b)), opt, measure)
    assert row["verdict"] == expected


@pytest.mark.parametrize(
    ("cos_b", "expected"),
    [
        ((0.9, 0.88, 0.92), "agrees"),
        ((0.5, 0.4, 0.45), "disagrees"),
        ((0.6, 0.8, 1.0), "inconclusive"),
    ],
)
def test_direction_row_flips(cos_b, expected):
    assert direction_claim(results(task_b=_task(cos=cos_b)))["verdict"] == expected


@pytest.mark.parametrize(
    ("adam", "expected"),
    [
        ((0.3, 0.3, 0.3), "agrees"),
        ((0.99, 0.98, 0.99), "disagrees"),
        ((0.6, 1.0, 1.0), "inconclusive"),
    ],
)
def test_adam_control_row_flips(adam, expected):
    """One interval over every (task, seed): both tasks planted alike."""
    r = results()
    r["dominance"]["adam"]["tasks"] = {t: _task(adam_cos=adam) for t in TASKS}
    assert adam_claim(r)["verdict"] == expected


@pytest.mark.parametrize(
    ("gaps", "norm", "expected"),
    [
        ((1.0, 1.2, 0.8), 0.8, "agrees"),
        ((-4.0, -5.0, -3.0), 0.8, "agrees"),  # the one-epoch merge is better
        ((6.0, 7.0, 6.5), 0.8, "disagrees"),
        ((0.0, 6.0, 3.0), 0.8, "inconclusive"),
        ((6.0, 7.0, 6.5), 0.995, "inconclusive"),  # saturated: accuracy cannot separate merges
    ],
)
@pytest.mark.parametrize("agg", ["mean", "tuned"])
def test_merging_row_flips(gaps, norm, expected, agg):
    assert merging_claim(results(gaps=gaps, norm=norm), "adam", agg)["verdict"] == expected
