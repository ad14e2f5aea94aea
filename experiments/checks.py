"""Each experiment's complete config check, without importing torch: a bad override fails before the
heavy imports of a run. Every check raises ``ConfigError`` with one line naming key, value and range."""

from __future__ import annotations

import math
from typing import Any

from experiments.config import Setup, build_setup, seeds_of, to_container
from synthetic.checks import ConfigError, check_choice, check_float, check_int


def validate_foundation(cfg: Any) -> Setup:
    setup = build_setup(cfg)
    exp = to_container(cfg)["experiment"]
    seeds_of(exp)
    check_choice("experiment.estimator_output", exp.get("estimator_output"), ["batch", "hidden"])
    max_rank = min(min(s) for s in setup.model.shapes.values())
    check_int("experiment.low_rank", exp.get("low_rank"), minimum=1, maximum=max_rank)
    return setup


def validate_task_pair(cfg: Any) -> Setup:
    setup = build_setup(cfg)
    seeds_of(to_container(cfg)["experiment"])
    return setup


def alphas_of(exp: dict) -> list[float]:
    """experiment.alpha_min .. alpha_max in steps of alpha_step (inclusive), rounded to 10 digits."""
    lo = check_float("experiment.alpha_min", exp.get("alpha_min"), low=-1.0, high=1.0)
    hi = check_float("experiment.alpha_max", exp.get("alpha_max"), low=-1.0, high=1.0)
    step = check_float("experiment.alpha_step", exp.get("alpha_step"), low=0.0, low_open=True)
    if lo > hi:
        raise ConfigError(
            f"experiment.alpha_min={exp.get('alpha_min')!r} is invalid: must be <= experiment.alpha_max={exp.get('alpha_max')!r}"
        )
    n = math.floor((hi - lo) / step + 1e-9) + 1
    return [round(lo + i * step, 10) for i in range(n)]


def validate_phase_diagram(cfg: Any) -> Setup:
    setup = build_setup(cfg)
    exp = to_container(cfg)["experiment"]
    seeds_of(exp)
    alphas_of(exp)
    return setup


def _positive_list(key: str, values: Any, *, integer: bool = False) -> list:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{key}={values!r} is invalid: must be a non-empty list")
    for v in values:
        if integer:
            check_int(f"{key}[]", v, minimum=1)
        else:
            check_float(f"{key}[]", v, low=0.0, low_open=True)
    return values


def validate_gradients(cfg: Any) -> Setup:
    setup = build_setup(cfg)
    exp = to_container(cfg)["experiment"]
    seeds_of(exp)
    check_int("experiment.n_train", exp.get("n_train"), minimum=2)
    check_choice("experiment.loss", exp.get("loss"), ["logistic", "hinge"])
    _positive_list("experiment.lrs", exp.get("lrs"))
    ks = _positive_list("experiment.epochs", exp.get("epochs"), integer=True)
    if max(ks) < 2:
        raise ConfigError(
            f"experiment.epochs={ks!r} is invalid: needs some k >= 2 (the error is 0 at k = 1)"
        )
    for key in ("power_iters", "sgd_epochs", "sgd_batch", "merge_epochs"):
        check_int(f"experiment.{key}", exp.get(key), minimum=1)
    check_int("experiment.sgd_epochs", exp.get("sgd_epochs"), minimum=2)
    check_int("experiment.merge_tasks", exp.get("merge_tasks"), minimum=2, maximum=setup.d - 1)
    losses = exp.get("dominance_losses")
    if not isinstance(losses, list) or not losses:
        raise ConfigError(
            f"experiment.dominance_losses={losses!r} is invalid: must be a non-empty list"
        )
    for loss in losses:
        check_choice("experiment.dominance_losses[]", loss, ["hinge", "logistic"])
    for key in ("sgd_lr", "adam_lr", "exact_lr"):
        check_float(f"experiment.{key}", exp.get(key), low=0.0, low_open=True)
    return setup


VALIDATORS = {
    "gradients": validate_gradients,
    "foundation": validate_foundation,
    "task_pair": validate_task_pair,
    "phase_diagram": validate_phase_diagram,
}
