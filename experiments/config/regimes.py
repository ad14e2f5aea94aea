"""The knobs of ``experiment=regime_search``: which config key each sets, and their combinations,
each validated as a whole config before the search trains anything (no torch here)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from omegaconf import OmegaConf

import experiments.config.experiments as ex
from experiments.config.checks import _exp, build_setup, need, to_container
from experiments.config.setups import Setup

KNOBS = {  # knob (a list in ``experiment``) -> the config key each of its values sets
    "counts": "data.counts",
    "noise_std": "data.noise_std",
    "v0_std": "model.v0_std",
    "lr": "train.lr",
    "width": "model.width",
    "batch_size": "train.batch_size",
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
        section, key = KNOBS[name].split(".")
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
