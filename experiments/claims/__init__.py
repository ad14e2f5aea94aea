"""Claims: one record type and the verdict rules. Every claims row of every experiment is made here.

A claims row states what a theorem (or a paper's measurement) says, where it comes from, the rule
that decides the verdict (fixed before any run, written out in ``criterion``), what was measured, and
the verdict. The rules per experiment live in this package's modules; an experiment's results are
their only input (they read the predictions from ``experiments.theory`` and the papers' numbers from
``experiments.paper``), so a verdict can be recomputed from ``metrics.json`` alone.

Verdicts:

- ``agrees``: the measurement meets the criterion;
- ``partly``: it meets the weaker, stated part of the criterion only;
- ``disagrees``: it meets neither;
- ``untested``: the run cannot test the claim (e.g. a needed pair or quantity is absent).
"""

from __future__ import annotations

from typing import Any

VERDICTS = ("agrees", "partly", "disagrees", "untested")


def verdict(ok: bool, partial: bool = False) -> str:
    """``agrees`` when ``ok``; else ``partly`` when the weaker part holds; else ``disagrees``."""
    return "agrees" if ok else ("partly" if partial else "disagrees")


def claim(
    claim: str, source: str, criterion: str, measured: str, verdict: str, **extra: Any
) -> dict[str, Any]:
    """One claims row (a plain dict: it goes to ``metrics.json`` as it is)."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict={verdict!r} is invalid: must be one of {VERDICTS}")
    return {
        "claim": claim,
        "source": source,
        "criterion": criterion,
        "measured": measured,
        "verdict": verdict,
        **extra,
    }
