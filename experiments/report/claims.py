"""The report's claims section: rows grouped by paper and theorem, both regimes side by side, a
scorecard that counts in-scope rows only, and why each out-of-scope row is out of scope.

Input: (folder relative to the results tree, metrics) of every job; a job's regime is
``config.regime`` ("default" when absent), and rows of the same preset (folder name without its
regime folder) and claim text are matched across regimes.
"""

from __future__ import annotations

import re
from collections import Counter

from experiments.theory.scope import SCOPE_RULE

REGIMES = ("default", "proof")
LEGEND = [
    "Verdicts: **agrees** — the seed-level interval of the measurement meets the criterion; "
    "**disagrees** — it misses it entirely; **inconclusive** — the interval straddles the criterion; "
    "**untested** — the run "
    "cannot test the claim.",
    f"Scope: a row is {SCOPE_RULE}. An out-of-scope row keeps its reading against the prediction "
    "(shown in italics) but is counted as neither agreement nor disagreement. Rows of experiments "
    "that do not audit the mechanism yet are *unaudited* and counted apart.",
]
GROUPS = (  # (pattern on the row's source, group title), in paper order
    (r"§4\.7|setting", "Paper 1 · setting: fine-tuning reaches ε"),
    (r"§5\.8", "Paper 1 · the proofs' mechanism (derivation)"),
    (r"^Theorems? 1(?!–)", "Paper 1 · Theorem 1 (task addition)"),
    (r"^Theorem 2|^Theorems 1–2", "Paper 1 · Theorem 2 (task negation) and Table 1"),
    (r"^Theorem 3", "Paper 1 · Theorem 3 (out-of-domain)"),
    (r"Corollary 1|§5\.6", "Paper 1 · Corollary 1 (low rank)"),
    (r"Corollary 2|§5\.7", "Paper 1 · Corollary 2 (pruning)"),
    (r"§6", "Paper 1 · the paper's experiments (§6)"),
    (r"gradients\.md", "Paper 2 · task vectors as gradients"),
)


def group_of(source: str) -> int:
    """Index into ``GROUPS`` of a row's source (the last group's index + 1 when none matches)."""
    for i, (pattern, _) in enumerate(GROUPS):
        if re.search(pattern, source):
            return i
    return len(GROUPS)


def regime_of(metrics: dict) -> str:
    return metrics.get("config", {}).get("regime", "default")


def _cell(text: object) -> str:  # "|λ|" would otherwise end a Markdown table cell
    return str(text).replace("|", "\\|")


def _verdict(row: dict | None) -> str:
    if row is None:
        return "—"
    scope = row.get("scope", "unaudited")
    return (
        f"**{row['verdict']}**" if scope == "in" else f"*{row['verdict']}, {_SCOPE_WORDS[scope]}*"
    )


_SCOPE_WORDS = {"out": "out of scope", "unaudited": "unaudited"}


def collect(metrics: list[tuple[str, dict]]) -> dict[tuple[int, str, str], dict[str, dict]]:
    """{(group, preset, claim): {regime: row}} over every job's claims, in paper order."""
    out: dict[tuple[int, str, str], dict[str, dict]] = {}
    for folder, m in metrics:
        preset = _preset(folder, m.get("experiment", ""))
        for row in m.get("claims", []):
            key = (group_of(row["source"]), preset, row["claim"])
            out.setdefault(key, {})[regime_of(m)] = row
    return dict(sorted(out.items(), key=lambda kv: kv[0][0]))


def _preset(folder: str, experiment: str) -> str:
    """A job's name in the table: its folder (without the regime folder), prefixed by the experiment
    when the folder does not name it (a sweep's job directory, e.g. "task_pair (data.alpha=0.5)")."""
    name = folder.rsplit("/", 1)[-1]
    return name if name.startswith(experiment) else f"{experiment} ({name})"


