"""Each experiment's complete config check, without importing torch: a bad override fails before the
heavy imports of a run. Every check raises ``ConfigError`` with one line naming key, value and range."""

from __future__ import annotations

import math
from typing import Any

from experiments.cdigits_config import (
    validate_cdigits_compress,
    validate_cdigits_ood,
    validate_cdigits_pair,
)
from experiments.config import Setup, build_setup, check_eval, seeds_of, to_container
from experiments.lm_config import validate_lm_unlearning
from synthetic.checks import ConfigError, check_choice, check_float, check_int, check_room, fail


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


def lambda_axis(exp: dict, step_key: str = "lam_step", prefix: str = "experiment") -> list[float]:
    """The λ axis of a 2-D grid: experiment.lam_min .. lam_max in steps of ``step_key`` (inclusive)."""
    lo = check_float(f"{prefix}.lam_min", exp.get("lam_min"))
    hi = check_float(f"{prefix}.lam_max", exp.get("lam_max"))
    if lo >= hi:
        raise ConfigError(
            f"{prefix}.lam_min={exp.get('lam_min')!r} is invalid: must be < {prefix}.lam_max={exp.get('lam_max')!r}"
        )
    step = check_float(f"{prefix}.{step_key}", exp.get(step_key), low=0.0, low_open=True)
    if (hi - lo) / step > 1000:
        raise ConfigError(
            f"{prefix}.{step_key}={step!r} is invalid: each λ axis would have more than 1000 points"
        )
    n = math.floor((hi - lo) / step + 1e-9) + 1
    return [round(lo + i * step, 10) for i in range(n)]


MAX_GAMMA_NORM2 = 1.1  # normalize=true absorbs estimation error up to this Σγ² + κ², no more


def target_of(exp: dict, prefix: str = "experiment", gamma_key: str = "gamma") -> dict[str, Any]:
    """The out-of-domain target: γ (two entries), κ and how they were normalised.

    κ = null means √max(0, 1 − Σγ²) (clipped at 0). μ_T' must be a unit vector: Σγ² + κ² = 1.
    With ``normalize: true`` a small excess (Σγ² + κ² ≤ 1.1, e.g. the paper's estimates with
    Σγ² = 1.033) is removed by dividing (γ, κ) by their norm; otherwise it is an error.
    """
    gamma = exp.get(gamma_key)
    if not isinstance(gamma, list) or len(gamma) != 2:
        raise ConfigError(
            f"{prefix}.{gamma_key}={gamma!r} is invalid: must list 2 coefficients (γ1, γ2): the grid is over (λ1, λ2)"
        )
    g = [
        check_float(f"{prefix}.{gamma_key}[{i}]", v, low=-1.0, high=1.0)
        for i, v in enumerate(gamma)
    ]
    if g[0] == 0.0 and g[1] == 0.0:
        raise ConfigError(
            f"{prefix}.{gamma_key}={gamma!r} is invalid: some γ_i must be non-zero (all zero is Theorem 3's "
            f"impossibility case, covered by {prefix}.kappas containing 1.0)"
        )
    normalize = exp.get("normalize", False)
    if not isinstance(normalize, bool):
        raise ConfigError(f"{prefix}.normalize={normalize!r} is invalid: must be true or false")
    s2 = g[0] ** 2 + g[1] ** 2
    kappa = exp.get("kappa")
    k = (
        math.sqrt(max(0.0, 1.0 - s2))
        if kappa is None
        else check_float(f"{prefix}.kappa", kappa, low=0.0, high=1.0)
    )
    norm2 = s2 + k * k
    if abs(norm2 - 1.0) > 1e-6:
        if not normalize:
            raise ConfigError(
                f"{prefix}.{gamma_key}={gamma!r} is invalid: Σγ² + κ² = {norm2:.4f} must equal 1 (μ_T' is a "
                f"unit vector; set {prefix}.normalize=true to rescale an estimate)"
            )
        if norm2 > MAX_GAMMA_NORM2:
            raise ConfigError(
                f"{prefix}.{gamma_key}={gamma!r} is invalid: Σγ² + κ² = {norm2:.4f} > {MAX_GAMMA_NORM2} is too far "
                "from a unit vector to be an estimate; give γ with Σγ² ≤ 1"
            )
    scale = 1.0 / math.sqrt(norm2)
    return {
        "gamma_input": g,
        "kappa_input": kappa,
        "gamma": [v * scale for v in g],
        "kappa": k * scale,
        "scale": scale,
        "norm2_input": norm2,
    }


