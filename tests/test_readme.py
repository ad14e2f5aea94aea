"""The README's generated results block (experiments.report.readme) and the README itself."""

import json
from pathlib import Path

import pytest

from experiments.report.build import update_readme
from experiments.report.readme import BEGIN, END, headline, replace_block, results_block

ROOT = Path(__file__).resolve().parents[1]


def _job(root: Path, folder: str, metrics: dict, run: dict | None = None) -> None:
    (root / folder).mkdir(parents=True)
    (root / folder / "metrics.json").write_text(json.dumps(metrics))
    (root / folder / "run.json").write_text(json.dumps(run or {}))


PAIR = {
    "experiment": "task_pair",
    "alpha": 0.5,
    "alpha_hat": {"mean": 0.4567, "std": 0.01, "n": 3},
    "table1": {
        "multi_task": {"lambda": 0.6, "T1_acc": 1.0, "T2_acc": 0.98},
        "unlearning": {"lambda": -1.2, "T1_acc": 0.97, "T2_acc": 0.0},
    },
    "own_task": [{"hinge": 0.01, "accuracy": 1.0}],
    "claims": [{"claim": "c", "criterion": "k", "measured": "m", "verdict": "agrees",
                "scope": "in", "source": "Theorem 1"}],
    "config": {"regime": "proof"},
}  # fmt: skip


def test_headline_formats_the_summary_keys_and_prints_nan_for_missing_ones():
    text = headline(PAIR)
    assert text.startswith("α̂ 0.457 ± 0.010; addition λ 0.6 (T1 1.000, T2 0.980); negation λ -1.2")
    no_table = {k: v for k, v in PAIR.items() if k != "table1"}
    assert "addition λ nan (T1 nan, T2 nan)" in headline(no_table)
    assert headline({"experiment": "no_such_experiment"}) == ""


def test_results_block_holds_provenance_scorecard_and_one_line_per_job(tmp_path):
    prov = {"commit": "abcdef1234567890", "date": "2026-12-02 01:00 UTC", "machine": "2 cores, x",
            "device": "cpu", "threads": 1, "versions": {}}  # fmt: skip
    _job(tmp_path, "proof/task_pair_x", PAIR, {"wall_seconds": 12.4, "provenance": prov})
    (tmp_path / "reproduce.json").write_text('{"wall_seconds": 900, "jobs": 2, "threads": 1}')
    block = results_block(tmp_path)
    assert block[0] == BEGIN and block[-1] == END
    text = "\n".join(block)
    assert "From 1 jobs of `make reproduce`, 2026-12-02 … 2026-12-02, commit abcdef123456;" in text
    assert "took 15.0 min (JOBS=2, THREADS=1)" in text
    assert "| Paper 1 · Theorem 1 (task addition) | — | 1 agrees |" in text
    row = next(ln for ln in block if ln.startswith("| `proof/task_pair_x` |"))
    assert row.startswith("| `proof/task_pair_x` | proof | α̂ 0.457 ± 0.010; addition λ 0.6")
    assert row.endswith("| 12 s |")
    assert "Whole-process timings" not in text  # no results/timing.json: no table
    run = {"label": "after", "commit": "abc", "wall_seconds": 600.0, "user_seconds": 1100.0,
           "system_seconds": 5.0, "cpu_percent": 184.0, "max_rss_kb": 1.0, "jobs": {"a": 9.0}}  # fmt: skip
    (tmp_path / "timing.json").write_text(json.dumps({"runs": [run]}))
    text = "\n".join(results_block(tmp_path))
    assert (
        "Whole-process timings" in text and "| **whole `make reproduce`** | **10.0 min** |" in text
    )


def test_update_readme_rewrites_only_the_block_and_check_reports_staleness(tmp_path):
    results = tmp_path / "results"
    _job(results, "task_pair_x", {**PAIR, "config": {}})
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nold numbers\n{END}\noutro\n")
    assert update_readme(readme, results, check=True) == 1  # stale
    assert update_readme(readme, results) == 0
    text = readme.read_text()
    assert text.startswith("intro\n" + BEGIN) and text.endswith(END + "\noutro\n")
    assert "old numbers" not in text and "addition λ 0.6" in text
    assert update_readme(readme, results, check=True) == 0
    readme.write_text("no markers\n")
    assert update_readme(readme, results) == 2


def test_replace_block_needs_both_markers():
    with pytest.raises(ValueError, match="no generated block"):
        replace_block(f"{BEGIN} only", [BEGIN, END])


def test_the_readme_has_the_block_and_points_nowhere_outside_the_repository():
    text = (ROOT / "README.md").read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "../shared" not in text and "shared/reference" not in text
    assert "2504.10957" in text and "2508.16082" in text  # both papers cited by arXiv id


def test_scorecard_counts_in_scope_verdicts_and_unaudited_ones_apart():
    from experiments.report.claims import _count

    rows = [
        {"verdict": "agrees", "scope": "in"},
        {"verdict": "disagrees", "scope": "in"},
        {"verdict": "agrees", "scope": "out"},
        {"verdict": "agrees"},  # no scope: unaudited
        {"verdict": "inconclusive", "scope": "unaudited"},
    ]
    assert _count(rows) == (
        "1 agrees, 1 disagrees, 1 out of scope, 2 unaudited (1 agrees, 1 inconclusive)"
    )
    assert _count([]) == "—"
