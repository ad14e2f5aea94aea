"""Which jobs a results tree holds, and how the task-pair runs group into the two Figure 1 analogues.

Shared by the report (which links the figures) and ``experiments.figures`` (which draws them); reads
``metrics.json`` only and imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path

from experiments.io import load_metrics

PAIR_ORDER = {"irrelevant": 0, "aligned": 1, "contradictory": 2}


def find_metrics(results: Path) -> list[tuple[str, dict]]:
    """(folder relative to ``results``, metrics) of every job under ``results``, hidden folders aside."""
    found = sorted(
        p
        for p in results.rglob("metrics.json")
        if not any(part.startswith(".") for part in p.parts)
    )
    return [(p.parent.relative_to(results).as_posix(), load_metrics(p)) for p in found]


def sort_task_pairs(pairs: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Noise-free runs first, then irrelevant, aligned, contradictory (anything else last)."""
    return sorted(
        pairs,
        key=lambda fm: (
            fm[1]["config"]["data"]["noise_std"],
            PAIR_ORDER.get(fm[1]["label"].split()[0].strip(","), 9),
        ),
    )


def figure1_groups(pairs: list[tuple[str, dict]]) -> list[tuple[str, list[dict]]]:
    """(figure stem, its task-pair runs): ``figure1`` (noise-free) then ``figure1_noisy``, if present,
    for the default regime; ``figure1_<regime>`` (and ``_noisy``) for any other regime."""
    pairs = sort_task_pairs(pairs)
    regimes = sorted(
        {m["config"].get("regime", "default") for _, m in pairs}, key=lambda r: r != "default"
    )
    groups = []
    for regime in regimes:
        for noisy in (False, True):
            group = [
                m
                for _, m in pairs
                if (m["config"]["data"]["noise_std"] > 0) == noisy
                and m["config"].get("regime", "default") == regime
            ]
            stem = (
                "figure1"
                + ("" if regime == "default" else f"_{regime}")
                + ("_noisy" if noisy else "")
            )
            if group:
                groups.append((stem, group))
    return groups
