"""Checks across keys (the schema checks each key's own range) and the one-layer validators. No torch:
a bad override fails before the heavy imports of a run."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

import experiments.config.experiments as ex
from experiments.config.schema import Config, Eval, Lam, Logging, PairData
from experiments.config.setups import Setup, grid, pair_setup, to_container
from models.config import ModelConfig, TrainConfig
from synthetic.checks import (
    SEED_MAX,
    ConfigError,
    check_fields,
    check_float,
    check_int,
    check_list,
    check_memory,
    check_room,
    check_writable_dir,
    need,
)


def build(cls: type, section: str, values: Any) -> Any:
    """``cls(**values)`` with every field's range checked, nested dataclasses too (one line for the
    first unknown key)."""
    need(isinstance(values, dict), section, values, "must be a mapping")
    fields, hints = sorted(f.name for f in dataclasses.fields(cls)), typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        key = f"{section}.{unknown[0]}" if section else unknown[0]
        raise ConfigError(f"{key} is not a valid key: valid keys are {fields}")
    nested = {k: build(hints[k], f"{section}.{k}", v) for k, v in values.items()
              if dataclasses.is_dataclass(hints.get(k)) and v is not None}  # fmt: skip
    obj = cls(**{**values, **nested})
    check_fields(obj, section)
    return obj


def check_keys(cfg: Any) -> Config:
    """The top level and logging (the experiment's validator checks data, model, train, eval)."""
    c = {k: v for k, v in to_container(cfg).items() if k != "hydra"}
    if "logging" in c:
        build(Logging, "logging", c["logging"])
    top = build(Config, "", c)
    if top.cache_dir is not None:
        check_writable_dir("cache_dir", top.cache_dir)
    return top


def lam_axis(node: Any, key: str, limit: int = 1000) -> list[float]:
    """A checked λ axis (``Lam``): min < max and at most ``limit`` points."""
    g = build(Lam, key, node)
    need(g.min < g.max, f"{key}.min", g.min, f"must be < {key}.max={g.max!r}")
    n = (g.max - g.min) / g.step
    need(n <= limit, f"{key}.step", g.step, f"the axis would have more than {limit} points")
    return grid(float(g.min), float(g.max), float(g.step))


def check_eval(ev: Any, limit: int = 100_000) -> dict:
    """``eval``: its keys and the λ grid (``limit`` points per axis; 2-D grids pass 1000)."""
    build(Eval, "eval", ev)
    lam_axis(ev["lam"], "eval.lam", limit)
    return ev


def build_setup(cfg: Any) -> Setup:
    """Validate data/model/train/eval and the top level; raise ConfigError (one line) on the first bad key."""
    c = to_container(cfg)
    top = check_keys(c)
    data = build(PairData, "data", c["data"])
    model = build(ModelConfig, "model", c["model"])
    train = build(TrainConfig, "train", c["train"])
    for key in ("d", "n_tokens"):
        m, d = getattr(model, key), getattr(data, key)
        need(m == d, f"model.{key}", m, f"must equal data.{key}={d!r}")
    check_room(data.d, 2, data.n_irrelevant)  # d holds the pair's two directions + irrelevant ones
    check_sizes(data, model, train, 8 if top.dtype == "float64" else 4)
    return pair_setup(top, data, model, train)


FLOAT_MAX = {4: 3.4028234663852886e38, 8: 1.7976931348623157e308}


def check_sizes(data: PairData, model: ModelConfig, train: TrainConfig, nbytes: int) -> None:
    """Arrays that must fit in memory (basis, weights, one batch, data sets) and tokens that must stay
    finite in the dtype, each refused with the key that makes it too large."""
    d, p, m = data.d, data.n_tokens, model.width
    check_memory("data.d", d, 2 * d * d * nbytes, "the pattern basis (d x d)")
    weights = 6 * n_params(model) * nbytes  # Ψ0, Ψ*, gradient, optimizer: 6 copies
    check_memory("model.width", m, weights, "the model's weights")
    batch = 3 * train.batch_size * p * (d + p + m) * nbytes  # tokens, attention, hidden: 3 copies
    check_memory("train.batch_size", train.batch_size, batch, "one training batch")
    top = math.sqrt(FLOAT_MAX[nbytes] / 64 / d)  # a token's squared noise norm ~ noise_std² · d
    why = f"must be < {top:.3g} (tokens stay finite in this dtype: noise_std² · data.d < max / 64)"
    need(data.noise_std < top, "data.noise_std", data.noise_std, why)
    sample = p * d * nbytes  # one sample: P x d
    check_memory("data.n_test", data.n_test, 3 * data.n_test * sample, "the test sets (3 tasks)")
    check_memory("train.n_val", train.n_val, train.n_val * sample, "the validation set")
    if train.mode == "epochs":
        check_memory("train.n_train", train.n_train, train.n_train * sample, "the training set")


def seeds_of(exp: dict) -> list[int]:
    """experiment.n_seeds seeds starting at experiment.first_seed."""
    n = check_int("experiment.n_seeds", exp.get("n_seeds"), minimum=1)
    first = check_int("experiment.first_seed", exp.get("first_seed", 0), minimum=0)
    need(first + n - 1 <= SEED_MAX, "experiment.n_seeds", n, f"the last seed must be <= {SEED_MAX}")
    return list(range(first, first + n))


def alphas_of(exp: dict) -> list[float]:
    """experiment.alpha_min .. alpha_max in steps of alpha_step (ranges checked by the schema)."""
    lo, hi = float(exp["alpha_min"]), float(exp["alpha_max"])
    need(lo <= hi, "experiment.alpha_min", exp["alpha_min"],
         f"must be <= experiment.alpha_max={exp['alpha_max']!r}")  # fmt: skip
    return grid(lo, hi, float(exp["alpha_step"]))


MAX_GAMMA_NORM2 = 1.1  # normalize=true absorbs estimation error up to this Σγ² + κ², no more


def target_of(exp: dict, prefix: str = "experiment", gamma_key: str = "gamma") -> dict[str, Any]:
    """The out-of-domain target: γ (two entries), κ and how they were normalised.

    κ = null means √max(0, 1 − Σγ²) (clipped at 0). μ_T' must be a unit vector: Σγ² + κ² = 1.
    With ``normalize: true`` a small excess (Σγ² + κ² ≤ 1.1, e.g. the paper's estimates with
    Σγ² = 1.033) is removed by dividing (γ, κ) by their norm; otherwise it is an error.
    """
    key, gamma, kappa = f"{prefix}.{gamma_key}", exp.get(gamma_key), exp.get("kappa")
    two = isinstance(gamma, list) and len(gamma) == 2
    need(two, key, gamma, "must list 2 coefficients (γ1, γ2): the grid is over (λ1, λ2)")
    g = [check_float(f"{key}[{i}]", v, low=-1.0, high=1.0) for i, v in enumerate(gamma)]
    why = f"Theorem 3's impossibility case, covered by {prefix}.kappas containing 1.0"
    need(g != [0.0, 0.0], key, gamma, f"some γ_i must be non-zero (all zero is {why})")
    s2 = g[0] ** 2 + g[1] ** 2
    k = math.sqrt(max(0.0, 1.0 - s2)) if kappa is None else float(kappa)
    norm2 = s2 + k * k
    unit = abs(norm2 - 1.0) <= 1e-6
    need(unit or exp.get("normalize", False), key, gamma, f"Σγ² + κ² = {norm2:.4f} must equal 1 "
         f"(μ_T' is a unit vector; set {prefix}.normalize=true to rescale an estimate)")  # fmt: skip
    need(unit or norm2 <= MAX_GAMMA_NORM2, key, gamma, f"Σγ² + κ² = {norm2:.4f} > {MAX_GAMMA_NORM2}"
         " is too far from a unit vector to be an estimate; give γ with Σγ² ≤ 1")  # fmt: skip
    scale = 1.0 / math.sqrt(norm2)
    return {"gamma_input": g, "kappa_input": kappa, "gamma": [v * scale for v in g],
            "kappa": k * scale, "scale": scale, "norm2_input": norm2}  # fmt: skip


def check_ranks(ranks: Any, top: int) -> None:
    check_list("experiment.ranks", ranks,
               lambda _, r: check_int("experiment.ranks[]", r, minimum=1, maximum=top))  # fmt: skip


def n_params(model: ModelConfig) -> int:
    """Entries of the model's weight matrices (``model.shapes``)."""
    return sum(a * b for a, b in model.shapes.values())


def max_rank(setup: Setup) -> int:
    return min(min(s) for s in setup.model.shapes.values() if len(s) == 2)


def _exp(cfg: Any, schema: type, limit: int = 100_000) -> tuple[Setup, dict]:
    """The one-layer setup, eval (λ axes of at most ``limit`` points) and the experiment's keys."""
    setup, c = build_setup(cfg), to_container(cfg)
    check_eval(c["eval"], limit)
    build(schema, "experiment", c["experiment"])
    seeds, s = seeds_of(c["experiment"]), setup.model.seed
    why = f"Ψ0's seed model.seed + {seeds[-1]} must be <= {SEED_MAX}"
    need(s + seeds[-1] <= SEED_MAX, "model.seed", s, why)
    # an experiment may hold every seed's models (Ψ0 and two fine-tuned) and test sets (3 tasks)
    nbytes = 8 if setup.dtype == "float64" else 4
    per_seed = (
        3 * n_params(setup.model) + 3 * setup.n_test * setup.tokens.n_tokens * setup.d
    ) * nbytes
    what = "the models and test sets of every seed"
    check_memory("experiment.n_seeds", len(seeds), len(seeds) * per_seed, what)
    return setup, c["experiment"]


def validate_foundation(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.Foundation)
    check_int("experiment.low_rank", exp["low_rank"], maximum=max_rank(setup))
    return setup


def calibration_seeds_of(exp: dict) -> list[int]:
    """experiment.calibration_seeds: a non-empty list of seeds disjoint from the reported ones."""
    cal, key = exp["calibration_seeds"], "experiment.calibration_seeds"
    need(isinstance(cal, list) and len(cal) > 0, key, cal, "a non-empty list of seeds")
    for s in cal:
        check_int(key, s, minimum=0, maximum=SEED_MAX)
    need(len(set(cal)) == len(cal), key, cal, "seeds must be distinct")
    clash = sorted(set(cal) & set(seeds_of(exp)))
    need(not clash, key, cal, f"must be disjoint from the reported seeds (both hold {clash})")
    return list(cal)


def validate_task_pair(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.TaskPair)
    calibration_seeds_of(exp)
    return setup


def validate_phase_diagram(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.PhaseDiagram)
    alphas_of(exp)
    calibration_seeds_of(exp)
    return setup


def validate_gradients(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.Gradients)
    why = "needs some k >= 2 (the error is 0 at k = 1)"
    need(max(exp["epochs"]) >= 2, "experiment.epochs", exp["epochs"], why)
    check_int("experiment.merge_tasks", exp["merge_tasks"], maximum=setup.d - 1)
    plain = "must be 1: the gradient experiment's own trainers use one η and the margin-1 hinge"
    for key in ("lr_w_scale", "lr_v_scale", "margin"):
        value = getattr(setup.train, key)
        need(value == 1.0, f"train.{key}", value, plain)
    return setup


def validate_ood(cfg: Any) -> Setup:
    setup, exp = _exp(cfg, ex.Ood, limit=1000)  # eval.lam is each axis of the (λ1, λ2) grid
    check_room(setup.d, 3, setup.n_irrelevant)  # μ1, μ2, μ⊥ + irrelevant patterns
    target_of(exp)
    lam_axis(exp["sweep_lam"], "experiment.sweep_lam")
    cal = calibration_seeds_of(exp)
    why = f"the γ map runs on the first map_seeds of experiment.calibration_seeds={cal}"
    need(exp["map_seeds"] <= len(cal), "experiment.map_seeds", exp["map_seeds"], why)
    return setup


def _validate_edits(cfg: Any, schema: type) -> tuple[Setup, dict]:
    """Keys shared by ``low_rank`` and ``pruning`` (the edits of ``experiments.one_layer.edits``)."""
    setup, exp = _exp(cfg, schema)
    p = setup.model.parametrization
    need(
        p == "wv", "model.parametrization", p, "must be 'wv' here (ΔW, ΔV are truncated or pruned)"
    )
    check_room(setup.d, 3, setup.n_irrelevant)
    target_of(exp, gamma_key="ood_gamma")
    lam_axis(exp["ood_lam"], "experiment.ood_lam")
    t1 = lam_axis(exp["t1_lam"], "experiment.t1_lam")
    why = "T1's coefficient of the pair edits is >= 0 (a negative one would negate T1)"
    need(t1[0] >= 0, "experiment.t1_lam.min", t1[0], why)
    lams = grid(*(float(cfg["eval"]["lam"][k]) for k in ("min", "max", "step")))
    why = "the pair edits need λ2 > 0 (addition) and λ2 < 0 (negation) on eval.lam"
    need(min(lams) < 0 < max(lams), "eval.lam", cfg["eval"]["lam"], why)
    return setup, exp


def validate_low_rank(cfg: Any) -> Setup:
    setup, exp = _validate_edits(cfg, ex.LowRank)
    check_ranks(exp["ranks"], max_rank(setup))
    return setup


def validate_pruning(cfg: Any) -> Setup:
    return _validate_edits(cfg, ex.Pruning)[0]
