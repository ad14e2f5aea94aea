"""Which code computes, judges and draws each experiment (names only: nothing heavy is imported here).

An experiment is three pure steps, joined by the harness (``experiments.publish``):

- ``compute``: ``(cfg, setup, *, progress) -> dict`` — trains and measures, returns the results
  (numbers, lists, nested dicts; ``"_checkpoints"``: optional ``{relative path: nn.Module}``);
- ``claims``: ``(results) -> list[dict]`` — the claims rows, from ``experiments.claims`` only;
- ``figures``: each ``(results) -> dict[stem, Figure]`` — drawn by ``plots`` (which imports nothing
  from ``experiments``); an empty dict draws nothing.

``setup`` is what the experiment's validator returned; it is built once, before any work.
An entry with ``legacy`` still has the old ``run(cfg, out_dir, progress=, job_key=)`` that writes
its own outputs (being moved to the three steps).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    validate: str  # "module:function" (cfg) -> setup, raising ConfigError
    compute: str | None = None
    claims: str | None = None
    figures: tuple[str, ...] = ()
    legacy: str | None = None  # module with the old run(cfg, out_dir, ...)


def resolve(ref: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (imports the module)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


_C = "experiments.checks"
EXPERIMENTS: dict[str, Spec] = {
    "foundation": Spec(
        f"{_C}:validate_foundation",
        compute="experiments.one_layer.foundation:compute",
        claims="experiments.claims.foundation:claims",
        figures=("plots.one_layer.foundation:figures",),
    ),
    "task_pair": Spec(
        f"{_C}:validate_task_pair",
        compute="experiments.one_layer.task_pair:compute",
        claims="experiments.claims.task_pair:claims",
        figures=("plots.one_layer.task_pair:figures",),
    ),
    "phase_diagram": Spec(
        f"{_C}:validate_phase_diagram",
        compute="experiments.one_layer.phase_diagram:compute",
        claims="experiments.claims.phase_diagram:claims",
        figures=("experiments.one_layer.phase_diagram:figures",),
    ),
    "gradients": Spec(f"{_C}:validate_gradients", legacy="experiments.gradients"),
    "ood": Spec(f"{_C}:validate_ood", legacy="experiments.ood"),
    "low_rank": Spec(f"{_C}:validate_low_rank", legacy="experiments.low_rank"),
    "pruning": Spec(f"{_C}:validate_pruning", legacy="experiments.pruning"),
    "cdigits_pair": Spec(f"{_C}:validate_cdigits_pair", legacy="experiments.cdigits_pair"),
    "cdigits_ood": Spec(f"{_C}:validate_cdigits_ood", legacy="experiments.cdigits_ood"),
    "cdigits_compress": Spec(
        f"{_C}:validate_cdigits_compress", legacy="experiments.cdigits_compress"
    ),
    "lm_unlearning": Spec(f"{_C}:validate_lm_unlearning", legacy="experiments.lm_unlearning"),
}
