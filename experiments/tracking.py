"""Weights & Biases at the edge: one run per job, every call guarded.

``metrics.json`` is written before anything is sent here, and a wandb failure is logged (once) and
never raised, so it cannot lose a job's results. The mode comes from the config
(``logging.wandb.mode``, default ``${oc.env:WANDB_MODE,offline}``): nothing here needs the network.

What a run gets:

- a name from its preset and overrides, tags ``preset:…``, ``testbed:…``, ``regime:…``, and the preset
  as its group (``RunIdentity``; ``logging.wandb.name``/``group`` replace them, ``tags`` add to them);
- the resolved config;
- the job's headline numbers as numeric summary values under stable keys (``experiments.summary``:
  ``thm1/lambda``, ``alpha_hat/mean``, ``ood/best/test_hinge``, ``claims/agrees``, …), so that the
  runs of a sweep share their keys;
- every table of ``metrics["tables"]`` as a ``wandb.Table``, the line plots of
  ``metrics["line_plots"]`` (key ``plot/<table>/<y>``), and their series as logged steps
  (``curves/<table>/<series>/<column>`` against ``curves/<table>/<x>``, declared with
  ``define_metric``): fine-tuning curves, λ-curves;
- the figures as images, and ``metrics.json``, ``run.json``, ``config.yaml`` and any saved model as
  one ``results`` artifact.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
ARTIFACT_FILES = ("metrics.json", "run.json", "config.yaml")
ARTIFACT_MAX_BYTES = 64 * 2**20  # checkpoints beyond this stay on disk only


@dataclass(frozen=True)
class RunIdentity:
    """Who a job is, for the tracker: its preset, testbed, regime and command-line overrides."""

    preset: str
    testbed: str = "one_layer"
    regime: str = "default"
    overrides: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return " ".join((self.preset, *self.overrides))

    @property
    def tags(self) -> list[str]:
        return [f"preset:{self.preset}", f"testbed:{self.testbed}", f"regime:{self.regime}"]


class Tracker:
    def __init__(self, logging_cfg: dict, config: dict, out_dir: Path, who: RunIdentity) -> None:
        self.run = None
        self.failed = False
        self.who = who
        wb = (logging_cfg or {}).get("wandb", {})
        if not wb.get("enabled", True):
            return
        try:
            import wandb

            self.wandb = wandb
            self.run = wandb.init(
                project=wb.get("project", "task-arithmetic-theory"),
                group=wb.get("group") or who.preset,
                job_type=wb.get("job_type") or config.get("experiment", {}).get("name"),
                tags=[*who.tags, *(wb.get("tags") or [])],
                config=config,
                mode=wb.get("mode", "offline"),
                dir=str(out_dir),
                name=wb.get("name") or who.name,
                settings=wandb.Settings(
                    silent=True
                ),  # the job logs its own line; failures are logged here
            )
        except Exception as err:
            self._warn("init", err)

    def _warn(self, what: str, err: Exception) -> None:
        if not self.failed:
            log.warning(
                "wandb %s failed (%s: %s); results are in metrics.json",
                what,
                type(err).__name__,
                err,
            )
        self.failed = True

    def log_metrics(self, metrics: dict[str, Any], out_dir: Path, summary: str | None) -> None:
        """Summary first (the headline numbers of ``experiments.summary``; ``summary`` names the
        experiment's function), then curves, tables, figures and the artifact. Nothing is computed
        when wandb is off, and a failure here is logged, never raised."""
        if self.run is None:
            return
        try:
            from experiments.summary import summarize

            for key, value in summarize(metrics, summary).items():
                self.run.summary[key] = value
            log_curves(self.run, metrics)
            self._log_tables(metrics)
            for fig in metrics.get("figures", []):
                path = out_dir / fig
                if path.suffix == ".png" and path.exists():
                    self.run.log({f"figure/{path.stem}": self.wandb.Image(str(path))})
            self._log_artifact(out_dir)
        except Exception as err:
            self._warn("logging", err)

    def _log_tables(self, metrics: dict[str, Any]) -> None:
        tables = {}
        for name, t in metrics.get("tables", {}).items():
            tables[name] = self.wandb.Table(columns=t["columns"], data=t["rows"])
            self.run.log({f"table/{name}": tables[name]})
        for p in metrics.get("line_plots", []):
            chart = self.wandb.plot.line(
                tables[p["table"]], p["x"], p["y"], stroke=p.get("stroke"), title=p["title"]
            )
            self.run.log({f"plot/{p['table']}/{p['y']}": chart})

    def _log_artifact(self, out_dir: Path) -> None:
        files = [out_dir / f for f in ARTIFACT_FILES if (out_dir / f).exists()]
        models = sorted(p for p in out_dir.rglob("*.pt") if "wandb" not in p.parts)
        if sum(p.stat().st_size for p in models) <= ARTIFACT_MAX_BYTES:
            files += models
        art = self.wandb.Artifact(artifact_name(self.who), type="results")
        for path in files:
            art.add_file(str(path), name=str(path.relative_to(out_dir)))
        self.run.log_artifact(art)

    def finish(self, exit_code: int) -> None:
        if self.run is None:
            return
        try:
            self.run.finish(exit_code=exit_code)
        except Exception as err:
            self._warn("finish", err)
        self.run = None


def artifact_name(who: RunIdentity) -> str:
    """wandb artifact names allow letters, digits, '-', '_' and '.'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{who.name}-results").strip("-")


def log_curves(run: Any, metrics: dict[str, Any]) -> None:
    """Each line plot's table as logged steps: one series per stroke value, every numeric column.

    ``curves/<table>/<x>`` is declared the step of ``curves/<table>/*`` (wandb's ``define_metric``),
    so a series is drawn against its own x (a fine-tuning step, a λ) rather than wandb's row count.
    """
    done = set()
    for p in metrics.get("line_plots", []):
        table, x, stroke = p["table"], p["x"], p.get("stroke")
        if (table, x) in done or table not in metrics.get("tables", {}):
            continue
        done.add((table, x))
        t = metrics["tables"][table]
        step = f"curves/{table}/{x}"
        run.define_metric(step)
        run.define_metric(f"curves/{table}/*", step_metric=step)
        for row in t["rows"]:
            r = dict(zip(t["columns"], row, strict=True))
            series = f"curves/{table}/{r[stroke]}" if stroke else f"curves/{table}"
            values = {
                f"{series}/{c}": v
                for c, v in r.items()
                if c not in (x, stroke) and isinstance(v, int | float) and not isinstance(v, bool)
            }
            run.log({step: r[x], **values})
