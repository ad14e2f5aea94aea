"""The knobs of ``experiment=regime_search`` and the sweeps of ``experiment=scaling``: which config
keys each sets, and their combinations, each validated as a whole config before any training (no
torch here)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from omegaconf import OmegaConf

import experiments.config.experiments as ex
from experiments.config.checks import _exp, build_setup, need, to_container
from experiments.config.setups import Setup

KNOBS = {  # knob (a list in ``experiment``) -> the config keys each of its values sets
    "counts": ("data.counts",),
    "noise_std": ("data.noise_std",),
    "irrelevant_signs": ("data.irrelevant_signs",),
    "delta_star": ("data.delta_star",),
    "d": ("data.d", "model.d"),
    "n_tokens": ("data.n_tokens", "model.n_tokens"),
    "v0_std": ("model.v0_std",),
    "width": ("model.width",),
    "lr": ("train.lr",),
    "lr_w_scale": ("train.lr_w_scale",),
    "margin": ("train.margin",),
    "batch_size": ("train.batch_size",),
}


def combinations(exp: dict) -> list[dict[str, Any]]:
    """Every combination of the knob values in ``exp`` (knob name -> value), in grid order."""
    names = list(KNOBS)
    values = itertools.product(*(exp[n] for n in names))
    return [dict(zip(names, vals, strict=True)) for vals in values]


def variant(c: dict, combo: dict[str, Any]) -> dict:
    """The config container ``c`` with the combination's knobs set."""
    out = copy.deepcopy(c)
    for name, value in combo.items():
        for dotted in KNOBS[name]:
            section, key = dotted.split(".")
            out[section][key] = value
    return out


def variant_setups(c: dict) -> list[tuple[dict, dict, Setup]]:
    """(combination, config, setup) of every combination, each validated (before any training)."""
    out = []
    for combo in combinations(c["experiment"]):
        v = variant(c, combo)
        out.append((combo, v, build_setup(OmegaConf.create(v))))
    return out


def validate_regime_search(cfg: Any) -> Setup:
    """The base setup, held-out seeds (≥ 100) and every knob combination, each a valid config."""
    setup, exp = _exp(cfg, ex.RegimeSearch)
    held_out = "must be >= 100: the search runs on seeds no theorem experiment reports"
    need(exp["first_seed"] >= 100, "experiment.first_seed", exp["first_seed"], held_out)
    variant_setups(to_container(cfg))
    return setup


def sweep_points(exp: dict) -> dict[str, list[dict[str, Any]]]:
    """The knob combinations of each sweep (knob names of ``experiments.config.regimes.KNOBS``)."""
    return {
        "residual": [
            {"d": d, "irrelevant_signs": s} for s in ("positive", "paired") for d in exp["dims"]
        ],
        "rows": [{"v0_std": v, "width": m} for v in exp["v0_stds"] for m in exp["widths"]],
        "beta": [{"width": m} for m in exp["widths"]] + [{"batch_size": b} for b in exp["batches"]],
    }


def point_setups(c: dict) -> dict[str, list[tuple[dict, dict, Setup]]]:
    """(knobs, config, setup) of every point of every sweep, each validated before any training."""
    out = {}
    for name, points in sweep_points(c["experiment"]).items():
        out[name] = []
        for knobs in points:
            v = variant(c, knobs)
            out[name].append((knobs, v, build_setup(OmegaConf.create(v))))
    return out


def validate_scaling(cfg: Any) -> Setup:
    """The base setup, ≥ 2 values per sweep axis (a slope needs two), every point a valid config."""
    setup, exp = _exp(cfg, ex.Scaling)
    for key in ("dims", "widths", "batches"):
        need(len(set(exp[key])) >= 2, f"experiment.{key}", exp[key], "needs >= 2 distinct values")
    point_setups(to_container(cfg))
    return setup
