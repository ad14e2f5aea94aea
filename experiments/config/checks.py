"""Checks across keys (the schema checks each key's own range) and the one-layer validators. No torch:
a bad override fails before the heavy imports of a run."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import experiments.config.experiments as ex
from experiments.config.schema import Config, Eval, Logging, PairData, Wandb
from experiments.config.setups import Setup, grid, pair_setup, to_container
from models.config import ModelConfig, TrainConfig
from synthetic.checks import (
    ConfigError,
    check_fields,
    check_float,
    check_int,
    check_list,
    check_memory,
    check_room,
    fail,
)


def build(cls: type, section: str, values: Any) -> Any:
    """``cls(**values)`` with every field's range checked; one line for the first unknown key."""
    if not isinstance(values, dict):
        raise fail(section, values, "must be a mapping")
    fields = sorted(f.name for f in dataclasses.fields(cls))
    unknown = sorted(set(values) - set(fields))
    if unknown:
        key = f"{section}.{unknown[0]}" if section else unknown[0]
        raise ConfigError(f"{key} is not a valid key: valid keys are {fields}")
    obj = cls(**values)
    check_fields(obj, section)
    return obj


def check_keys(cfg: Any) -> Config:
    """The top level and logging (the experiment's validator checks data, model, train, eval)."""
    c = {k: v for k, v in to_container(cfg).items() if k != "hydra"}
    if "logging" in c:
        build(Wandb, "logging.wandb", build(Logging, "logging", c["logging"]).wandb or {})
    return build(Config, "", c)


def too_big(key: str, value: Any, n: float, limit: int, what: str) -> None:
    if n > limit:
        raise fail(key, value, f"{what} would have more than {limit} points")


def check_eval(ev: dict) -> dict:
    e = build(Eval, "eval", ev)
    if e.lam_min >= e.lam_max:
        raise fail("eval.lam_min", ev["lam_min"], f"must be < eval.lam_max={ev['lam_max']!r}")
    too_big("eval.lam_step", e.lam_step, (e.lam_max - e.lam_min) / e.lam_step, 100_000, "the grid")
    return ev


def build_setup(cfg: Any) -> Setup:
    """Validate data/model/train/eval and the top level; raise ConfigError (one line) on the first bad key."""
    c = to_container(cfg)
    top = check_keys(c)
    data = build(PairData, "data", c["data"])
    model = build(ModelConfig, "model", c["model"])
    train = build(TrainConfig, "train", c["train"])
    for key in ("d", "n_tokens"):
        if getattr(model, key) != getattr(data, key):
            raise fail(
                f"model.{key}", getattr(model, key), f"must equal data.{key}={getattr(data, key)!r}"
            )
    check_room(data.d, 2, data.n_irrelevant)  # d holds the pair's two directions + irrelevant ones
    sample = data.n_tokens * data.d * (8 if top.dtype == "float64" else 4)  # one sample: P x d
    check_memory(
        "data.n_test", data.n_test, 3 * data.n_test * sample, "the test sets (up to 3 tasks)"
    )
    check_memory("train.n_val", train.n_val, train.n_val * sample, "the validation set")
    if train.mode == "epochs":
        check_memory("train.n_train", train.n_train, train.n_train * sample, "the training set")
    if "eval" in c:
        check_eval(c["eval"])
    return pair_setup(top, data, model, train)


def seeds_of(exp: dict) -> list[int]:
    """experiment.n_seeds seeds starting at experiment.first_seed."""
    n = check_int("experiment.n_seeds", exp.get("n_seeds"), minimum=1)
    first = check_int("experiment.first_seed", exp.get("first_seed", 0), minimum=0)
    return list(range(first, first + n))


def alphas_of(exp: dict) -> list[float]:
    """experiment.alpha_min .. alpha_max in steps of alpha_step (ranges checked by the schema)."""
    lo, hi = float(exp["alpha_min"]), float(exp["alpha_max"])
    if lo > hi:
        raise fail(
            "experiment.alpha_min",
            exp["alpha_min"],
            f"must be <= experiment.alpha_max={exp['alpha_max']!r}",
        )
    return grid(lo, hi, float(exp["alpha_step"]))