def _fraction_list(key: str, values: Any, *, low_open: bool) -> list[float]:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{key}={values!r} is invalid: must be a non-empty list")
    return [
        check_float(f"{key}[{i}]", v, low=0.0, high=1.0, low_open=low_open)
        for i, v in enumerate(values)
    ]


def validate_ood(cfg: Any) -> Setup:
    setup = build_setup(cfg)
    exp = to_container(cfg)["experiment"]
    seeds_of(exp)
    check_room(setup.d, 3, setup.n_irrelevant)  # μ1, μ2, μ⊥ + irrelevant patterns
    target_of(exp)
    lambda_axis(exp)
    lambda_axis(exp, "sweep_lam_step")
    check_int("experiment.n_val", exp.get("n_val"), minimum=1)
    check_choice("experiment.estimator_output", exp.get("estimator_output"), ["batch", "hidden"])
    if exp.get("beta") is not None:
        check_float("experiment.beta", exp.get("beta"), low=0.0)
    kappas = exp.get("kappas")
    if kappas != []:
        _fraction_list("experiment.kappas", kappas, low_open=False)
    check_int("experiment.sweep_n", exp.get("sweep_n"), minimum=1)
    step = exp.get("gamma_map_step")
    if step is not None:
        check_float("experiment.gamma_map_step", step, low=0.0, high=1.0, low_open=True)
        check_int("experiment.map_seeds", exp.get("map_seeds"), minimum=1)
        check_int("experiment.map_n", exp.get("map_n"), minimum=1)
    return setup


def _validate_edits(cfg: Any) -> tuple[Setup, dict]:
    """Keys shared by ``low_rank`` and ``pruning`` (the edits of ``experiments.edits``)."""
    setup = build_setup(cfg)
    c = to_container(cfg)
    exp = c["experiment"]
    seeds_of(exp)
    if setup.model.parametrization != "wv":
        raise fail(
            "model.parametrization",
            setup.model.parametrization,
            "must be 'wv' here (ΔW and ΔV are truncated or pruned)",
        )
    check_room(setup.d, 3, setup.n_irrelevant)
    check_float(
        "experiment.aligned_alpha", exp.get("aligned_alpha"), low=0.0, high=1.0, low_open=True
    )
    check_float(
        "experiment.contradictory_alpha",
        exp.get("contradictory_alpha"),
        low=-1.0,
        high=0.0,
        high_open=True,
    )
    target_of(exp, gamma_key="ood_gamma")
    lambda_axis(exp, "ood_lam_step")
    step = check_float("experiment.pair_lam_step", exp.get("pair_lam_step"), low=0.0, low_open=True)
    check_eval({**c["eval"], "lam_step": step})
    check_int("experiment.n_eval", exp.get("n_eval"), minimum=2)
    return setup, exp


def validate_low_rank(cfg: Any) -> Setup:
    setup, exp = _validate_edits(cfg)
    ranks = exp.get("ranks")
    if not isinstance(ranks, list) or not ranks:
        raise ConfigError(f"experiment.ranks={ranks!r} is invalid: must be a non-empty list")
    max_rank = min(min(s) for s in setup.model.shapes.values() if len(s) == 2)
    for r in ranks:
        check_int("experiment.ranks[]", r, minimum=1, maximum=max_rank)
    return setup


def validate_pruning(cfg: Any) -> Setup:
    setup, exp = _validate_edits(cfg)
    _fraction_list("experiment.keep", exp.get("keep"), low_open=True)
    return setup


