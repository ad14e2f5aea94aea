"""Claims: one record type and the verdict rules. Every claims row of every experiment is made here.

A claims row states what a theorem (or a paper's measurement) says, where it comes from, the rule
that decides the verdict (fixed before any run, written out in ``criterion``), what was measured, and
the verdict. The rules per experiment live in this package's modules; an experiment's results are
their only input (they read the predictions from ``experiments.theory`` and the papers' numbers from
``experiments.paper``), so a verdict can be recomputed from ``metrics.json`` alone.

Verdicts:

- ``agrees``: the measurement meets the criterion;
- ``disagrees``: it meets neither;
- ``inconclusive``: the seed-level interval of the measurement straddles the criterion;
- ``untested``: the run cannot test the claim (e.g. a needed pair or quantity is absent).

Every row carries ``prediction`` (what the theorem states; the claim's text unless given), ``scope``
("in" or "out" by ``experiments.theory.scope``; "unaudited" where the experiment does not measure the
proofs' intermediate conclusions yet) and ``assumptions`` (name -> the run's value). An out-of-scope
row keeps its verdict as a reading of its numbers against the prediction, but the report counts it as
neither agreement nor disagreement.

Comparisons with a criterion go through ``interval`` (a t interval over seeds) and ``judge``: the
verdict is ``agrees`` or ``disagrees`` only when the whole interval lies on one side of the criterion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

VERDICTS = ("agrees", "disagrees", "inconclusive", "untested")
SCOPES = ("in", "out", "unaudited")
LEVEL = 0.95  # confidence level of every seed-level interval


def interval(values: Sequence[float], level: float = LEVEL) -> dict[str, float]:
    """Mean and two-sided t interval over seeds of ``values`` (one value per seed).

    One seed gives an unbounded interval (nothing is known about the spread); equal values give a
    zero-width one.
    """
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "lo": -np.inf, "hi": np.inf, "n": int(x.size)}
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": int(x.size)}


def interval_of(summary: dict[str, float], level: float = LEVEL) -> dict[str, float]:
    """``interval`` from a seed summary {"mean", "std" (ddof 1), "n"} (``experiments.analysis.mean_std``)."""
    mean, n = float(summary["mean"]), int(summary["n"])
    if n < 2:
        return {"mean": mean, "lo": -np.inf, "hi": np.inf, "n": n}
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * summary["std"] / np.sqrt(n))
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n}


def difference_of(
    a: dict[str, float], b: dict[str, float], level: float = LEVEL
) -> dict[str, float]:
    """Interval of mean(a) − mean(b) from two seed summaries (unpaired, Welch's standard error with
    the smaller sample's degrees of freedom: conservative when the seeds are in fact paired)."""
    n = min(int(a["n"]), int(b["n"]))
    mean = float(a["mean"]) - float(b["mean"])
    if n < 2:
        return {"mean": mean, "lo": -np.inf, "hi": np.inf, "n": n}
    se = float(np.sqrt(a["std"] ** 2 / a["n"] + b["std"] ** 2 / b["n"]))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * se)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n}


def judge(iv: dict[str, float], threshold: float, *, at_least: bool = True) -> str:
    """``agrees`` when the whole interval meets ``value ≥ threshold`` (``≤`` with ``at_least=False``),
    ``disagrees`` when the whole interval misses it, otherwise ``inconclusive``."""
    lo, hi = (iv["lo"], iv["hi"]) if at_least else (-iv["hi"], -iv["lo"])
    t = threshold if at_least else -threshold
    return "agrees" if lo >= t else "disagrees" if hi < t else "inconclusive"


def all_hold(verdicts: Sequence[str]) -> str:
    """The verdict of a conjunction of judged parts: ``disagrees`` if any part disagrees, ``agrees``
    if every part agrees, else ``inconclusive``."""
    if "disagrees" in verdicts:
        return "disagrees"
    return "agrees" if all(v == "agrees" for v in verdicts) else "inconclusive"


def within(iv: dict[str, float], lo: float, hi: float) -> str:
    """``agrees`` when the whole interval lies in [lo, hi], ``disagrees`` when it lies wholly outside
    it, otherwise ``inconclusive``."""
    if lo <= iv["lo"] and iv["hi"] <= hi:
        return "agrees"
    return "disagrees" if iv["hi"] < lo or iv["lo"] > hi else "inconclusive"


def show(iv: dict[str, float], fmt: str = ".3f") -> str:
    """ "mean [lo, hi]" of an interval, e.g. "0.967 [0.823, 1.110]"."""
    return f"{iv['mean']:{fmt}} [{iv['lo']:{fmt}}, {iv['hi']:{fmt}}]"


def verdict(ok: bool) -> str:
    """``agrees`` when ``ok``, else ``disagrees``: for exact (deterministic) checks only; a measurement
    with a spread over seeds goes through ``interval`` and ``judge``."""
    return "agrees" if ok else "disagrees"


def claim(
    claim: str, source: str, criterion: str, measured: str, verdict: str, **extra: Any
) -> dict[str, Any]:
    """One claims row (a plain dict: it goes to ``metrics.json`` as it is)."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict={verdict!r} is invalid: must be one of {VERDICTS}")
    extra = {"prediction": claim, "scope": "unaudited", "assumptions": {}, **extra}
    if extra["scope"] not in SCOPES:
        raise ValueError(f"scope={extra['scope']!r} is invalid: must be one of {SCOPES}")
    return {
        "claim": claim,
        "source": source,
        "criterion": criterion,
        "measured": measured,
        "verdict": verdict,
        **extra,
    }
