"""Each one-layer experiment's checks across keys (the schema checks each key's own range), and the
grids they define. No torch: a bad override fails before the heavy imports of a run."""

from __future__ import annotations

import math
from typing import Any

from experiments.config import experiments as ex
from experiments.config.setup import Setup, build, build_setup, check_eval, to_container
from synthetic.checks import ConfigError, check_float, check_int, check_room, fail


def _exp(cfg: Any, schema: type) -> tuple[Setup, dict]:
    """The one-layer setup and the experiment's keys (each checked by its schema)."""
    setup = build_setup(cfg)
    exp = to_container(cfg)["experiment"]
    build(schema, "experiment", exp)
    return setup, exp


def max_rank(setup: Setup) -> int:
    return min(min(s) for s in setup.model.shapes.values() if len(s) == 2)


def validate_foundation(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.Foundation)
    check_int("experiment.low_rank", exp["low_rank"], maximum=max_rank(setup))
    return setup


def validate_task_pair(cfg: Any) -> Setup:
    return _exp(cfg, ex.TaskPair)[0]


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
    setup, exp = _exp(cfg, ex.PhaseDiagram)
    alphas_of(exp)
    return setup


def validate_gradients(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.Gradients)
    if max(exp["epochs"]) < 2:
        raise fail(
            "experiment.epochs", exp["epochs"], "needs some k >= 2 (the error is 0 at k = 1)"
        )
    check_int("experiment.merge_tasks", exp["merge_tasks"], maximum=setup.d - 1)
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


def validate_ood(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.Ood)
    check_room(setup.d, 3, setup.n_irrelevant)  # μ1, μ2, μ⊥ + irrelevant patterns
    target_of(exp)
    lambda_axis(exp)
    lambda_axis(exp, "sweep_lam_step")
    return setup


def _validate_edits(cfg: Any, schema: type) -> tuple[Setup, dict]:
    """Keys shared by ``low_rank`` and ``pruning`` (the edits of ``experiments.one_layer.edits``)."""
    setup, exp = _exp(cfg, schema)
    if setup.model.parametrization != "wv":
        raise fail(
            "model.parametrization",
            setup.model.parametrization,
            "must be 'wv' here (ΔW and ΔV are truncated or pruned)",
        )
    check_room(setup.d, 3, setup.n_irrelevant)
    target_of(exp, gamma_key="ood_gamma")
    lambda_axis(exp, "ood_lam_step")
    check_eval({**to_container(cfg)["eval"], "lam_step": exp["pair_lam_step"]})
    return setup, exp


def validate_low_rank(cfg: Any) -> Setup:
    setup, exp = _validate_edits(cfg, ex.LowRank)
    ranks = exp.get("ranks")
    if not isinstance(ranks, list) or not ranks:
        raise ConfigError(f"experiment.ranks={ranks!r} is invalid: must be a non-empty list")
    for r in ranks:
        check_int("experiment.ranks[]", r, minimum=1, maximum=max_rank(setup))
    return setup


def validate_pruning(cfg: Any) -> Setup:
    return _validate_edits(cfg, ex.Pruning)[0]