COMMON_EXPERIMENT_KEYS = {"name", "label", "n_seeds", "first_seed"}
EXPERIMENT_KEYS = {
    "foundation": {"estimator_output", "low_rank"},
    "task_pair": set(),
    "phase_diagram": {"alpha_min", "alpha_max", "alpha_step"},
    "gradients": {
        "adam_lr",
        "dominance_losses",
        "epochs",
        "exact_lr",
        "loss",
        "lrs",
        "merge_epochs",
        "merge_tasks",
        "n_train",
        "power_iters",
        "sgd_batch",
        "sgd_epochs",
        "sgd_lr",
    },
    "ood": {
        "beta",
        "estimator_output",
        "gamma",
        "gamma_map_step",
        "kappa",
        "kappas",
        "lam_max",
        "lam_min",
        "lam_step",
        "map_n",
        "map_seeds",
        "n_val",
        "normalize",
        "sweep_lam_step",
        "sweep_n",
    },
    "low_rank": {
        "aligned_alpha",
        "contradictory_alpha",
        "lam_max",
        "lam_min",
        "n_eval",
        "ood_gamma",
        "ood_lam_step",
        "pair_lam_step",
        "ranks",
    },
    "pruning": {
        "aligned_alpha",
        "contradictory_alpha",
        "keep",
        "lam_max",
        "lam_min",
        "n_eval",
        "ood_gamma",
        "ood_lam_step",
        "pair_lam_step",
    },
    "cdigits_pair": {"estimator_output", "min_own_accuracy", "pairs", "t1"},
    "cdigits_ood": {
        "estimator_output",
        "high_accuracy",
        "lam_max",
        "lam_min",
        "lam_step",
        "min_own_accuracy",
        "t1",
        "t2",
        "target",
    },
    "cdigits_compress": {
        "estimator_output",
        "keep",
        "min_own_accuracy",
        "n_eval",
        "pairs",
        "ranks",
        "t1",
        "tolerance",
    },
    "lm_unlearning": {"continuation_tokens", "lambdas", "n_prompts", "prompt_tokens"},
}
TOP_KEYS = {
    "data",
    "model",
    "train",
    "eval",
    "logging",
    "experiment",
    "device",
    "dtype",
    "progress",
    "recompute",
    "batched",
    "cache_dir",
    "hydra",
}
WANDB_KEYS = {"enabled", "mode", "project", "group", "job_type", "tags", "name"}


def check_keys(cfg: Any) -> None:
    """No unknown key anywhere the experiment does not validate itself (top level, experiment, logging)."""
    c = to_container(cfg)
    unknown = sorted(set(c) - TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{unknown[0]} is not a valid key: valid top-level keys are {sorted(TOP_KEYS)}"
        )
    exp = c.get("experiment") or {}
    allowed = COMMON_EXPERIMENT_KEYS | EXPERIMENT_KEYS.get(exp.get("name"), set())
    unknown = sorted(set(exp) - allowed)
    if unknown:
        raise ConfigError(
            f"experiment.{unknown[0]} is not a valid key: valid keys are {sorted(allowed)}"
        )
    if exp.get("label") is not None and not isinstance(exp["label"], str):
        raise ConfigError(f"experiment.label={exp['label']!r} is invalid: must be a string")
    for key in ("progress", "recompute"):
        if key in c and not isinstance(c[key], bool):
            raise ConfigError(f"{key}={c[key]!r} is invalid: must be true or false")
    logging_cfg = c.get("logging") or {}
    unknown = sorted(set(logging_cfg) - {"wandb"})
    if unknown:
        raise ConfigError(f"logging.{unknown[0]} is not a valid key: valid keys are ['wandb']")
    wb = logging_cfg.get("wandb") or {}
    unknown = sorted(set(wb) - WANDB_KEYS)
    if unknown:
        raise ConfigError(
            f"logging.wandb.{unknown[0]} is not a valid key: valid keys are {sorted(WANDB_KEYS)}"
        )
    check_choice("logging.wandb.mode", wb.get("mode", "offline"), ["online", "offline", "disabled"])
    if not isinstance(wb.get("enabled", True), bool):
        raise ConfigError(
            f"logging.wandb.enabled={wb.get('enabled')!r} is invalid: must be true or false"
        )


VALIDATORS = {
    "gradients": validate_gradients,
    "foundation": validate_foundation,
    "task_pair": validate_task_pair,
    "phase_diagram": validate_phase_diagram,
    "ood": validate_ood,
    "low_rank": validate_low_rank,
    "pruning": validate_pruning,
    "cdigits_pair": validate_cdigits_pair,
    "cdigits_ood": validate_cdigits_ood,
    "cdigits_compress": validate_cdigits_compress,
    "lm_unlearning": validate_lm_unlearning,
}
