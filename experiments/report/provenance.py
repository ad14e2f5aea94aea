"""The report's provenance table: which commit, packages, date, machine and threads made its jobs."""

from __future__ import annotations

from collections import Counter

FIELDS = (
    ("commit", "commit"),
    ("machine", "machine"),
    ("device", "device"),
    ("threads", "threads"),
)


def _values(metrics: list[tuple[str, dict]], get) -> str:
    """Distinct values with their job counts, the most common first ("not recorded" for old jobs)."""
    counts = Counter(get(m.get("provenance")) if m.get("provenance") else None for _, m in metrics)
    total = sum(counts.values())
    parts = []
    for value, n in counts.most_common():
        text = "not recorded" if value is None else f"`{value}`"
        parts.append(text if n == total else f"{text} ({n} of {total} jobs)")
    return "; ".join(parts)


def _versions(p: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in p.get("versions", {}).items())


def provenance_section(metrics: list[tuple[str, dict]]) -> list[str]:
    """One table row per field; a field that differs between jobs lists each value with its count."""
    if not metrics:
        return []
    dates = sorted(m["provenance"]["date"] for _, m in metrics if m.get("provenance"))
    rows = [(title, _values(metrics, lambda p, k=key: p.get(k))) for key, title in FIELDS]
    rows.insert(1, ("date", f"{dates[0]} … {dates[-1]}" if dates else "not recorded"))
    rows.append(("versions", _values(metrics, _versions)))
    return [
        "## Provenance",
        "",
        f"{len(metrics)} job{'s' if len(metrics) != 1 else ''}. A `+dirty` commit had uncommitted "
        "changes to tracked files.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {title} | {value} |" for title, value in rows),
        "",
    ]
