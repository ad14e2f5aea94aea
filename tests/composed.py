"""The composed config of a command line's overrides, as the entry point sees it (test helper)."""

from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra


def composed(overrides=()):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose("config", overrides=list(overrides))


def headline_numbers(metrics, allow_nan=()):
    """The job's wandb summary (``experiments.summary``), checked: every headline number is a finite
    float (keys in ``allow_nan`` may be NaN), every claim row is counted."""
    import math

    from experiments.registry import EXPERIMENTS
    from experiments.summary import summarize

    s = summarize(metrics, EXPERIMENTS[metrics["experiment"]].summary)
    numbers = {k: v for k, v in s.items() if not k.startswith("claim/")}
    assert all(isinstance(v, float) for v in numbers.values()), numbers
    bad = sorted(k for k, v in numbers.items() if math.isnan(v) and k not in allow_nan)
    assert not bad, f"NaN headline numbers: {bad}"
    assert s["claims/total"] == len(metrics.get("claims", []))
    return s
