"""Build ``results/REPORT.md`` from every ``results/*/metrics.json`` (never from retraining).

python -m experiments.report [--results results]

The report reads ``metrics.json`` only and draws nothing: it links each job's own figures and the
cross-run Figure 1 analogues, which ``python -m experiments.figures`` draws beforehand.
"""

from experiments.report.build import build_report, main

__all__ = ["build_report", "main"]
