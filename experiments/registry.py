"""Which code computes, judges and draws each experiment (names only: nothing heavy is imported here).

An experiment is three pure steps, joined by the harness (``experiments.publish``):

- ``compute``: ``(cfg, setup, *, progress) -> dict`` — trains and measures, returns the results
  (numbers, lists, nested dicts; ``"_checkpoints"``: optional ``{relative path: nn.Module}``);
- ``claims``: ``(results) -> list[dict]`` — the claims rows, from ``experiments.claims`` only;
- ``figures``: each ``(results) -> dict[stem, Figure]`` — drawn by ``plots`` (which imports nothing
  from ``experiments``); an empty dict draws nothing;
- ``summary``: ``(metrics) -> {stable key: float}`` — the headline numbers (``experiments.summary``),
  logged as the wandb run's summary; ``testbed`` tags the run.

``setup`` is what the experiment's validator returned; it is built once, before any work.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    validate: str  # "module:function" (cfg) -> setup, raising ConfigError
    compute: str  # "module:function" (cfg, setup, *, progress) -> results
    claims: str | None = None  # "module:function" (results) -> claims rows
    figures: tuple[str, ...] = ()  # each "module:function" (results) -> {stem: Figure}
    summary: str | None = None  # "module:function" (metrics) -> {key: float}
    testbed: str = "one_layer"  # one_layer | cdigits | lm
    extra: str | None = None  # the pyproject extra it needs (experiments/extras.py), checked first


def resolve(ref: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (imports the module)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


_C = "experiments.config"
EXPERIMENTS: dict[str, Spec] = {
    "foundation": Spec(
        f"{_C}:validate_foundation",
        compute="experiments.one_layer.foundation:compute",
        claims="experiments.claims.foundation:claims",
        figures=("plots.one_layer.foundation:figures",),
        summary="experiments.summary.one_layer:foundation",
    ),
    "task_pair": Spec(
        f"{_C}:validate_task_pair",
        compute="experiments.one_layer.task_pair:compute",
        claims="experiments.claims.task_pair:claims",
        figures=("plots.one_layer.task_pair:figures",),
        summary="experiments.summary.one_layer:task_pair",
    ),
    "phase_diagram": Spec(
        f"{_C}:validate_phase_diagram",
        compute="experiments.one_layer.phase_diagram:compute",
        claims="experiments.claims.phase_diagram:claims",
        figures=("experiments.one_layer.phase_diagram:figures",),
        summary="experiments.summary.one_layer:phase_diagram",
    ),
    "regime_search": Spec(
        f"{_C}:validate_regime_search",
        compute="experiments.one_layer.regime_search:compute",
        summary="experiments.summary.one_layer:regime_search",
    ),
    "scaling": Spec(
        f"{_C}:validate_scaling",
        compute="experiments.one_layer.scaling:compute",
        claims="experiments.claims.scaling:claims",
        figures=("experiments.one_layer.scaling:figures",),
        summary="experiments.summary.one_layer:scaling",
    ),
    "gradients": Spec(
        f"{_C}:validate_gradients",
        compute="experiments.one_layer.gradients:compute",
        claims="experiments.claims.gradients:gradients_claims",
        figures=("experiments.one_layer.gradients:figures",),
        summary="experiments.summary.one_layer:gradients",
    ),
    "ood": Spec(
        f"{_C}:validate_ood",
        compute="experiments.one_layer.ood:compute",
        claims="experiments.claims.ood:claims",
        figures=("experiments.one_layer.ood:figures",),
        summary="experiments.summary.one_layer:ood",
    ),
    "low_rank": Spec(
        f"{_C}:validate_low_rank",
        compute="experiments.one_layer.low_rank:compute",
        claims="experiments.claims.compression:low_rank_claims",
        figures=("experiments.one_layer.low_rank:figures",),
        summary="experiments.summary.one_layer:compression",
    ),
    "pruning": Spec(
        f"{_C}:validate_pruning",
        compute="experiments.one_layer.pruning:compute",
        claims="experiments.claims.compression:pruning_claims",
        figures=("experiments.one_layer.pruning:figures",),
        summary="experiments.summary.one_layer:compression",
    ),
    "cdigits_pair": Spec(
        f"{_C}:validate_cdigits_pair",
        compute="experiments.cdigits.pair:compute",
        claims="experiments.claims.cdigits:pair_claims",
        figures=("experiments.cdigits.figures:pair_figures",),
        summary="experiments.summary.testbeds:cdigits_pair",
        testbed="cdigits",
    ),
    "cdigits_ood": Spec(
        f"{_C}:validate_cdigits_ood",
        compute="experiments.cdigits.ood:compute",
        claims="experiments.claims.cdigits_ood:ood_claims",
        figures=("experiments.cdigits.figures:ood_figures",),
        summary="experiments.summary.testbeds:cdigits_ood",
        testbed="cdigits",
    ),
    "cdigits_compress": Spec(
        f"{_C}:validate_cdigits_compress",
        compute="experiments.cdigits.compress:compute",
        claims="experiments.claims.cdigits:compress_claims",
        figures=("plots.cdigits.compress:figures",),
        summary="experiments.summary.testbeds:cdigits_compress",
        testbed="cdigits",
    ),
    "gradients_vit": Spec(
        f"{_C}:validate_gradients_vit",
        compute="experiments.cdigits.gradients_vit:compute",
        claims="experiments.claims.gradients_vit:claims",
        figures=("experiments.cdigits.gradients_vit_figures:figures",),
        summary="experiments.summary.testbeds:gradients_vit",
        testbed="cdigits",
    ),
    "lm_unlearning": Spec(
        f"{_C}:validate_lm_unlearning",
        compute="experiments.lm.unlearning:compute",
        claims="experiments.claims.lm:unlearning",
        figures=("plots.lm.unlearning:unlearning_figures",),
        summary="experiments.summary.testbeds:lm_unlearning",
        testbed="lm",
        extra="lm",
    ),
}
