"""The gradient paper's minibatch rows on planted inputs where they flip (seed intervals)."""

import pytest

from experiments.claims.gradients import dominance_claims


def _s(mean, std=0.01, n=5):
    return {"mean": mean, "std": std, "n": n}


def _dom(cos, adam_cos, shares=(0.6, 0.2, 0.1, 0.1)):
    run = {
        "norm_share": list(shares),
        "cos_first_with_final": cos,
        "first_step_cosine": _s(1.0, 0.0),
    }
    adam = {**run, "first_step_cosine": adam_cos}
    return {
        "config": {"experiment": {"dominance_losses": ["hinge", "logistic"]}},
        "dominance": {"sgd/hinge": run, "adam/hinge": adam},
    }


@pytest.mark.parametrize(
    ("cos", "shares", "expected"),
    [
        (_s(0.9), (0.6, 0.2, 0.2), "agrees"),
        (_s(0.5), (0.6, 0.2, 0.2), "disagrees"),
        (_s(0.8, std=0.2), (0.6, 0.2, 0.2), "inconclusive"),
        (_s(0.9), (0.2, 0.6, 0.2), "disagrees"),  # a later epoch moves more
    ],
)
def test_first_epoch_dominance_row_flips(cos, shares, expected):
    assert dominance_claims(_dom(cos, _s(0.3), shares))[0]["verdict"] == expected


@pytest.mark.parametrize(
    ("adam", "expected"),
    [(_s(0.3), "agrees"), (_s(0.99), "disagrees"), (_s(0.88, std=0.1), "inconclusive")],
)
def test_adam_control_row_flips(adam, expected):
    assert dominance_claims(_dom(_s(0.9), adam))[1]["verdict"] == expected