def lambda_axis(exp: dict, step_key: str = "lam_step", prefix: str = "experiment") -> list[float]:
    """The λ axis of a 2-D grid: lam_min .. lam_max in steps of ``step_key`` (ranges: the schema)."""
    lo, hi, step = float(exp["lam_min"]), float(exp["lam_max"]), float(exp[step_key])
    if lo >= hi:
        raise fail(
            f"{prefix}.lam_min", exp["lam_min"], f"must be < {prefix}.lam_max={exp['lam_max']!r}"
        )
    too_big(f"{prefix}.{step_key}", step, (hi - lo) / step, 1000, "each λ axis")
    return grid(lo, hi, step)


MAX_GAMMA_NORM2 = 1.1  # normalize=true absorbs estimation error up to this Σγ² + κ², no more


def target_of(exp: dict, prefix: str = "experiment", gamma_key: str = "gamma") -> dict[str, Any]:
    """The out-of-domain target: γ (two entries), κ and how they were normalised.

    κ = null means √max(0, 1 − Σγ²) (clipped at 0). μ_T' must be a unit vector: Σγ² + κ² = 1.
    With ``normalize: true`` a small excess (Σγ² + κ² ≤ 1.1, e.g. the paper's estimates with
    Σγ² = 1.033) is removed by dividing (γ, κ) by their norm; otherwise it is an error.
    """
    key, gamma, kappa = f"{prefix}.{gamma_key}", exp.get(gamma_key), exp.get("kappa")
    if not isinstance(gamma, list) or len(gamma) != 2:
        raise fail(key, gamma, "must list 2 coefficients (γ1, γ2): the grid is over (λ1, λ2)")
    g = [check_float(f"{key}[{i}]", v, low=-1.0, high=1.0) for i, v in enumerate(gamma)]
    if g[0] == 0.0 and g[1] == 0.0:
        raise fail(
            key,
            gamma,
            "some γ_i must be non-zero (all zero is Theorem 3's impossibility "
            f"case, covered by {prefix}.kappas containing 1.0)",
        )
    s2 = g[0] ** 2 + g[1] ** 2
    k = math.sqrt(max(0.0, 1.0 - s2)) if kappa is None else float(kappa)
    norm2 = s2 + k * k
    if abs(norm2 - 1.0) > 1e-6 and not exp.get("normalize", False):
        raise fail(
            key,
            gamma,
            f"Σγ² + κ² = {norm2:.4f} must equal 1 (μ_T' is a unit vector; "
            f"set {prefix}.normalize=true to rescale an estimate)",
        )
    if abs(norm2 - 1.0) > 1e-6 and norm2 > MAX_GAMMA_NORM2:
        raise fail(
            key,
            gamma,
            f"Σγ² + κ² = {norm2:.4f} > {MAX_GAMMA_NORM2} is too far from a unit "
            "vector to be an estimate; give γ with Σγ² ≤ 1",
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


def _exp(cfg: Any, schema: type) -> tuple[Setup, dict]:
    """The one-layer setup and the experiment's keys (each checked by its schema)."""
    setup = build_setup(cfg)
    exp = to_container(cfg)["experiment"]
    build(schema, "experiment", exp)
    return setup, exp


def check_ranks(ranks: Any, top: int) -> None:
    check_list(
        "experiment.ranks",
        ranks,
        lambda _, r: check_int("experiment.ranks[]", r, minimum=1, maximum=top),
    )


def max_rank(setup: Setup) -> int:
    return min(min(s) for s in setup.model.shapes.values() if len(s) == 2)


def validate_foundation(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.Foundation)
    check_int("experiment.low_rank", exp["low_rank"], maximum=max_rank(setup))
    return setup


def validate_task_pair(cfg: Any) -> Setup:
    return _exp(cfg, ex.TaskPair)[0]


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
    check_ranks(exp["ranks"], max_rank(setup))
    return setup


def validate_pruning(cfg: Any) -> Setup:
    return _validate_edits(cfg, ex.Pruning)[0]