def _count(rows: list[dict]) -> str:
    """In-scope verdict counts, then the out-of-scope rows (not counted as verdicts) and the
    unaudited ones (their verdicts counted apart, in parentheses)."""
    scopes = [r.get("scope", "unaudited") for r in rows]

    def verdicts(scope: str) -> list[str]:
        c = Counter(r["verdict"] for r, s in zip(rows, scopes, strict=True) if s == scope)
        return [f"{n} {v}" for v, n in sorted(c.items())]

    parts = verdicts("in")
    if "out" in scopes:
        parts.append(f"{scopes.count('out')} {_SCOPE_WORDS['out']}")
    if "unaudited" in scopes:
        parts.append(f"{scopes.count('unaudited')} unaudited ({', '.join(verdicts('unaudited'))})")
    return ", ".join(parts) or "—"


def scorecard(table: dict) -> list[str]:
    """One line per group: the in-scope verdict counts of each regime, out-of-scope rows apart."""
    lines = ["| group | " + " | ".join(f"{r} regime" for r in REGIMES) + " |", "|---|---|---|"]
    for g in sorted({k[0] for k in table}):
        rows = [v for k, v in table.items() if k[0] == g]
        title = GROUPS[g][1] if g < len(GROUPS) else "other"
        cells = [_count([r[reg] for r in rows if reg in r]) for reg in REGIMES]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines


def claims_section(metrics: list[tuple[str, dict]]) -> list[str]:
    """The claims section: legend, scorecard, then per group a short table of verdicts (both
    regimes) followed by each row's criterion and measurements, numbered across the section."""
    table = collect(metrics)
    if not table:
        return []
    lines = ["## Claims", "", *LEGEND, "", "### Scorecard", "", *scorecard(table), ""]
    current, details, n = None, [], 0
    for (g, preset, name), by_regime in table.items():
        if g != current:
            lines += [*details, "", f"### {_title(g)}", "", *TABLE_HEAD]
            current, details = g, [""]
        n += 1
        lines.append(
            f"| {n} | {preset} | {_cell(name)} | "
            + " | ".join(_verdict(by_regime.get(r)) for r in REGIMES)
            + " |"
        )
        details += _details(n, by_regime)
    return [*lines, *details, "", *out_of_scope(metrics)]


TABLE_HEAD = ["| # | experiment | claim | " + " | ".join(REGIMES) + " |", "|---|---|---|---|---|"]


def _title(group: int) -> str:
    return GROUPS[group][1] if group < len(GROUPS) else "other"


def _details(n: int, by_regime: dict[str, dict]) -> list[str]:
    """Row ``n``'s criterion (stated once) and what each regime measured."""
    first = next(iter(by_regime.values()))
    out = [f"{n}. *Criterion:* {first['criterion']}"]
    for reg in REGIMES:
        if reg in by_regime:
            out.append(f"   - {reg}: {by_regime[reg]['measured']}")
    return out


def out_of_scope(metrics: list[tuple[str, dict]]) -> list[str]:
    """Why each job's out-of-scope rows are out of scope (per row), with the job's audit."""
    lines = []
    for folder, m in metrics:
        rows = [r for r in m.get("claims", []) if r.get("scope") == "out"]
        if not rows:
            continue
        a = rows[0].get("assumptions", {})
        audit = ", ".join(
            f"{k} {v:.3g}" for k, v in a.items() if isinstance(v, int | float) and k in AUDIT_KEYS
        )
        lines.append(f"- `{folder}`, audit of its fine-tuned models: {audit}.")
        for r in rows:
            why = "; ".join(r.get("out_of_scope_because", [])) or "see the row"
            lines.append(f"  - {_cell(r['claim'])}: {why}.")
    if not lines:
        return []
    return ["### Why rows are out of scope", "", *lines, ""]


AUDIT_KEYS = (
    "own_hinge",
    "attention_mu_queries",
    "attention_irrelevant_queries",
    "cos_dW_mumu",
    "rank1_residual_dV",
    "uniform_attention_hinge",
    "m / (M² log M)",
    "B / (ε⁻² log M)",
    "t ηδ*²",
    "ηδ*",
)
